"""Answers as documented: every operation of the OpenAPI document lists each status it can
answer, its problems as ``application/problem+json`` (:data:`~vaxtrace.web.problems.
PROBLEM_SCHEMA`); and the interactive docs (/docs, /redoc) load from the npm packages
``swagger-ui-dist`` and ``redoc`` that scripts/setup.sh installs (no CDN).

The statuses are derived from each route once, when the document is first asked for, rather
than written on every route: who calls (:func:`vaxtrace.web.bodies.callers`) → 401, and 403
for a system (a revoked certificate); a body → 400, 413, 422; any parameter → 422; naming
something (in the path, a required query parameter, the body) → 404; a write → 409; a 201 →
200 on an idempotent replay. What a route declares itself (``responses=``) stays, its problems
given the problem schema.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse

import vaxtrace
from vaxtrace.settings import Settings
from vaxtrace.web import identity
from vaxtrace.web.bodies import callers
from vaxtrace.web.lean import route_contexts
from vaxtrace.web.problems import MEDIA_TYPE, PROBLEM_SCHEMA

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

MEANINGS = {
    400: "the body is not readable: not UTF-8, not JSON, nested too deep (the reason says)",
    401: "no or an unknown bearer token, or no client certificate",
    403: "not yours to see or do (the reason says why)",
    404: "no such thing (the reason says what)",
    409: "it clashes with what is recorded (the reason says what)",
    413: "the body is larger than this route takes",
    422: "a field refused (named in `field`); nothing written",
}
"""What a problem of each status means on any route; a route's own words come first."""

ASSETS = {
    "swagger-ui": (
        "swagger-ui-dist",
        ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"),
    ),
    "redoc": ("redoc", ("bundles/redoc.standalone.js",)),
}
"""The files /docs and /redoc load, by the npm package they come from."""

DEFAULT_ASSETS_DIR = Path(vaxtrace.__file__).resolve().parent.parent / "node_modules"


def statuses(route: Any) -> set[int]:
    """The problem statuses ``route`` may answer, from what it takes and who may call it."""
    found: set[int] = set()
    methods = set(route.methods or ())
    params = route.dependant
    has_params = bool(
        params.path_params or params.query_params or params.header_params or route.body_field
    )
    for call in callers(route):
        found |= {401, 403} if call == identity.system_identity.__name__ else {401}
    if route.body_field is not None:
        found |= {400, 413, 422}
    if has_params:
        found.add(422)
    required_query = any(p.field_info.is_required() for p in params.query_params)
    if params.path_params or required_query or route.body_field is not None:
        found.add(404)  # what it names may not be there (an optional query only filters)
    if methods & WRITES:
        found.add(409)
    return found


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}


def _document(operation: dict[str, Any], route: Any) -> None:
    """List every status of ``operation``; every problem as problem+json."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in statuses(route):
        responses.setdefault(str(status), {"description": ""})
    if "201" in responses and "200" not in responses:
        replay = dict(responses["201"])
        replay["description"] = "a retry of a write already made, answered again (replayed)"
        responses["200"] = replay
    for code, answer in responses.items():
        if code.isdigit() and int(code) >= 400:
            status = int(code)
            meaning = answer.get("description") or MEANINGS.get(status, "")
            if not meaning or meaning == "Validation Error":
                meaning = MEANINGS.get(status, HTTPStatus(status).phrase)
            responses[code] = _problem(meaning)
    operation["responses"] = dict(sorted(responses.items()))


def _unused_schemas(document: dict[str, Any]) -> None:
    """Drop FastAPI's validation error schemas, which no answer uses any more."""
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, every operation's answers listed (see the module)."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        paths = document.get("paths", {})
        for route in route_contexts(app):
            if getattr(route, "include_in_schema", False) and hasattr(route, "dependant"):
                for method in route.methods or ():
                    operation = paths.get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        _document(operation, route)
        _unused_schemas(document)
        app.openapi_schema = document
    return app.openapi_schema


def install(app: FastAPI, settings: Settings) -> None:
    """The app's document as :func:`openapi` writes it; /docs and /redoc from local assets."""
    app.openapi = lambda: openapi(app)  # type: ignore[method-assign]
    assets = settings.docs_assets_dir or DEFAULT_ASSETS_DIR
    local = {
        f"{name}/{file}": assets / package / file
        for name, (package, files) in ASSETS.items()
        for file in files
    }

    @app.get("/docs/assets/{asset:path}", include_in_schema=False)
    def docs_asset(asset: str) -> FileResponse:
        path = local.get(asset)
        if path is None or not path.is_file():
            raise HTTPException(404, f"no docs asset {asset} (scripts/setup.sh installs them)")
        return FileResponse(path)

    for path, render in _pages(app).items():
        app.add_api_route(path, _page(render), methods=["GET"], include_in_schema=False)


def _asset_url(name: str, file: str) -> str:
    return f"/docs/assets/{name}/{file}"


def _pages(app: FastAPI) -> dict[str, Callable[[], HTMLResponse]]:
    """/docs (Swagger UI) and /redoc, each loading the app's document and its local assets."""
    document = app.openapi_url or "/openapi.json"
    favicon = _asset_url("swagger-ui", "favicon-32x32.png")
    return {
        "/docs": partial(
            get_swagger_ui_html,
            openapi_url=document,
            title=f"{app.title} — Swagger UI",
            swagger_js_url=_asset_url("swagger-ui", "swagger-ui-bundle.js"),
            swagger_css_url=_asset_url("swagger-ui", "swagger-ui.css"),
            swagger_favicon_url=favicon,
        ),
        "/redoc": partial(
            get_redoc_html,
            openapi_url=document,
            title=f"{app.title} — ReDoc",
            redoc_js_url=_asset_url("redoc", "bundles/redoc.standalone.js"),
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        ),
    }


def _page(render: Callable[[], HTMLResponse]) -> Callable[[], HTMLResponse]:
    def page() -> HTMLResponse:
        return render()

    return page
