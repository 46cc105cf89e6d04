"""What the immunization role's routes share: their path and query parameters, the problems
they document (RFC 9457), and the answers built from a decision (a scan's, a form's model)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Path, Query, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from vaxtrace.core.errors import DomainError
from vaxtrace.core.receipt import ScanDecision, ScanResult
from vaxtrace.web.lean import json_answer
from vaxtrace.web.problems import problem, problem_responses, status_of_reason

NoteNo = Annotated[str, Path(min_length=1, max_length=60, description="发货单号")]
NOTE_NO: TypeAdapter[str] = TypeAdapter(NoteNo)
ExcursionId = Annotated[int, Path(ge=1, le=2**63 - 1, description="温度超标编号")]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the alert's id")]


STAFF_PROBLEMS = {
    401: "no or unknown bearer token",
    403: "another unit's, or another user's, to act on",
    404: "no such thing at your unit",
    409: "it clashes with what is recorded (the reason says what)",
    422: "a field refused (named in `field`); nothing written",
}
"""What a staff route's problem answers mean, by status."""


def problems_of(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the problem answers (RFC 9457) a staff route gives."""
    return problem_responses({status: STAFF_PROBLEMS[status] for status in statuses})


BatchNo = Annotated[str, Path(min_length=1, max_length=20, description="批号")]
CERTIFICATE_PROBLEMS = {
    401: "no or unknown bearer token",
    404: "the province holds and expects no goods of the batch (`unknown_batch`), or no lot "
    "release of it is on file (`no_lot_release`)",
    409: "the certificate received is not the one the batch data named "
    "(`certificate_file_mismatch`): do not rely on it",
    503: "the platform or the MAH's trace system did not answer; try again shortly",
}
"""What a certificate ask answers besides the file, for OpenAPI."""

ShipperUscc = Annotated[
    str | None,
    Query(description="发货单位 (a MAH or a CDC): only when two shippers' notes share a number"),
]
MahUscc = Annotated[str | None, Query(deprecated=True, description="the shipper, as before")]


def scan_answer(note_no: str, decision: ScanDecision) -> Response:
    """Accepted 201, repeat 200 (nothing new), rejected as a problem naming why; every scan
    is kept in the audit either way."""
    unusable = f"; not usable: {', '.join(decision.flags)}" if decision.flags else ""
    body = {
        "note_no": note_no,
        "result": decision.result.value,
        "reason": decision.reason.value,
        "code": decision.code,
        "message": decision.message + unusable,
        "flags": list(decision.flags),
    }
    if decision.result is ScanResult.REJECTED:
        status = status_of_reason(decision.reason)
        field = "code" if status == 422 else None  # else the note, not the code, is at fault
        return problem(
            status,
            decision.reason.value,
            "scan rejected",
            decision.message,
            field,
            result=decision.result.value,
            note_no=note_no,
            code=decision.code,
        )
    return json_answer(body, 201 if decision.result is ScanResult.ACCEPTED else 200)


Form_ = TypeVar("Form_", bound=BaseModel)


def form_model(model: type[Form_], fields: dict[str, Any]) -> Form_:
    """A model from a multipart form's fields, refused as the JSON body's would be."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise DomainError(
            "invalid_" + first["type"], f"{field}: {first['msg']}", field=field
        ) from exc
