"""拒收通知: a receiver refused a message, and the refusal travels back.

A province's report (receipt, distribution, vaccination, return, damage) travels province →
platform → the trace system owning the codes. When that system answers that it will not take
it (the codes are locked there, already used, held by someone else …), the refusal is final:
the platform makes a :class:`RefusalNotice` and sends it back to the system the report came
from, where it becomes an alert for the CDC or site that did the step; it copies it as a
:class:`RefusalFinding` to the supervision systems of that unit's area.

Payloads: ``{"refusal": RefusalNotice}`` (event subtype :data:`REFUSAL`) to the origin system,
``{"refusal_finding": RefusalFinding}`` to a supervision system. A notice carries codes,
organisations and reasons, never a vaccinee's personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import AwareDatetime, Field, ValidationError

from vaxtrace.core.datasets.elements import DivisionText, Model
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.errors import DomainError
from vaxtrace.core.forwarding import origin_of
from vaxtrace.core.reasons import Reason

REFUSAL = "refusal"
"""The payload key (and envelope event subtype) of a refusal sent back to its origin."""

FINDING = "refusal_finding"
"""The payload key of a refusal copied to a supervision system."""

MAX_CODES = 20
"""Codes a notice names at most; ``code_count`` says how many the refused message held."""

BILL_NAMES = {
    DownstreamBill.RECEIPT.value: "receipt 供应入库",
    DownstreamBill.DISTRIBUTION.value: "distribution 供应出库",
    DownstreamBill.VACCINATION.value: "vaccination 接种",
    DownstreamBill.RETURN.value: "return 退货出库",
    DownstreamBill.DAMAGE.value: "damage 损坏出库",
    DownstreamBill.SCRAP.value: "scrap 报废出库",
    DownstreamBill.DESTRUCTION.value: "destruction 销毁出库",
    "201": "shipping note 销售出库",
}
"""What each bill type is, in words."""

_STOPPED = (
    "The MAH's trace system has these codes {what}: do not use, supply or move them; keep "
    "them apart and ask the MAH (or your regulator) what to do. If a dose was already given, "
    "note the vaccinee for follow-up."
)
_ELSEWHERE = (
    "The MAH's trace system records these codes {what}: check the code's history, and the "
    "receipt and supply that brought them here; if this record is wrong, correct it with a "
    "new record (a return, a damage report), and tell the MAH if theirs is wrong."
)
ADVICE = {
    Reason.LOCKED: _STOPPED.format(what="locked (pending review, to be recalled or abnormal)"),
    Reason.EXPIRED: _STOPPED.format(what="as expired"),
    Reason.NOT_LOT_RELEASED: _STOPPED.format(what="without a lot release (批签发)"),
    Reason.TERMINAL_STATUS: _ELSEWHERE.format(what="as already used, destroyed or otherwise done"),
    Reason.ILLEGAL_TRANSITION: _ELSEWHERE.format(what="in a state that does not allow this step"),
    "gone": _ELSEWHERE.format(what="as held by another organisation"),
    Reason.NOT_HELD: _ELSEWHERE.format(
        what="as held by another organisation (or as another MAH's)"
    ),
    Reason.LISTED_TWICE: (
        "The record lists a container and also codes inside it: record the step again with "
        "each code once."
    ),
    Reason.UNKNOWN_CODE: (
        "The MAH's trace system does not know these codes: check the packs (a misread or "
        "mislabelled pack, or goods of unknown source); do not use them until cleared, and "
        "tell your regulator."
    ),
}
"""What the unit that did the step should do, by the receiver's reason."""

TECHNICAL = (
    "The systems could not agree on this message ({reason}): the step stands here, but the "
    "MAH's system does not have it. Tell the operator of the province system; once mended it "
    "can be sent again (vaxtrace exchange requeue)."
)
"""What to do when the reason is not one a unit can act on (a signature, a format …)."""


def advice_for(reason: str) -> str:
    """What to do about a refusal, in words the CDC's or site's staff can act on."""
    return ADVICE.get(reason) or TECHNICAL.format(reason=reason)


