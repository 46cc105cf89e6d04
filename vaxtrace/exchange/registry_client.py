"""Reading the platform's basic-data change feed over HTTP (mutual TLS in production)."""

from __future__ import annotations

from typing import Any

import httpx


def changes_fetcher(client: httpx.Client, prefix: str = "/platform/v1") -> Any:
    """A ``fetch(since)`` for :func:`sync_registry` over any httpx client."""

    def fetch(since: int) -> dict[str, Any]:
        response = client.get(f"{prefix}/registry/changes", params={"since": since})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    return fetch
