"""The platform asking a trace system for a code's public view (消费者查询), or for a batch's
lot release certificate (批签发证明) on a province's behalf.

The ask is awaited on the event loop: the public query holds no worker thread while the trace
system answers (in one process that system needs one to answer). It is bounded twice: at most
``at_once`` asks are out at a time, the rest wait their turn, and every ask, waiting included,
ends within ``timeout`` seconds: a 503 ``busy`` when it never got its turn, ``owner_unavailable``
when the trace system did not answer in time.

Connections to each trace system are kept alive between asks (per event loop: a connection
belongs to one): a new mutual TLS connection per ask cost both systems about a millisecond of
CPU for the handshake, and making an httpx client another. Over the network a code's public view
is asked with lean keep-alive GETs (:mod:`vaxtrace.exchange.kept_http`, with the TLS context of
the clients given); otherwise (in one process, and for certificates) with an httpx client kept
per trace system. A kept connection the trace system closed meanwhile is noticed when it is
taken (or, in a race, when it answers nothing: the ask, a GET, is sent once more on a new one).
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import quote

import httpx

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import CertificateFile
from vaxtrace.exchange.kept_http import Answer, KeptConnections, Unanswered
from vaxtrace.exchange.transport import AsyncClients, NetworkAsyncClients, network_async_client

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
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Kept]] = (
            weakref.WeakKeyDictionary()
        )
        self._connections: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, KeptConnections]
        ] = weakref.WeakKeyDictionary()

    async def __call__(self, endpoint: str, code: str) -> dict[str, Any]:
        target = f"{PUBLIC_PATH}?code={quote(code, safe='')}"
        if isinstance(self.clients, NetworkAsyncClients):  # over the network: lean GETs
            answer = await self._bounded(endpoint, "code", self._get_kept(endpoint, target))
        else:
            answer = await self._bounded(endpoint, "code", self._get(endpoint, target))
        return _view(endpoint, answer)

    async def certificate(self, endpoint: str, mah_uscc: str, batch_no: str) -> CertificateFile:
        """批签发证明 of a batch, as its trace system filed it."""
        path = f"{CERTIFICATE_PATH}/{quote(mah_uscc, safe='')}/{quote(batch_no, safe='')}"
        answer = await self._bounded(endpoint, "batch_no", self._get(endpoint, path))
        if answer.status == 404:
            raise DomainError(
                Reason.NO_LOT_RELEASE,
                f"the MAH's trace system has no lot release of batch {batch_no} on file",
                field="batch_no",
            )
        _refuse_failure(endpoint, answer, "batch_no")
        media_type = answer.headers.get("content-type", "application/octet-stream")
        return CertificateFile(answer.body, media_type)

    async def _bounded(self, endpoint: str, field: str, asking: Awaitable[Answer]) -> Answer:
        """``asking`` once it has its turn, bounded as every ask is; the problems name
        ``field``."""
        turn = False
        try:
            async with asyncio.timeout(self.timeout):
                async with self.turns():
                    turn = True
                    return await asking
        except TimeoutError as exc:
            if not turn:
                raise DomainError(
                    Reason.BUSY,
                    f"{self.at_once} asks are already waiting for their trace systems; try "
                    "again shortly",
                ) from exc
            raise _no_answer(endpoint, self.timeout, field) from exc
        except httpx.TimeoutException as exc:
            raise _no_answer(endpoint, self.timeout, field) from exc
        except (httpx.TransportError, Unanswered) as exc:
            raise DomainError(
                Reason.OWNER_UNREACHABLE,
                f"the trace system at {endpoint} did not answer: {exc}",
                field=field,
            ) from exc
        finally:
            if not turn and inspect.iscoroutine(asking):
                asking.close()  # never awaited: no turn came

    def turns(self) -> asyncio.Semaphore:
        """The turns of asks on this event loop: ``at_once`` at a time, the rest wait in
        order. (asyncio's own: anyio's limiter yields to the loop on every turn; with anyio's
        timeout it cost several times as much CPU as asyncio's.)"""
        loop = asyncio.get_running_loop()
        turns = self._turns.get(loop)
        if turns is None:
            turns = self._turns[loop] = asyncio.Semaphore(self.at_once)
        return turns

    async def _get_kept(self, endpoint: str, target: str) -> Answer:
        """GET ``target`` over a connection kept to ``endpoint`` on this event loop."""
        assert isinstance(self.clients, NetworkAsyncClients)
        kept = self._connections.setdefault(asyncio.get_running_loop(), {})
        connections = kept.get(endpoint)
        if connections is None:
            try:
                connections = KeptConnections(endpoint, self.clients.context)
            except ValueError as exc:  # as httpx refuses a scheme it does not speak
                raise Unanswered(str(exc)) from exc
            kept[endpoint] = connections
        return await connections.get(target)

    async def _get(self, endpoint: str, target: str) -> Answer:
        """GET ``target`` with the httpx client kept for ``endpoint`` on this event loop."""
        client = await self._client(endpoint)
        try:
            response = await client.get(target)
        except _CONNECTION_LOST:  # a kept connection closed as it was taken
            response = await client.get(target)
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status_code, headers, response.content)

    async def _client(self, endpoint: str) -> httpx.AsyncClient:
        """The client kept for ``endpoint`` on this event loop, made on first use."""
        kept = self._kept.setdefault(asyncio.get_running_loop(), {})
        found = kept.get(endpoint)
        if found is not None and not found.client.is_closed:
            return found.client
        made = self.clients(endpoint)
        client = await made.__aenter__()
        found = kept.get(endpoint)
        if found is not None and not found.client.is_closed:  # made meanwhile by another ask
            await made.__aexit__(None, None, None)
            return found.client
        kept[endpoint] = _Kept(made, client)
        return client

    async def aclose(self) -> None:
        """Close the clients and connections kept on this event loop."""
        loop = asyncio.get_running_loop()
        for connections in self._connections.pop(loop, {}).values():
            connections.close()
        for found in self._kept.pop(loop, {}).values():
            await found.made.__aexit__(None, None, None)


class _Kept:
    """A client kept, and the context it was made in (to close it as it is meant to be)."""

    def __init__(
        self, made: AbstractAsyncContextManager[httpx.AsyncClient], client: httpx.AsyncClient
    ) -> None:
        self.made, self.client = made, client


_CONNECTION_LOST = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""How a kept connection the trace system closed shows when it is used: nothing was answered."""


def _no_answer(endpoint: str, timeout: float, field: str | None) -> DomainError:
    return DomainError(
        Reason.OWNER_UNAVAILABLE,
        f"the trace system at {endpoint} did not answer within {timeout:g} s; try again later",
        field=field,
    )


def _view(endpoint: str, response: Answer) -> dict[str, Any]:
    """The trace system's answer in the domain's words."""
    if response.status == 404:
        body = response.json()
        raise DomainError(
            str(body.get("reason", Reason.NOT_COMMISSIONED)),
            f"the owning trace system says: {body.get('detail', 'unknown code')}",
            field="code",
        )
    _refuse_failure(endpoint, response, "code")
    answer: dict[str, Any] = response.json()
    return answer


def _refuse_failure(endpoint: str, response: Answer, field: str) -> None:
    """A trace system's answer other than 200, as the platform's 503."""
    if response.status in (429, 503):
        raise DomainError(
            Reason.OWNER_UNAVAILABLE,
            f"the trace system at {endpoint} is busy ({response.status}); try again later",
            field=field,
        )
    if response.status != 200:
        raise DomainError(
            Reason.OWNER_FAILED,
            f"the trace system at {endpoint} answered {response.status}",
            field=field,
        )
