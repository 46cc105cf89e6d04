"""The platform asking a trace system for a code's public view (消费者查询).

The ask is awaited on the event loop: the public query holds no worker thread while the trace
system answers (in one process that system needs one to answer). It is bounded twice: at most
``at_once`` asks are out at a time, the rest wait their turn, and every ask, waiting included,
ends within ``timeout`` seconds: a 503 ``busy`` when it never got its turn, ``owner_unavailable``
when the trace system did not answer in time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from vaxtrace.core.errors import NotFound, Unavailable
from vaxtrace.exchange.transport import AsyncClients, network_async_client

PUBLIC_PATH = "/trace/v1/public/codes"

AskOwner = Callable[[str, str], Awaitable[dict[str, Any]]]
"""``await ask(endpoint, code)``: the public view of ``code`` from the trace system at
``endpoint``; raise NotFound or Unavailable in the domain's words."""


class OwnerAsker:
    """``await ask(endpoint, code)`` for :meth:`PlatformService.public_query`: at most
    ``at_once`` asks out at a time (the rest wait their turn), each, waiting included, done
    within ``timeout`` seconds."""

    def __init__(
        self, clients: AsyncClients = network_async_client, *, timeout: float, at_once: int
    ) -> None:
        self.clients, self.timeout, self.at_once = clients, timeout, at_once
        self.turns = anyio.CapacityLimiter(at_once)

    async def __call__(self, endpoint: str, code: str) -> dict[str, Any]:
        asking = False
        try:
            with anyio.fail_after(self.timeout):
                async with self.turns:
                    asking = True
                    async with self.clients(endpoint) as client:
                        response = await client.get(PUBLIC_PATH, params={"code": code})
        except TimeoutError as exc:
            if not asking:
                raise Unavailable(
                    "busy",
                    f"{self.at_once} public queries are already waiting for their trace "
                    "systems; try again shortly",
                ) from exc
            raise _no_answer(endpoint, self.timeout) from exc
        except httpx.TimeoutException as exc:
            raise _no_answer(endpoint, self.timeout) from exc
        except httpx.TransportError as exc:
            raise Unavailable(
                "owner_unreachable",
                f"the trace system at {endpoint} did not answer: {exc}",
                field="code",
            ) from exc
        return _view(endpoint, response)


def _no_answer(endpoint: str, timeout: float) -> Unavailable:
    return Unavailable(
        "owner_unavailable",
        f"the trace system at {endpoint} did not answer within {timeout:g} s; try again later",
        field="code",
    )


def _view(endpoint: str, response: httpx.Response) -> dict[str, Any]:
    """The trace system's answer in the domain's words."""
    if response.status_code == 404:
        body = response.json()
        raise NotFound(
            str(body.get("reason", "unknown_code")),
            f"the owning trace system says: {body.get('detail', 'unknown code')}",
            field="code",
        )
    if response.status_code in (429, 503):
        raise Unavailable(
            "owner_unavailable",
            f"the trace system at {endpoint} is busy ({response.status_code}); try again later",
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
