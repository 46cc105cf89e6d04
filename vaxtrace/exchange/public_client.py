"""The platform asking a trace system for a code's public view (消费者查询), or for a batch's
lot release certificate (批签发证明) on a province's behalf.

The ask is awaited on the event loop: the public query holds no worker thread while the trace
system answers (in one process that system needs one to answer). It is bounded twice: at most
``at_once`` asks are out at a time, the rest wait their turn, and every ask, waiting included,
ends within ``timeout`` seconds: a 503 ``busy`` when it never got its turn, ``owner_unavailable``
when the trace system did not answer in time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CertificateFile
from vaxtrace.exchange.transport import AsyncClients, network_async_client

PUBLIC_PATH = "/trace/v1/public/codes"
CERTIFICATE_PATH = "/trace/v1/exchange/lot-release-certificates"

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
        response = await self.get(endpoint, PUBLIC_PATH, {"code": code}, field="code")
        return _view(endpoint, response)

    async def certificate(self, endpoint: str, mah_uscc: str, batch_no: str) -> CertificateFile:
        """批签发证明 of a batch, as its trace system filed it."""
        path = f"{CERTIFICATE_PATH}/{quote(mah_uscc, safe='')}/{quote(batch_no, safe='')}"
        response = await self.get(endpoint, path, field="batch_no")
        if response.status_code == 404:
            raise DomainError(
                Reason.NO_LOT_RELEASE,
                f"the MAH's trace system has no lot release of batch {batch_no} on file",
                field="batch_no",
            )
        _refuse_failure(endpoint, response, "batch_no")
        media_type = response.headers.get("content-type", "application/octet-stream")
        return CertificateFile(response.content, media_type)

    async def get(
        self,
        endpoint: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        field: str | None = None,
    ) -> httpx.Response:
        """GET ``path`` of the trace system at ``endpoint``, bounded as every ask is; the
        problems name ``field``."""
        asking = False
        try:
            with anyio.fail_after(self.timeout):
                async with self.turns:
                    asking = True
                    async with self.clients(endpoint) as client:
                        return await client.get(path, params=params)
        except TimeoutError as exc:
            if not asking:
                raise DomainError(
                    Reason.BUSY,
                    f"{self.at_once} asks are already waiting for their trace systems; try "
                    "again shortly",
                ) from exc
            raise _no_answer(endpoint, self.timeout, field) from exc
        except httpx.TimeoutException as exc:
            raise _no_answer(endpoint, self.timeout, field) from exc
        except httpx.TransportError as exc:
            raise DomainError(
                Reason.OWNER_UNREACHABLE,
                f"the trace system at {endpoint} did not answer: {exc}",
                field=field,
            ) from exc


def _no_answer(endpoint: str, timeout: float, field: str | None) -> DomainError:
    return DomainError(
        Reason.OWNER_UNAVAILABLE,
        f"the trace system at {endpoint} did not answer within {timeout:g} s; try again later",
        field=field,
    )


def _view(endpoint: str, response: httpx.Response) -> dict[str, Any]:
    """The trace system's answer in the domain's words."""
    if response.status_code == 404:
        body = response.json()
        raise DomainError(
            str(body.get("reason", Reason.NOT_COMMISSIONED)),
            f"the owning trace system says: {body.get('detail', 'unknown code')}",
            field="code",
        )
    _refuse_failure(endpoint, response, "code")
    answer: dict[str, Any] = response.json()
    return answer


def _refuse_failure(endpoint: str, response: httpx.Response, field: str) -> None:
    """A trace system's answer other than 200, as the platform's 503."""
    if response.status_code in (429, 503):
        raise DomainError(
            Reason.OWNER_UNAVAILABLE,
            f"the trace system at {endpoint} is busy ({response.status_code}); try again later",
            field=field,
        )
    if response.status_code != 200:
        raise DomainError(
            Reason.OWNER_FAILED,
            f"the trace system at {endpoint} answered {response.status_code}",
            field=field,
        )
