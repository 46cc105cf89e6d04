"""Reading the platform's basic-data change feed over HTTP (mutual TLS in production)."""

from __future__ import annotations

from typing import Any

import httpx

from vaxtrace.core.registry import RegisteredCodingRule


def changes_fetcher(client: httpx.Client, prefix: str = "/platform/v1") -> Any:
    """A ``fetch(since)`` for :func:`sync_registry` over any httpx client."""

    def fetch(since: int) -> dict[str, Any]:
        response = client.get(f"{prefix}/registry/changes", params={"since": since})
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    return fetch


def publish_rules(
    client: httpx.Client, rules: list[RegisteredCodingRule], prefix: str = "/platform/v1"
) -> list[str]:
    """Register a trace system's coding rules at the platform (again is harmless). A rule
    the platform refuses (say, of a MAH this system does not represent) does not stop the
    others; answers the refusals, for the operator."""
    refused = []
    for rule in rules:
        response = client.post(f"{prefix}/coding-rules", json=rule.model_dump(mode="json"))
        if 400 <= response.status_code < 500:
            refused.append(f"{rule.mah_uscc} {rule.family}: {response.text[:300]}")
        else:
            response.raise_for_status()
    return refused
