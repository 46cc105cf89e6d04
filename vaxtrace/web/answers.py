"""How a write answers over HTTP: 201 when it wrote, 200 when it answered a retry again (with
``Idempotent-Replayed: true``), the write's body either way."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Response
from pydantic import BaseModel, ValidationError

from vaxtrace.core.errors import DomainError
from vaxtrace.core.receipt import ScanDecision, ScanResult
from vaxtrace.store.write_frame import WriteResult
from vaxtrace.web.lean import json_answer
from vaxtrace.web.problems import problem, status_of_reason


def mark_replayed(response: Response, replayed: bool) -> None:
    response.status_code = 200 if replayed else 201
    response.headers["Idempotent-Replayed"] = "true" if replayed else "false"


def write_answer(result: WriteResult, response: Response) -> dict[str, Any]:
    mark_replayed(response, result.replayed)
    return result.body


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


def file_answer(content: bytes, media_type: str, name: str) -> Response:
    """A file answered to be shown in place (a PDF, a CSV), named ``name`` if saved."""
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
