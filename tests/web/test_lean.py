"""Lean routes: the common case answered at once, any other request answered by FastAPI's own
handler from the same body, the route documented as any other."""

# No "from __future__ import annotations": the routes below are built in a function.

import json
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, TypeAdapter

from vaxtrace.core.errors import DomainError
from vaxtrace.web import lean, problems
from vaxtrace.web.lean import bearer_token, json_body, known_bearer, lean_route, path_param

TOKENS = {"t-1": "unit-1"}
Name = Annotated[str, Field(min_length=1, max_length=5)]


class Item(BaseModel):
    code: str = Field(min_length=1)


def _app() -> FastAPI:
    app = lean.LeanApp()
    problems.install(app)

    def who(authorization: Annotated[str | None, Header()] = None) -> str:
        org = TOKENS.get(bearer_token(authorization) or "")
        if org is None:
            raise HTTPException(401, "send Authorization: Bearer <token>")
        return org

    def answer(name: str, item: Item, org: str, way: str) -> dict[str, Any]:
        if item.code == "refuse":
            raise DomainError("refused_here", "refused", field="code")
        return {"name": name, "code": item.code, "org": org, "way": way}

    async def usual(name: Name, item: Item, org: Annotated[str, Depends(who)]) -> dict[str, Any]:
        return answer(name, item, org, "usual")

    async def at_once(request: Request) -> Response | None:
        org = known_bearer(request, TOKENS.get)
        name = path_param(request, "name", TypeAdapter(Name))
        item = await json_body(request, Item)
        if org is None or name is None or item is None:
            return None
        return JSONResponse(answer(name, item, org, "at once"))

    router = APIRouter()  # included, as a role's routes are
    router.add_api_route(
        "/items/{name}",
        usual,
        methods=["POST"],
        responses={401: {"description": "no token"}},
        route_class_override=lean_route(at_once),
    )

    async def look(q: Name) -> dict[str, Any]:
        return {"q": q, "way": "usual"}

    async def look_at_once(request: Request) -> Response | None:
        q = lean.query_param(request, "q")
        if q is None or not 1 <= len(q) <= 5:
            return None
        return lean.json_answer({"q": q, "way": "at once"})

    router.add_api_route(
        "/look", look, methods=["GET"], route_class_override=lean_route(look_at_once)
    )
    app.include_router(router)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(_app())


def _post(client: TestClient, body: bytes, media: str = "application/json", name: str = "a") -> Any:
    headers = {"Authorization": "Bearer t-1", "Content-Type": media}
    return client.post(f"/items/{name}", content=body, headers=headers)


def test_the_common_case_is_answered_at_once(client: TestClient) -> None:
    answer = _post(client, b'{"code": "x"}', "application/json; charset=utf-8")
    assert answer.status_code == 200
    assert answer.json() == {"name": "a", "code": "x", "org": "unit-1", "way": "at once"}


def test_anything_else_is_fastapis_from_the_same_body(client: TestClient) -> None:
    other_json = _post(client, b'{"code": "x"}', "application/merge-patch+json")
    assert other_json.json() == {"name": "a", "code": "x", "org": "unit-1", "way": "usual"}
    for body, name, reason, field in (
        (b'{"code": ""}', "a", "invalid_string_too_short", "code"),
        (b"{", "a", "invalid_json_invalid", None),
        (b'{"code": "x"}', "toolong", "invalid_string_too_long", "name"),
    ):
        refused = _post(client, body, name=name)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == problems.MEDIA_TYPE
        assert (refused.json()["reason"], refused.json().get("field")) == (reason, field)
    anonymous = client.post("/items/a", content=json.dumps({"code": "x"}))
    assert (anonymous.status_code, anonymous.json()["reason"]) == (401, "unauthenticated")


def test_an_error_answering_at_once_is_the_apps_problem(client: TestClient) -> None:
    at_once = _post(client, b'{"code": "refuse"}')
    usual = _post(client, b'{"code": "refuse"}', "application/merge-patch+json")
    assert at_once.status_code == usual.status_code == 422
    assert at_once.headers["content-type"] == usual.headers["content-type"] == problems.MEDIA_TYPE
    assert at_once.json() == usual.json()
    assert (at_once.json()["reason"], at_once.json()["field"]) == ("refused_here", "code")


def test_a_lean_route_is_documented_as_any(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/items/{name}"]["post"]
    assert {"200", "401", "422"} <= set(operation["responses"])
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Item"
    )
    assert {p["name"] for p in operation["parameters"]} == {"name", "authorization"}


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("BEARER abc", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("", None),
        (None, None),
    ],
)
def test_the_bearer_token_of_a_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_a_large_body_is_fastapis(client: TestClient) -> None:
    padded = b'{"code": "x"' + b" " * lean.LARGEST_BODY + b"}"
    assert _post(client, padded).json()["way"] == "usual"
    assert _post(client, b'{"code": "x"}').json()["way"] == "at once"


def test_a_request_without_a_body_is_the_common_case(client: TestClient) -> None:
    """A GET (no Content-Length, no Transfer-Encoding) is answered at once; the last of a
    repeated query parameter counts, as FastAPI takes it; a chunked body is FastAPI's."""
    assert client.get("/look", params={"q": "abc"}).json() == {"q": "abc", "way": "at once"}
    assert client.get("/look?q=x&q=yz").json() == {"q": "yz", "way": "at once"}
    assert client.get("/look", params={"q": "toolong"}).json()["reason"] == (
        "invalid_string_too_long"
    )
    missing = client.get("/look")
    assert (missing.status_code, missing.json()["reason"]) == (422, "invalid_missing")

    def chunks() -> Any:
        yield b'{"code": "x"}'

    headers = {"Authorization": "Bearer t-1", "Content-Type": "application/json"}
    chunked = client.post("/items/a", content=chunks(), headers=headers)
    assert chunked.json()["way"] == "usual"


def test_a_lean_route_is_matched_under_a_root_path() -> None:
    client = TestClient(_app(), root_path="/node")
    headers = {"Authorization": "Bearer t-1", "Content-Type": "application/json"}
    answer = client.post("/node/items/a", content=b'{"code": "x"}', headers=headers)
    assert answer.json()["way"] == "at once"
