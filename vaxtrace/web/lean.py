"""Routes on a hot path (a dose-check at the arm, a scan at the door) answered without
FastAPI's per-request work of solving dependencies and validating through them, yet
documented and refused exactly as FastAPI documents and refuses them.

A lean route is an ordinary :class:`fastapi.routing.APIRoute`: its OpenAPI entry comes from its
endpoint's signature as for any route. It first offers the request to the route's ``at_once``
function, which answers the common case only (a known bearer token, a JSON body that the
route's model takes) and answers None for anything else; FastAPI's own handler then answers
that request from the start (the body read is given to it again), so every refusal — no or an
unknown token, unreadable JSON, a field refused — is the one FastAPI gives. An error raised
while answering at once goes to the app's exception handlers, as one raised by the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.types import Message, Receive, Scope, Send

AtOnce = Callable[[Request], Awaitable[Response | None]]
"""Answers a request of the common case; None: FastAPI answers it as usual."""

Body = TypeVar("Body", bound=BaseModel)
Value = TypeVar("Value")


def lean_route(at_once: AtOnce) -> type[APIRoute]:
    """An APIRoute class whose requests ``at_once`` answers first (see the module)."""

    class LeanRoute(APIRoute):
        async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
            request = Request(scope, receive, send)
            body = await request.body()
            answer = await at_once(request)
            if answer is None:  # FastAPI's own handler, reading the body again
                await super().handle(scope, _replaying(body, receive), send)
            else:
                await answer(scope, receive, send)

    return LeanRoute


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` of a request whose body was read: the body again, then what follows."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def again() -> Message:
        return pending.pop() if pending else await receive()

    return again


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without one."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return authorization[7:].strip()


def known_bearer(request: Request, authenticate: Callable[[str], str | None]) -> str | None:
    """The organisation behind the request's bearer token; None without a known one."""
    token = bearer_token(request.headers.get("authorization"))
    return None if token is None else authenticate(token)


async def json_body(request: Request, model: type[Body]) -> Body | None:
    """The request's body as ``model`` when it is JSON (``application/json``) that the model
    takes as FastAPI would take it; None otherwise."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json":
        return None
    try:
        return model.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError):  # unreadable JSON or a field refused
        return None


def path_param(request: Request, name: str, adapter: TypeAdapter[Value]) -> Value | None:
    """The path parameter ``name`` as ``adapter`` takes it (its constraints); None if refused."""
    try:
        return adapter.validate_python(request.path_params[name])
    except ValidationError:
        return None
