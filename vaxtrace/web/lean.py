"""Routes on a hot path (a dose-check at the arm, a scan at the door) answered without
FastAPI's per-request work of solving dependencies and validating through them, yet
documented and refused exactly as FastAPI documents and refuses them.

A lean route is an ordinary :class:`fastapi.routing.APIRoute`: its OpenAPI entry comes from its
endpoint's signature as for any route. Its handler first offers the request to the route's
``at_once`` function, which answers the common case only (a known bearer token, a JSON body
that the route's model takes) and answers None for anything else; FastAPI's own handler then
answers that request from the start (the body is kept), so every refusal — no or an unknown
token, unreadable JSON, a field refused — is the one FastAPI gives. Errors raised while
answering go to the app's exception handlers either way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

AtOnce = Callable[[Request], Awaitable[Response | None]]
"""Answers a request of the common case; None: FastAPI answers it as usual."""

Body = TypeVar("Body", bound=BaseModel)
Value = TypeVar("Value")


def lean_route(at_once: AtOnce) -> type[APIRoute]:
    """An APIRoute class whose requests ``at_once`` answers first (see the module)."""

    class LeanRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            usual = super().get_route_handler()

            async def handler(request: Request) -> Response:
                answer = await at_once(request)
                return answer if answer is not None else await usual(request)

            return handler

    return LeanRoute


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
