"""RFC 9457 problem details for every refusal, with the field at fault and a reason code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vaxtrace.core.dose_gate import DoseRefused
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import DoseReason, Reason
from vaxtrace.store.engine import connection_lost

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


STATUS_OF_ANY_OTHER = 422
"""The status of a reason the map does not name (pydantic's ``invalid_*``, another
system's reason this version does not know): the request itself is at fault."""

STATUS: dict[str, int] = {
    Reason.ACCOUNT_LOCKED: 429,
    Reason.ALREADY_BOOKED: 409,
    Reason.ALREADY_COMMISSIONED: 409,
    Reason.ALREADY_IN_STOCK: 409,
    Reason.ALREADY_PACKED: 409,
    Reason.ALREADY_RELEASED: 409,
    Reason.ALREADY_REPLACED: 409,
    Reason.ALREADY_SHIPPED: 409,
    Reason.ALREADY_UNDONE: 409,
    Reason.ALREADY_USED: 409,
    Reason.AMBIGUOUS_NOTE: 409,
    Reason.BAD_COSIGNATURE: 422,
    Reason.BAD_EVENT_TYPE: 422,
    Reason.BAD_SIGNATURE: 422,
    Reason.BAD_SYSTEM_ID: 422,
    Reason.BAD_TREE_SIZES: 422,
    Reason.BATCH_EXISTS: 409,
    Reason.BATCH_INSPECTED: 409,
    Reason.BATCH_MISMATCH: 422,
    Reason.BATCH_NOT_SEEN: 404,
    Reason.BATCH_SIZE: 422,
    Reason.BEFORE_LOT_RELEASE: 422,
    Reason.BEFORE_PREVIOUS_STEP: 422,
    Reason.BEFORE_PRODUCTION: 422,
    Reason.BEFORE_SHIPMENT: 422,
    Reason.BIRTH_IN_FUTURE: 422,
    Reason.BODY_TOO_LARGE: 413,
    Reason.BOOKING_CANCELLED: 409,
    Reason.BUSY: 503,
    Reason.CA_EXISTS: 409,
    Reason.CARD_NUMBER_TAKEN: 409,
    Reason.CERTIFICATE_FILE_MISMATCH: 409,
    Reason.CERTIFICATE_MISMATCH: 403,
    Reason.CERTIFICATE_REVOKED: 403,
    Reason.CERTIFICATE_TOO_LARGE: 422,
    Reason.CHILD_MERGED: 409,
    Reason.CHILD_MOVED_OUT: 409,
    Reason.CLIENT_DOCUMENT_ID_REUSED: 409,
    Reason.CODE_NOT_SEEN: 404,
    Reason.CONSIGNEE_NOT_CDC: 422,
    Reason.CONTROL_CHARACTER: 422,
    Reason.DAMAGED: 409,
    Reason.DATABASE_UNAVAILABLE: 503,
    Reason.DESTROYED: 409,
    Reason.DOSE_AFTER_ASSESSMENT: 422,
    Reason.DOSE_BEFORE_BIRTH: 422,
    Reason.DOSE_NOT_DUE: 409,
    Reason.DUPLICATE_CODE: 422,
    Reason.DUPLICATE_CONTACT: 422,
    Reason.DUPLICATE_READING_TIME: 422,
    Reason.EMPTY_ROSTER: 422,
    Reason.EXCEEDS_BATCH_QUANTITY: 422,
    Reason.EXCURSION_DECIDED: 409,
    Reason.EXPIRED: 409,
    Reason.FAMILY_MISMATCH: 422,
    Reason.FILE_NOT_UTF8: 422,
    Reason.FILE_TOO_LARGE: 422,
    Reason.IDENTIFICATION_CODE_TAKEN: 409,
    Reason.ILLEGAL_TRANSITION: 409,
    Reason.IMPLAUSIBLE_TEMPERATURE: 422,
    Reason.IN_FUTURE: 422,
    Reason.IN_TRANSIT: 409,
    Reason.INVALID_CARD_NUMBER: 422,
    Reason.INVALID_CELSIUS: 422,
    Reason.INVALID_CREDENTIALS: 401,
    Reason.INVALID_DATETIME: 422,
    Reason.INVALID_PHONE: 422,
    Reason.INVALID_RESIDENT_ID: 422,
    Reason.INVALID_SEX: 422,
    Reason.INVALID_TIME: 422,
    Reason.INVALID_UTF8: 400,
    Reason.LEVEL_MISMATCH: 422,
    Reason.LISTED_TWICE: 409,
    Reason.LOCK_NOT_FOUND: 404,
    Reason.LOCK_NOT_PENDING: 409,
    Reason.LOCKED: 409,
    Reason.MALFORMED_DOCUMENT: 422,
    Reason.MALFORMED_ENVELOPE: 422,
    Reason.MALFORMED_FINDING: 422,
    Reason.MALFORMED_NOTE: 422,
    Reason.MALFORMED_PAYLOAD: 422,
    Reason.MALFORMED_REFUSAL: 422,
    Reason.MALFORMED_SCHEDULE: 422,
    Reason.MALFORMED_STEP: 422,
    Reason.MERGE_WITH_SELF: 422,
    Reason.MISSING_CERTIFICATE: 422,
    Reason.MISSING_COLUMN: 422,
    Reason.MISSING_CUSTOMS_CLEARANCE: 422,
    Reason.MISSING_VALUE: 422,
    Reason.MIXED_BATCH: 422,
    Reason.MOVE_TO_SELF: 422,
    Reason.NAME_ABBREVIATED: 422,
    Reason.NOT_YOUR_CHECK: 403,
    Reason.NO_CA: 404,
    Reason.NO_CHECKPOINT: 404,
    Reason.NO_LOT_RELEASE: 404,
    Reason.NO_PDF_FONT: 503,
    Reason.NO_READINGS: 422,
    Reason.NO_RULE: 404,
    Reason.NO_RULES_IN_FORCE: 422,
    Reason.NO_TEMPERATURE_RECORD: 409,
    Reason.NOT_A_CDC: 403,
    Reason.NOT_A_DEAD_LETTER: 404,
    Reason.NOT_A_GUARDIAN: 422,
    Reason.NOT_A_HOLDER: 403,
    Reason.NOT_A_LOWER_CDC: 422,
    Reason.NOT_A_PROVINCE_UNIT: 422,
    Reason.NOT_A_REGULATOR: 422,
    Reason.NOT_A_SYSTEM_CERTIFICATE: 422,
    Reason.NOT_A_TRACE_SYSTEM: 403,
    Reason.NOT_COMMISSIONED: 404,
    Reason.NOT_HELD: 409,
    Reason.NOT_IN_CODING_RULE: 422,
    Reason.NOT_IN_CONTAINER: 422,
    Reason.NOT_IN_RECALL: 409,
    Reason.NOT_IN_YOUR_STOCK: 404,
    Reason.NOT_LOT_RELEASED: 409,
    Reason.NOT_OUR_CERTIFICATE: 422,
    Reason.NOT_OUR_CHECKPOINT: 409,
    Reason.NOT_REPRESENTED: 403,
    Reason.NOT_SELF_INSPECTED: 422,
    Reason.NOT_THE_PLATFORM: 403,
    Reason.NOT_THE_RECORDER: 403,
    Reason.NOT_THE_SUPPLIER: 409,
    Reason.NOT_UP_THE_CHAIN: 422,
    Reason.NOT_YOUR_APPOINTMENT: 403,
    Reason.NOT_YOUR_CHILD: 403,
    Reason.NOT_YOUR_EXCURSION: 403,
    Reason.NOT_YOUR_PRODUCT: 422,
    Reason.NOT_YOUR_SITE: 403,
    Reason.NOTE_CLOSED: 409,
    Reason.NOTHING_NEW: 409,
    Reason.NOTHING_SCANNED: 422,
    Reason.OUT_OF_RANGE: 422,
    Reason.OUTSIDE_JURISDICTION: 422,
    Reason.OUTSIDE_OPENING_HOURS: 422,
    Reason.OVER_CAPACITY: 422,
    Reason.OVERLAPPING_RULE: 409,
    Reason.OWNER_FAILED: 503,
    Reason.OWNER_MISMATCH: 403,
    Reason.OWNER_UNAVAILABLE: 503,
    Reason.OWNER_UNREACHABLE: 503,
    Reason.PASSWORD_CHANGE_REQUIRED: 403,
    Reason.PAYLOAD_MISMATCH: 422,
    Reason.PAYLOAD_TOO_LARGE: 422,
    Reason.PHONE_NOT_A_GUARDIAN: 422,
    Reason.PLATFORM_FAILED: 503,
    Reason.PLATFORM_UNAVAILABLE: 503,
    Reason.PLATFORM_UNREACHABLE: 503,
    Reason.POSSIBLE_DUPLICATE: 409,
    Reason.PRODUCT_EXISTS: 409,
    Reason.QUANTITY_MISMATCH: 422,
    Reason.READING_CONFLICT: 409,
    Reason.READING_IN_THE_FUTURE: 422,
    Reason.READINGS_OUT_OF_ORDER: 422,
    Reason.REASON_REQUIRED: 422,
    Reason.RECALL_CLOSED: 409,
    Reason.RECALL_EXISTS: 409,
    Reason.RECALL_INCOMPLETE: 409,
    Reason.RECALL_OUTSIDE_AREA: 403,
    Reason.RECALLED: 409,
    Reason.RESIDENT_ID_MISMATCH: 422,
    Reason.RETURN_NOT_TO_CDC: 422,
    Reason.RETURN_TO_SELF: 422,
    Reason.RETURNED: 409,
    Reason.SCRAPPED: 409,
    Reason.SENDER_MISMATCH: 403,
    Reason.SHIPPING_NOTE_EXISTS: 409,
    Reason.SLOT_CHANGED: 409,
    Reason.SLOT_FULL: 409,
    Reason.SLOT_IN_PAST: 409,
    Reason.STALE_SEQUENCE: 409,
    Reason.STOCK_CHANGED: 409,
    Reason.SUPPLIER_NOT_CDC: 422,
    Reason.SUPPLY_TO_SELF: 422,
    Reason.TEMPERATURE_OUT_OF_RANGE: 409,
    Reason.TERMINAL_STATUS: 409,
    Reason.TIME_OUT_OF_RANGE: 422,
    Reason.TIME_WITHOUT_TIMEZONE: 422,
    Reason.TIMEZONE_MISSING: 422,
    Reason.TOO_DEEPLY_NESTED: 400,
    Reason.TOO_MANY_ROWS: 422,
    Reason.TWO_PARENTS: 409,
    Reason.UNDO_WINDOW_PASSED: 409,
    Reason.UNKNOWN_ALERT: 404,
    Reason.UNKNOWN_APPOINTMENT: 404,
    Reason.UNKNOWN_BATCH: 404,
    Reason.UNKNOWN_CHECK: 404,
    Reason.UNKNOWN_CHILD: 404,
    Reason.UNKNOWN_CODE: 422,
    Reason.UNKNOWN_CONSIGNEE: 422,
    Reason.UNKNOWN_DOCUMENT: 422,
    Reason.UNKNOWN_EVENT: 404,
    Reason.UNKNOWN_LOG: 404,
    Reason.UNKNOWN_EXCURSION: 404,
    Reason.UNKNOWN_IDENTIFICATION_CODE: 422,
    Reason.UNKNOWN_KEY: 422,
    Reason.UNKNOWN_MAH: 404,
    Reason.UNKNOWN_OPT_OUT_TOKEN: 404,
    Reason.UNKNOWN_NOTE: 404,
    Reason.UNKNOWN_ORGANISATION: 404,
    Reason.UNKNOWN_PARENT: 422,
    Reason.UNKNOWN_PRODUCT: 404,
    Reason.UNKNOWN_PRODUCT_CLASS: 422,
    Reason.UNKNOWN_RECALL: 404,
    Reason.UNKNOWN_REGULATOR: 404,
    Reason.UNKNOWN_RULE: 422,
    Reason.UNKNOWN_SLOT: 404,
    Reason.UNKNOWN_SYSTEM: 403,
    Reason.UNKNOWN_VACCINATION: 404,
    Reason.UNKNOWN_VACCINE: 422,
    Reason.UNKNOWN_WITNESS: 422,
    Reason.UNREADABLE_BODY: 400,
    Reason.UNREADABLE_FILE: 422,
    Reason.UNSIGNED_ENVELOPE: 422,
    Reason.UNSUPPORTED_ENCODING: 422,
    Reason.UNSUPPORTED_VERSION: 422,
    Reason.VACCINE_MISMATCH: 422,
    Reason.WEAK_PASSWORD: 422,
    Reason.WRITE_CONFLICT: 409,
    Reason.WRONG_CONSIGNEE: 403,
    Reason.WRONG_ORGANISATION_KIND: 422,
    Reason.WRONG_SENDER_ROLE: 403,
    DoseReason.COLD_CHAIN_EXCURSION: 409,
    DoseReason.EXPIRY_MISMATCH: 409,
    DoseReason.LOT_MISMATCH: 409,
    DoseReason.NO_BATCH_DATA: 409,
    DoseReason.NOT_A_DOSE: 422,
    DoseReason.OUT_OF_STOCK: 409,
    DoseReason.IN_TRANSIT: 409,
    DoseReason.STATUS_NOT_NORMAL: 409,
}
"""The HTTP status of each reason code (vaxtrace.core.reasons), the one place it is decided."""


def status_of_reason(reason: str) -> int:
    return STATUS.get(reason, STATUS_OF_ANY_OTHER)


REFUSED_DOSE_STATUS: dict[str, int] = {DoseReason.UNKNOWN_CODE: 422, DoseReason.NOT_A_DOSE: 422}
"""A dose the gate stops (:class:`DoseRefused`) answers 409, its state clashing with the
step, whatever its first reason (a missing lot release is not a missing resource), except
where the scan is not of a dose of this province at all (422)."""


def status_of(error: DomainError) -> int:
    if isinstance(error, DoseRefused):
        return REFUSED_DOSE_STATUS.get(error.reason, 409)
    return status_of_reason(error.reason)


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

    @app.exception_handler(DBAPIError)
    async def _database(_request: Request, exc: DBAPIError) -> JSONResponse:
        if not connection_lost(exc):
            raise exc  # a fault of ours: a server error, logged as one
        reason = Reason.DATABASE_UNAVAILABLE
        detail = "the database connection was lost (a restart or failover); try again shortly"
        response = problem(503, reason, reason.replace("_", " "), detail)
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_problem(exc)


class BodyRefused(StarletteHTTPException):
    """A request body refused before or while it is read (too large, not UTF-8, nested too
    deep), with its reason: raised where the body is read, answered as any HTTP error."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(status_of_reason(reason), detail)
        self.reason = reason


HTTP_REASONS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


def _http_reason(exc: StarletteHTTPException) -> str:
    """A refused body's own reason; why FastAPI could not parse a body (it says 400 and
    keeps the cause); else the status's word."""
    if isinstance(exc, BodyRefused):
        return exc.reason
    if exc.status_code == 400 and exc.__cause__ is not None:
        if isinstance(exc.__cause__, UnicodeDecodeError):
            return Reason.INVALID_UTF8
        if isinstance(exc.__cause__, RecursionError):
            return Reason.TOO_DEEPLY_NESTED
        return Reason.UNREADABLE_BODY
    return HTTP_REASONS.get(exc.status_code, "http_error")


def http_problem(exc: StarletteHTTPException) -> JSONResponse:
    """An HTTP error (of FastAPI, of a dependency, of a refused body) as problem+json."""
    reason = _http_reason(exc)
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


STAFF_PROBLEMS = {
    401: "no or unknown bearer token",
    403: "another unit's, or another user's, to act on",
    404: "no such thing at your unit",
    409: "it clashes with what is recorded (the reason says what)",
    422: "a field refused (named in `field`); nothing written",
}
"""What a staff route's problem answers mean, by status."""


def staff_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the problem answers (RFC 9457) a staff route gives."""
    return problem_responses({status: STAFF_PROBLEMS[status] for status in statuses})


def file_responses(meanings: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route that answers a file as filed, or the problems of
    ``meanings``."""
    filed = {"description": "the certificate file, as filed", "content": {"*/*": {}}}
    return problem_responses(meanings) | {200: filed}
