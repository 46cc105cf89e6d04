"""The in-process transport between the roles of one process (``--role all``): the same HTTP
API and the same certificate-based identity, without a socket.

A sending role presents its system certificate as the ASGI TLS extension would carry it, so
the receiving role's routes cannot tell this from mutual TLS over the network.

A request that asks another role while its own caller waits (the platform's public query asking
the trace role) does so on the event loop (:func:`inprocess_async_clients`): it must not hold a
worker thread while the other role answers, for that role's sync routes need one of the same
pool; forty such requests at once would otherwise hold every thread, each waiting for a thread,
for good. Background work (delivering an outbox, following the registry) is synchronous and
calls from a worker thread of its own limiter (:func:`inprocess_clients`), never from the
pool requests are served from. Either way a call that gets no answer in time fails as a
timeout, like one over the network.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import httpx

from vaxtrace.exchange.transport import AsyncClients, Clients
from vaxtrace.web.tls import ASGIApp, with_tls

LOCAL_BASE = "http://in-process"

TIMEOUT_SECONDS = 30.0
"""How long a call into another role may take by default, as over the network."""


def tls_presenting(cert_file: Path) -> dict[str, Any]:
    """The TLS extension of a connection whose client presented ``cert_file`` (PEM)."""
    return {
        "server_cert": None,
        "client_cert_chain": [cert_file.read_text()],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": None,
        "cipher_suite": None,
    }


class InProcessAsyncTransport(httpx.AsyncBaseTransport):
    """An httpx transport into an ASGI app on the event loop of its caller, answering within
    ``timeout`` seconds or raising :class:`httpx.ReadTimeout`. An exception in the app is a
    500 answer, as a server would give it."""

    def __init__(self, app: ASGIApp, tls: dict[str, Any], timeout: float = TIMEOUT_SECONDS):
        self._asgi = httpx.ASGITransport(app=with_tls(app, tls), raise_app_exceptions=False)
        self._timeout = timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            with anyio.fail_after(self._timeout):
                response = await self._asgi.handle_async_request(request)
                body = await response.aread()
        except TimeoutError as exc:
            raise httpx.ReadTimeout(
                f"{request.method} {request.url.path}: no answer in-process within "
                f"{self._timeout:g} s",
                request=request,
            ) from exc
        return httpx.Response(response.status_code, headers=response.headers, content=body)


class InProcessTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app on the event loop that runs it; call it
    from a worker thread of that loop, and for work in the background from one of a limiter
    of its own (see the module's docstring)."""

    def __init__(self, app: ASGIApp, tls: dict[str, Any], timeout: float = TIMEOUT_SECONDS):
        self._async = InProcessAsyncTransport(app, tls, timeout)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return anyio.from_thread.run(self._async.handle_async_request, request)


def inprocess_clients(
    app: ASGIApp, tls: dict[str, Any], timeout: float = TIMEOUT_SECONDS
) -> Clients:
    """:data:`vaxtrace.exchange.transport.Clients` into ``app``, presenting ``tls``: every
    endpoint is this process."""

    def clients(_endpoint: str) -> AbstractContextManager[httpx.Client]:
        transport = InProcessTransport(app, tls, timeout)
        return httpx.Client(base_url=LOCAL_BASE, transport=transport, timeout=timeout)

    return clients


def inprocess_async_clients(
    app: ASGIApp, tls: dict[str, Any], timeout: float = TIMEOUT_SECONDS
) -> AsyncClients:
    """:data:`vaxtrace.exchange.transport.AsyncClients` into ``app``, presenting ``tls``."""

    def clients(_endpoint: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        transport = InProcessAsyncTransport(app, tls, timeout)
        return httpx.AsyncClient(base_url=LOCAL_BASE, transport=transport, timeout=timeout)

    return clients
