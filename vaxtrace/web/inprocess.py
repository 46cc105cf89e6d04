"""The in-process transport between the roles of one process (``--role all``): the same HTTP
API and the same certificate-based identity, without a socket.

A sending role presents its system certificate as the ASGI TLS extension would carry it, so
the receiving role's routes cannot tell this from mutual TLS over the network. Senders are
synchronous (they run in worker threads of the server's event loop); each request is handed
back to that loop.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx

from vaxtrace.exchange.transport import Clients
from vaxtrace.web.tls import ASGIApp, with_tls

LOCAL_BASE = "http://in-process"


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


class InProcessTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app on the event loop that runs it; call it
    from a worker thread of that loop (as ``run_in_threadpool`` and sync routes are)."""

    def __init__(self, app: ASGIApp, tls: dict[str, Any]) -> None:
        self._asgi = httpx.ASGITransport(app=with_tls(app, tls))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return anyio.from_thread.run(self._handle, request)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def inprocess_clients(app: ASGIApp, tls: dict[str, Any]) -> Clients:
    """:data:`vaxtrace.exchange.transport.Clients` into ``app``, presenting ``tls``: every
    endpoint is this process."""

    def clients(_endpoint: str) -> AbstractContextManager[httpx.Client]:
        return httpx.Client(base_url=LOCAL_BASE, transport=InProcessTransport(app, tls), timeout=30)

    return clients