class RefusalNotice(Model):
    """A message refused by its receiver: which, why, about what, and what to do."""

    refused_event_id: str = Field(max_length=36, description="the envelope the receiver refused")
    origin_system_id: str = Field(max_length=60, description="the system the step came from")
    origin_event_id: str = Field(max_length=36, description="the envelope it came in there")
    receiver_system_id: str = Field(max_length=60, description="the system that refused it")
    status: int | None = Field(default=None, ge=400, le=499, description="HTTP status")
    reason: str = Field(min_length=1, max_length=60, description="the receiver's reason code")
    field: str | None = Field(default=None, max_length=300, description="the field at fault")
    detail: str = Field(max_length=1000, description="the receiver's words")
    bill_type: str | None = Field(default=None, max_length=3, description="单据类型")
    document_no: str | None = Field(default=None, max_length=60, description="单据号")
    org_uscc: str | None = Field(
        default=None, max_length=18, description="业务单位 the CDC or site that did the step"
    )
    codes: tuple[str, ...] = Field(
        default=(), max_length=MAX_CODES, description="追溯码 the first codes of the message"
    )
    code_count: int = Field(ge=0, le=1_000_000, description="codes the message held")
    advice: str = Field(max_length=1000, description="what to do")
    refused_at: AwareDatetime


class RefusalFinding(RefusalNotice):
    """A refusal as a supervision system keeps it: where the unit that did the step is."""

    division_code: DivisionText = Field(description="行政区划 of the unit that did the step")


class AlertState(StrEnum):
    """Where a refusal alert stands at the unit that did the step."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class Acknowledgement(Model):
    """The unit's staff have seen an alert and taken it in hand."""

    note: str | None = Field(
        default=None, max_length=500, description="what was done, e.g. 已隔离待厂家答复"
    )


def notice_of(
    payload: Mapping[str, Any],
    *,
    refused_event_id: str,
    sender: str,
    data_owner: str,
    receiver: str,
    refusal: tuple[int | None, str, str | None, str],
    at: datetime,
) -> RefusalNotice:
    """The notice of a refused message, from its payload (a province's report or a shipping
    note, as forwarded or as sent) and the receiver's answer ``refusal``: (HTTP status, reason,
    field, detail). The origin is the system and envelope named in ``forwarded_from``; a
    message not forwarded is its own origin (``sender``, ``refused_event_id``)."""
    status, reason, field, detail = refusal
    origin = origin_of(payload, sender=sender, event_id=refused_event_id)
    document = _document(payload)
    codes = [str(c) for c in document.get("codes") or ()]
    reason = (reason or "refused")[:60]
    return RefusalNotice(
        refused_event_id=refused_event_id,
        origin_system_id=origin.system_id[:60],
        origin_event_id=origin.event_id[:36],
        receiver_system_id=receiver[:60],
        status=status if status is not None and 400 <= status <= 499 else None,
        reason=reason,
        field=None if field is None else field[:300],
        detail=(detail or reason)[:1000],
        bill_type=_text(document.get("bill_type"), 3),
        document_no=_text(document.get("document_no"), 60),
        org_uscc=_text(document.get("org_uscc"), 18) or data_owner[:18] or None,
        codes=tuple(codes[:MAX_CODES]),
        code_count=len(codes),
        advice=advice_for(reason),
        refused_at=at,
    )


def _document(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The business document a payload carries: a report, a note (bill 201), a step copy, a
    safety signal (a MAH's or a regulator's lock …)."""
    for key in ("downstream_event", "supervised_step", "safety_signal"):
        found = payload.get(key)
        if isinstance(found, Mapping):
            return found
    note = payload.get("shipping_note")
    if isinstance(note, Mapping):
        return {"bill_type": "201"} | dict(note)
    return {}


def _text(value: Any, limit: int) -> str | None:
    return None if value is None or value == "" else str(value)[:limit]


Notice = TypeVar("Notice", bound=RefusalNotice)


def read_refusal(kind: type[Notice], value: Any, reason: Reason, field: str) -> Notice:
    """A refusal (or its copy, as ``kind``) sent in ``field``, whole and naming the unit that
    did the step; refused for ``reason`` otherwise."""
    try:
        notice = kind.model_validate(value)
    except ValidationError as exc:
        raise DomainError(
            reason, f"{field} is not a whole refusal: {exc.errors()[0]['msg']}", field=field
        ) from exc
    if not notice.org_uscc:
        raise DomainError(
            reason, "a refusal names the unit that did the step", field=f"{field}.org_uscc"
        )
    return notice


def refusal_fields(row: Mapping[Any, Any], notice: Mapping[str, Any]) -> dict[str, Any]:
    """What every view of a refusal shows of it: the step's bill and document, its codes,
    the receiver's reason and words (``row`` a kept refusal, ``notice`` what it carried)."""
    return {
        "bill_type": row["bill_type"],
        "bill": BILL_NAMES.get(row["bill_type"] or ""),
        "document_no": row["document_no"],
        "codes": list(notice.get("codes") or []),
        "code_count": int(notice.get("code_count") or 0),
        "reason": row["reason"],
        "field": notice.get("field"),
        "detail": notice.get("detail"),
    }
