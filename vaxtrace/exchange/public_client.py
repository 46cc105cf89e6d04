"""The platform asking a trace system for a code's public view (消费者查询)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from vaxtrace.core.errors import NotFound, Unavailable
from vaxtrace.exchange.transport import Clients, network_client


def owner_asker(clients: Clients = network_client) -> Callable[[str, str], dict[str, Any]]:
    """``ask(endpoint, code)`` for :meth:`PlatformService.public_query`."""

    def ask(endpoint: str, code: str) -> dict[str, Any]:
        try:
            with clients(endpoint) as client:
                response = client.get("/trace/v1/public/codes", params={"code": code})
        except httpx.TransportError as exc:
            raise Unavailable(
                "owner_unreachable",
                f"the trace system at {endpoint} did not answer: {exc}",
                field="code",
            ) from exc
        if response.status_code == 404:
            body = response.json()
            raise NotFound(
                str(body.get("reason", "unknown_code")),
                f"the owning trace system says: {body.get('detail', 'unknown code')}",
                field="code",
            )
        if response.status_code != 200:
            raise Unavailable(
                "owner_failed",
                f"the trace system at {endpoint} answered {response.status_code}",
                field="code",
            )
        answer: dict[str, Any] = response.json()
        return answer

    return ask
