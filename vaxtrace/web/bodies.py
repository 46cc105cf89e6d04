"""Request bodies bounded: who calls is known before a body is read, a body is read only up
to its route's limit, and a JSON body is UTF-8 and nested no deeper than :data:`MAX_DEPTH`.

:class:`BodyGuard` sits in front of FastAPI's routing. For a request that carries a body it
finds the route, solves the route's identity dependencies (:mod:`vaxtrace.web.identity`: a
bearer token, a client certificate) and answers their refusal (401, 403) without reading a
byte of the body; it answers 413 at once to a ``Content-Length`` over the route's limit, and
while the body is read (chunked, or longer than it said) stops at the limit: the read raises
:class:`~vaxtrace.web.problems.BodyRefused`, which FastAPI passes on to the app's handler,
answered as problem+json. Nothing is buffered here beyond what the route reads anyway.

A route's limit is :attr:`Settings.body_max_bytes`, or for a route that takes bulk data (a
list of thousands: codes, readings, notes; a free-form document; a form with a file)
:attr:`Settings.bulk_body_max_bytes`, or what :attr:`Settings.body_max_bytes_per_route` says.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import solve_dependencies
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaxtrace.core.reasons import Reason
from vaxtrace.settings import Settings
from vaxtrace.web import identity
from vaxtrace.web.lean import answer_error, route_contexts, route_path
from vaxtrace.web.problems import BodyRefused, http_problem

MAX_DEPTH = 64
"""How deep a JSON body may nest (arrays and objects); no document of the system comes near."""

BULK_ITEMS = 1_000
"""A body that may list more items than this (codes, readings, notes) takes bulk data."""

_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """How deep ``body`` (JSON) nests: brackets outside strings counted."""
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_A_BRACKET)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def _schemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every (sub)schema of a JSON schema."""
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _schemas(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _schemas(value)


def _bulk(schema: dict[str, Any]) -> bool:
    """Whether a body of this JSON schema may carry bulk data: a long or unbounded list, or
    anything at all (a free-form document)."""
    for part in _schemas(schema):
        if part.get("type") == "array" and part.get("maxItems", BULK_ITEMS + 1) > BULK_ITEMS:
            return True
        if part.get("type") == "object" and not part.get("properties"):
            return True
    return False


def _takes_bulk(route: Any) -> bool:
    """Whether ``route``'s body is JSON that may carry bulk data (see :func:`_bulk`)."""
    body = getattr(route, "body_field", None)
    if body is None:
        return False
    try:
        schema = TypeAdapter(body.field_info.annotation).json_schema()
    except Exception:  # a type without a JSON schema: say bulk rather than refuse its data
        return True
    return _bulk(schema)


def _is_form(route: Any) -> bool:
    body = getattr(route, "body_field", None)
    media: str = getattr(getattr(body, "field_info", None), "media_type", "")
    return media.startswith(("multipart/", "application/x-www-form-urlencoded"))


def _identities(dependant: Dependant) -> list[Dependant]:
    """The dependencies of a route that say who calls (:mod:`vaxtrace.web.identity`), found
    however deep: solved before its body is read."""
    found: list[Dependant] = []
    for sub in dependant.dependencies:
        call = sub.call
        if (
            call is not None
            and call.__module__ == identity.__name__
            and not call.__qualname__.startswith(identity.app_state.__name__)
        ):
            found.append(sub)
        else:
            found += _identities(sub)
    return found


@dataclass(frozen=True)
class BodyRule:
    """How a route's body is bounded."""

    limit: int
    identities: Dependant | None = None
    """The route's identity dependencies, as those of a dependant of their own (solved,
    the dependant itself is not called)."""


@dataclass(frozen=True)
class _Lane:
    methods: frozenset[str]
    path: re.Pattern[str]
    rule: BodyRule


def body_rule(route: Any, settings: Settings) -> BodyRule:
    """The limit of ``route``'s body and the dependencies that say who may send one."""
    key = f"{'|'.join(sorted(route.methods or ()))} {route.path}"
    if key in settings.body_max_bytes_per_route:
        limit = settings.body_max_bytes_per_route[key]
    elif _is_form(route):  # a form with a file: at least what its file may be, and a form
        files = settings.lot_release_file_max_bytes + settings.body_max_bytes
        limit = max(settings.bulk_body_max_bytes, files)
    elif _takes_bulk(route):
        limit = settings.bulk_body_max_bytes
    else:
        limit = settings.body_max_bytes
    identities = _identities(route.dependant)
    return BodyRule(limit, Dependant(dependencies=identities) if identities else None)


def authenticated(route: Any) -> bool:
    """Whether a route says who calls (a bearer token, a client certificate)."""
    return bool(_identities(route.dependant))


def callers(route: Any) -> set[str]:
    """How a route says who calls: the names of the :mod:`vaxtrace.web.identity` functions
    that made its dependencies (``bearer_actor``, ``system_identity``...)."""
    return {d.call.__qualname__.partition(".")[0] for d in _identities(route.dependant) if d.call}


@dataclass
class _Reading:
    """A body as it is read: its size so far against the limit, and for JSON, UTF-8 checked
    as it comes and its brackets counted (nesting is measured at the end only if there are
    more brackets than :data:`MAX_DEPTH`)."""

    receive: Receive
    limit: int
    json: bool
    size: int = 0
    brackets: int = 0
    chunks: list[bytes] = field(default_factory=list)
    utf8: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")()
    )

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            chunk: bytes = message.get("body", b"")
            self.size += len(chunk)
            if self.size > self.limit:
                raise too_large(self.limit)
            if self.json:
                self._check(chunk, done=not message.get("more_body", False))
        return message

    def _check(self, chunk: bytes, done: bool) -> None:
        try:
            self.utf8.decode(chunk, final=done)
        except UnicodeDecodeError as exc:
            raise BodyRefused(Reason.INVALID_UTF8, f"the body is not UTF-8: {exc.reason}") from exc
        self.chunks.append(chunk)  # the chunks FastAPI keeps too: no copy
        self.brackets += chunk.count(b"[") + chunk.count(b"{")
        if done and self.brackets > MAX_DEPTH and json_depth(b"".join(self.chunks)) > MAX_DEPTH:
            raise BodyRefused(
                Reason.TOO_DEEPLY_NESTED, f"the body nests deeper than {MAX_DEPTH} levels"
            )


