"""Routes on a hot path (a dose-check at the arm, a scan at the door) answered without
FastAPI's per-request work of routing, solving dependencies and validating through them, yet
documented and refused exactly as FastAPI documents and refuses them.

A lean route is an ordinary :class:`fastapi.routing.APIRoute`: its OpenAPI entry comes from its
endpoint's signature, and FastAPI answers it as any route. A :class:`LeanApp` first offers a
request for a lean route to the route's ``at_once`` function, which answers the common case
only (a known bearer token, a small JSON body that the route's model takes) and answers None
for anything else; the request then goes on to FastAPI from the start (the body read is given
to it again), so every refusal — no or an unknown token, unreadable JSON, a field refused — is
the one FastAPI gives. An error raised while answering at once goes to the app's exception
handlers, as one raised by the endpoint.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import fastapi.routing
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_json
from starlette.convertors import Convertor
from starlette.routing import BaseRoute
from starlette.types import Message, Receive, Scope, Send

AtOnce = Callable[[Request], Awaitable[Response | None]]
"""Answers a request of the common case; None: FastAPI answers it as usual."""

Body = TypeVar("Body", bound=BaseModel)
Value = TypeVar("Value")

LARGEST_BODY = 16 * 1024
"""A body longer than this (or of no stated length: chunked) is never the common case: FastAPI
reads it."""


def lean_route(at_once: AtOnce) -> type[APIRoute]:
    """An APIRoute class whose requests ``at_once`` answers first in a :class:`LeanApp`
    (see the module)."""

    class LeanRoute(APIRoute):
        answer_at_once = staticmethod(at_once)

    return LeanRoute


@dataclass(frozen=True)
class _Lane:
    """A lean route as the lanes match it."""

    methods: frozenset[str]
    path: re.Pattern[str]
    convertors: dict[str, Convertor[Any]]
    at_once: AtOnce
    authenticated: bool

    def path_params(self, scope: Scope) -> dict[str, Any] | None:
        if scope["method"] not in self.methods:
            return None
        match = self.path.match(route_path(scope))
        if match is None:
            return None
        return {k: self.convertors[k].convert(v) for k, v in match.groupdict().items()}


class LeanApp(FastAPI):
    """A FastAPI app that offers a request for a lean route to the route's ``at_once`` before
    anything of FastAPI's own (the module): before its telemetry, error handling, body limit
    and routing. A lean route's body is small by :data:`LARGEST_BODY`; an error ``at_once``
    raises goes to the app's exception handlers, or without one to the server (a 500)."""

    _lanes: list[_Lane] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for lane in self._lanes if self._lanes is not None else self._find_lanes():
                params = lane.path_params(scope)
                if params is not None and _common(scope, lane.authenticated):
                    return await self._offer(lane, scope, params, receive, send)
        await super().__call__(scope, receive, send)

    def _find_lanes(self) -> list[_Lane]:
        from vaxtrace.web.bodies import authenticated  # it builds on this module

        self._lanes = [
            _Lane(
                frozenset(r.methods or ()),
                r.path_regex,
                r.param_convertors,
                at_once,
                authenticated(r),
            )
            for route, r in _routes(self)
            if (at_once := getattr(route, "answer_at_once", None)) is not None
        ]
        return self._lanes

    async def _offer(
        self, lane: _Lane, scope: Scope, params: dict[str, Any], receive: Receive, send: Send
    ) -> None:
        request = Request({**scope, "app": self, "path_params": params}, receive, send)
        body = await request.body()
        try:
            answer = await lane.at_once(request)
        except Exception as error:
            answer = await answer_error(self, request, error)
        if answer is None:  # FastAPI's own, reading the body again
            await super().__call__(scope, _replaying(body, receive), send)
        else:
            await answer(request.scope, receive, send)


def _routes(app: FastAPI) -> Iterator[tuple[BaseRoute, Any]]:
    """Each route of ``app`` with what matches it as served (the route itself, or since
    FastAPI 0.16x nests included routers, the context that carries the router's prefix)."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        yield from ((route, route) for route in app.routes)
    else:
        yield from ((context.original_route, context) for context in contexts(app.routes))


def route_contexts(app: FastAPI) -> Iterator[Any]:
    """What matches each route of ``app`` as served (see :func:`_routes`)."""
    return (context for _, context in _routes(app))


def route_path(scope: Scope) -> str:
    """The request's path within the app (without the ``root_path`` it is served under)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _common(scope: Scope, authenticated: bool) -> bool:
    """Whether a request may be the common case: a small body of stated length, or none (no
    ``Content-Length``, no ``Transfer-Encoding``: a GET) and, on a route that says who calls, a
    bearer token (without one, the body is never read: FastAPI answers 401 first,
    :mod:`vaxtrace.web.bodies`)."""
    small = True
    shown = not authenticated
    for name, value in scope["headers"]:
        if name == b"content-length":
            small = small and value.isdigit() and int(value) <= LARGEST_BODY
        elif name == b"transfer-encoding":
            small = False
        elif name == b"authorization":
            shown = True
    return small and shown


async def answer_error(app: FastAPI, request: Request, error: Exception) -> Response:
    """The app's exception handler's answer to ``error``; ``error`` again if it has none (the
    server's error middleware then answers 500)."""
    for kind in type(error).__mro__:
        handler = app.exception_handlers.get(kind)
        if handler is not None and kind is not Exception:
            answer = handler(request, error)
            return await answer if inspect.isawaitable(answer) else answer
    raise error


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` of a request whose body was read: the body again, then what follows."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def again() -> Message:
        return pending.pop() if pending else await receive()

    return again


def json_answer(content: Any, status_code: int = 200) -> Response:
    """``content`` as JSON, byte for byte as starlette's ``JSONResponse`` writes it (compact,
    UTF-8), written by pydantic-core in a fifth of the time."""
    return Response(to_json(content), status_code, media_type="application/json")


def query_param(request: Request, name: str) -> str | None:
    """The query parameter ``name`` as FastAPI takes a ``str`` one (the last given); None
    without one."""
    return request.query_params.get(name)


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
        return model.model_validate_json(await request.body())
    except ValidationError:  # unreadable JSON or a field refused
        return None


def path_param(request: Request, name: str, adapter: TypeAdapter[Value]) -> Value | None:
    """The path parameter ``name`` as ``adapter`` takes it (its constraints); None if refused."""
    try:
        return adapter.validate_python(request.path_params[name])
    except ValidationError:
        return None
