"""RFC 9457 problem details for every refusal, with the field at fault and a reason code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vaxtrace.core.errors import Conflict, DomainError, Forbidden, NotFound, Unavailable

PROBLEM_BASE = "https://vaxtrace.example/problems/"
MEDIA_TYPE = "application/problem+json"


def problem(
    status: int, reason: str, title: str, detail: str, field: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + reason,
        "title": title,
        "status": status,
        "detail": detail,
        "reason": reason,
    }
    if field is not None:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def status_of(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, Unavailable):
        return 503
    return 422


REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def _field(loc: Sequence[Any], error_type: str) -> str:
    """The field a validation error names, without where in the request it was sent."""
    if error_type == "json_invalid":
        return ""  # the location is a character offset into unparseable JSON, not a field
    parts = list(loc[1:] if loc and loc[0] in REQUEST_PARTS else loc)
    return ".".join(str(p) for p in parts)


def _domain_cause(error: Any) -> DomainError | None:
    cause = error.get("ctx", {}).get("error")
    return cause if isinstance(cause, DomainError) else None


def _reason(error: Any) -> str:
    """A domain rule's own reason when a validator raised it, else pydantic's error type."""
    cause = _domain_cause(error)
    return cause.reason if cause is not None else str(error["type"])


def install(app: FastAPI) -> None:
    """Make every error answer problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return problem(
            status_of(exc),
            exc.reason,
            exc.reason.replace("_", " "),
            exc.message,
            exc.field,
            **exc.details,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(e["loc"], e["type"]), "reason": _reason(e), "detail": e["msg"]}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "reason": "invalid", "detail": "invalid"}
        domain = bool(exc.errors()) and _domain_cause(exc.errors()[0]) is not None
        return problem(
            422,
            str(first["reason"]) if domain else "invalid_" + str(first["reason"]).replace(".", "_"),
            "invalid request",
            f"{first['field']}: {first['detail']}" if first["field"] else str(first["detail"]),
            str(first["field"] or "") or None,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
        }.get(exc.status_code, "http_error")
        response = problem(exc.status_code, reason, reason.replace("_", " "), str(exc.detail))
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "reason"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "reason": {"type": "string", "description": "why, as a code a program can act on"},
        "field": {"type": "string", "description": "the input at fault, if one is"},
    },
}
"""An RFC 9457 problem as :func:`problem` writes it, for OpenAPI."""


def problem_responses(meanings: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route for the problems it answers with: each status, with
    what it means there, as problem+json."""
    return {
        status: {
            "description": f"{HTTPStatus(status).phrase}: {meaning}",
            "content": {MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status, meaning in meanings.items()
    }