def too_large(limit: int) -> BodyRefused:
    return BodyRefused(Reason.BODY_TOO_LARGE, f"the body is larger than {limit} bytes")


@dataclass(frozen=True)
class _Head:
    """What the guard reads of a request's headers."""

    length: int | None
    chunked: bool
    json: bool

    @classmethod
    def of(cls, scope: Scope) -> _Head:
        length: int | None = None
        chunked = json = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"content-type":
                media = value.partition(b";")[0].strip().lower()
                json = media == b"application/json" or media.endswith(b"+json")
        return cls(length, chunked, json)

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.length)


class BodyGuard:
    """ASGI middleware bounding request bodies (see the module); ``owner`` is the app whose
    routes it guards."""

    def __init__(self, app: ASGIApp, owner: FastAPI, settings: Settings) -> None:
        self.app = app
        self.owner = owner
        self.settings = settings
        self.default = BodyRule(settings.body_max_bytes)
        self._lanes: list[_Lane] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        head = _Head.of(scope)
        if not head.has_body:
            return await self.app(scope, receive, send)
        rule = self._rule(scope)
        scope[identity.KNOWN_TOKENS] = {}  # the route asks again: the token is looked up once
        try:
            refused = await self._identify(rule, scope)
        except Exception as error:  # e.g. the tokens' database lost: answered as the route's
            request = Request({**scope, "app": self.owner}, _no_body)
            answer = await answer_error(self.owner, request, error)
            return await answer(scope, receive, send)
        if refused is None and head.length is not None and head.length > rule.limit:
            refused = too_large(rule.limit)
        if refused is not None:
            return await http_problem(refused)(scope, receive, send)
        await self.app(scope, _Reading(receive, rule.limit, head.json), send)

    def _rule(self, scope: Scope) -> BodyRule:
        path = route_path(scope)
        for lane in self._lanes if self._lanes is not None else self._find_lanes():
            if scope["method"] in lane.methods and lane.path.match(path):
                return lane.rule
        return self.default

    def _find_lanes(self) -> list[_Lane]:
        self._lanes = [
            _Lane(frozenset(r.methods or ()), r.path_regex, body_rule(r, self.settings))
            for r in route_contexts(self.owner)
            if hasattr(r, "dependant")
        ]
        return self._lanes

    async def _identify(self, rule: BodyRule, scope: Scope) -> HTTPException | None:
        """The refusal of the route's identity dependencies, solved before the body is
        read (FastAPI solves them again, with the rest, once it has the body)."""
        if rule.identities is None:
            return None
        async with AsyncExitStack() as stack:
            stacks = dict.fromkeys(_FASTAPI_STACKS, stack)
            request = Request({**scope, "app": self.owner, **stacks}, _no_body)
            try:
                await solve_dependencies(
                    request=request,
                    dependant=rule.identities,
                    dependency_overrides_provider=self.owner,
                    async_exit_stack=stack,
                    embed_body_fields=False,
                )
            except HTTPException as refusal:
                return refusal
        return None


_FASTAPI_STACKS = (
    "fastapi_astack",
    "fastapi_inner_astack",
    "fastapi_function_astack",
    "fastapi_middleware_astack",
)
"""Where FastAPI's versions look for the exit stacks of a request's dependencies."""


async def _no_body() -> Message:
    raise RuntimeError("the body is not read before who calls is known")
