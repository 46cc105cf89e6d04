"""Carrying batches of envelopes to a receiver: over mutual TLS between nodes, or in-process
between the roles of one process (the same HTTP API over an ASGI transport)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any

import httpx

from vaxtrace.exchange.delivery import Refused, Send

Clients = Callable[[str], AbstractContextManager[httpx.Client]]
"""An HTTP client for a system's endpoint, for one exchange (network, or in-process), for work
done in a worker thread."""

AsyncClients = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]
"""The same for work done on the event loop (a request that asks another system while its caller
waits): it holds no worker thread while the other system answers."""

Route = Callable[[str], tuple[str, str]]
"""A receiver's name → its endpoint and the path of its batch route."""

TRANSIENT = (401, 408, 425, 429)
"""4xx answers that mean "later", not "never": the receiver did not judge the message (401:
it does not know the caller yet, e.g. a certificate not yet trusted)."""


KEPT_ALIVE = httpx.Limits(max_keepalive_connections=None)
"""An asking client on the event loop keeps every connection alive (httpx keeps 20): how many
are out at once is bounded by who asks (e.g. ``public_query_concurrency``)."""


class NetworkAsyncClients:
    """:data:`AsyncClients` over the network, trusting (and presenting) what ``context`` does
    (None: httpx's defaults). An asker may reach the endpoint with ``context`` by other means
    (:mod:`vaxtrace.exchange.kept_http`)."""

    def __init__(self, context: ssl.SSLContext | None, timeout: float) -> None:
        self.context, self.timeout = context, timeout

    def __call__(self, endpoint: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        verify: ssl.SSLContext | bool = True if self.context is None else self.context
        return httpx.AsyncClient(
            base_url=endpoint, verify=verify, timeout=self.timeout, limits=KEPT_ALIVE
        )


network_async_client = NetworkAsyncClients(None, 10)


def mtls_clients(context: ssl.SSLContext, timeout: float = 30) -> Clients:
    """Clients presenting this system's certificate and trusting only the platform CA."""

    def clients(endpoint: str) -> AbstractContextManager[httpx.Client]:
        return httpx.Client(base_url=endpoint, verify=context, timeout=timeout)

    return clients


def mtls_async_clients(context: ssl.SSLContext, timeout: float = 30) -> AsyncClients:
    """:func:`mtls_clients` for work on the event loop."""

    return NetworkAsyncClients(context, timeout)


def batch_path(role: str) -> str:
    """Where a system of a role takes batches of envelopes."""
    return f"/{role}/v1/exchange/batches"


def batch_sender(clients: Clients, route: Route) -> Send:
    """``send(receiver, envelopes)`` for :meth:`Outbox.deliver_due`: one request per batch. A
    4xx answer with a problem body is the receiver's refusal (:class:`Refused`, final);
    anything else not 2xx (5xx, a 4xx meaning "later", one without a problem) a failure to
    retry."""

    def send(receiver: str, envelopes: Sequence[Mapping[str, Any]]) -> None:
        endpoint, path = route(receiver)
        with clients(endpoint) as client:
            answer = client.post(path, json={"envelopes": [dict(e) for e in envelopes]})
        status, problem = answer.status_code, _problem(answer)
        if problem is not None and 400 <= status < 500 and status not in TRANSIENT:
            raise Refused(
                f"{receiver} refused the batch: {status} {answer.text[:400]}", problem, status
            )
        answer.raise_for_status()

    return send


def _problem(answer: httpx.Response) -> dict[str, Any] | None:
    """The RFC 9457 problem an answer carries (a JSON object naming a ``reason``), if any."""
    try:
        body = answer.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("reason"), str) else None
