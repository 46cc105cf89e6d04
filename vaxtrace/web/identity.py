"""Who is calling: a system from its verified client certificate (never from the request
body), a role's staff from their bearer token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request

from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.pki import SystemIdentity, identity_of
from vaxtrace.store.tokens import token_sha256
from vaxtrace.web.lean import bearer_token
from vaxtrace.web.tls import client_certificate, revoked_refusal


def system_identity(revoked: Callable[[], set[int]]) -> Callable[[Request], SystemIdentity]:
    """A dependency answering the calling system; 401 without a certificate, 403 if revoked
    (``certificate_revoked``)."""

    def dependency(request: Request) -> SystemIdentity:
        cert = client_certificate(request.scope)
        if cert is None:
            raise HTTPException(401, "this endpoint needs a client certificate (mutual TLS)")
        try:
            identity = identity_of(cert)
        except DomainError as exc:
            raise HTTPException(403, exc.message) from exc
        if identity.serial in revoked():
            raise revoked_refusal(cert)
        return identity

    return dependency


KNOWN_TOKENS = "vaxtrace.known_tokens"
"""Where a request keeps what its bearer token was found to be (the scope key of a dict the
body guard puts there, :mod:`vaxtrace.web.bodies`): asked before the body is read and again
with the rest of the route's dependencies, the token is looked up once."""


def bearer_organisation(
    request: Request, authorization: str | None, authenticate: Callable[[str], str | None]
) -> str:
    """The organisation behind a request's bearer token (staff of a role); 401 without one."""
    token = bearer_token(authorization)
    if token is None:
        raise HTTPException(401, "send Authorization: Bearer <token>")
    known: dict[str, str | None] | None = request.scope.get(KNOWN_TOKENS)
    if known is None:
        org = authenticate(token)
    elif token in known:
        org = known[token]
    else:
        org = known[token] = authenticate(token)
    if org is None:
        raise HTTPException(401, "unknown or revoked token")
    return org


def app_state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency answering the service the app keeps as ``app.state.<name>`` (async: a
    lookup, not worth a worker thread per request)."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    return dependency


@dataclass(frozen=True, slots=True)
class Staff:
    """Who calls with a staff token: the organisation, and the token's own identity (its
    SHA-256: one person's token, as the staff are issued one each) for steps only the same
    person may take back."""

    org_uscc: str
    user: str


def bearer_staff(name: str) -> Callable[..., Staff]:
    """Like :func:`bearer_actor`, with the token's identity."""

    def dependency(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Staff:
        service = getattr(request.app.state, name)
        org = bearer_organisation(request, authorization, service.authenticate)
        token = bearer_token(authorization)
        assert token is not None
        return Staff(org, token_sha256(token))

    return dependency


def bearer_actor(name: str) -> Callable[..., str]:
    """A dependency answering the organisation behind the bearer token, as the service at
    ``app.state.<name>`` knows its staff's tokens; 401 without one, so nothing is done or
    shown anonymously."""

    def dependency(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
        service = getattr(request.app.state, name)
        return bearer_organisation(request, authorization, service.authenticate)

    return dependency


def bearer_actor_on_loop(name: str) -> Callable[..., Awaitable[str]]:
    """:func:`bearer_actor` for a hot async route whose service remembers its tokens: asked
    on the event loop, no hop to a worker thread and back."""

    async def dependency(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> str:
        service = getattr(request.app.state, name)
        return bearer_organisation(request, authorization, service.authenticate)

    return dependency
