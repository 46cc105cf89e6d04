"""What the exchange carries (数据交换的单据): which system may send which document, the
checks of an envelope's one document, and the step of the chain it records."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from vaxtrace.core.documents import read_document
from vaxtrace.core.downstream import DownstreamEvent, read_event
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recalls import NOTICE, RecallNotice, read_notice
from vaxtrace.core.registry import SystemRole
from vaxtrace.core.signals import SafetySignal, read_signal
from vaxtrace.core.supervision import SHIPPING_NOTE, ExcursionReport, Step, TraceFact
from vaxtrace.exchange.envelope import Ed25519Verifier, Opened

DOCUMENTS = {
    "shipping_note": SystemRole.TRACE.value,
    "downstream_event": SystemRole.IMMUNIZATION.value,
    "safety_signal": SystemRole.TRACE.value,
    "trace_fact": SystemRole.TRACE.value,
    "excursion_report": SystemRole.IMMUNIZATION.value,
    NOTICE: SystemRole.SUPERVISION.value,
}
"""What the exchange carries, and the role of system that may send it (a trace fact and an
excursion report go to the supervision systems only; a recall notice stays at the platform,
for its public entry)."""

Report = DownstreamEvent | SafetySignal | TraceFact | ExcursionReport | RecallNotice | None
"""A document as read (None: a shipping note, read as a step by :func:`step_of`)."""


def exchange_verifier(system: Any, alg: str, key_id: str) -> Ed25519Verifier | None:
    """The registered exchange key of a system, if the envelope names it."""
    key = system.get("exchange_key")
    if not key or alg != "Ed25519":
        return None
    verifier = Ed25519Verifier.from_text(key)
    return verifier if verifier.key_id == key_id else None


def checked_document(opened: Opened, role: str) -> Report:
    """Check the one document an envelope carries (only the systems that make it may send
    it); answers a province's report or a MAH's safety signal read, None for a shipping
    note."""
    payload = opened.payload
    kinds = [k for k in DOCUMENTS if isinstance(payload, dict) and k in payload]
    if len(kinds) != 1:
        raise DomainError(
            Reason.UNKNOWN_DOCUMENT,
            f"the payload carries one of {', '.join(DOCUMENTS)}",
            field="payload",
        )
    if DOCUMENTS[kinds[0]] != role:
        raise DomainError(
            Reason.WRONG_SENDER_ROLE,
            f"a {kinds[0]} comes from a {DOCUMENTS[kinds[0]]} system, not a {role} system",
            field="payload",
        )
    if kinds[0] == "shipping_note":
        return None
    if kinds[0] == NOTICE:
        return read_notice(payload)
    if kinds[0] == "trace_fact":
        return read_document(payload, "trace_fact", TraceFact)
    if kinds[0] == "excursion_report":
        report = read_document(payload, "excursion_report", ExcursionReport)
        _owned_by(
            opened,
            report.org_uscc,
            "a province reports for the organisation whose cold chain it was (data_owner)",
            "payload.excursion_report.org_uscc",
        )
        return report
    if kinds[0] == "safety_signal":
        signal = read_signal(payload)
        _owned_by(
            opened,
            signal.mah_uscc,
            "a MAH's signal concerns that MAH's goods (data_owner)",
            "payload.safety_signal.mah_uscc",
        )
        return signal
    event = read_event(payload)
    _owned_by(
        opened,
        event.org_uscc,
        "a province reports for the organisation that did the step (data_owner)",
        "payload.downstream_event.org_uscc",
    )
    return event


def _owned_by(opened: Opened, owner: str, rule: str, field: str) -> None:
    """Refuse a document whose owner is not the envelope's data owner."""
    if owner != opened.header["data_owner"]:
        raise DomainError(Reason.OWNER_MISMATCH, rule, field=field)


def step_of(
    opened: Opened, report: DownstreamEvent | TraceFact | ExcursionReport | None
) -> tuple[Step, str]:
    """The step an envelope records, and whose place it happened at (a report's doer, a
    MAH's fact at the MAH, a note's consignee). A report was read in full already; a note
    lacking what a step needs, or with values no step can have, is refused."""
    if isinstance(report, TraceFact):
        owner = str(opened.header["data_owner"])
        return report.step(owner), owner
    if isinstance(report, ExcursionReport):
        return report.step(), report.org_uscc
    if report is not None:
        fields = report.model_dump(include={"document_no", "business_time", "codes"})
        # whom a receipt, supply or return was with: where a recalled unit went (no person)
        other = report.counterparty_uscc
        step = Step.model_construct(
            bill_type=report.bill_type.value,
            org_uscc=report.org_uscc,
            detail=None if other is None else {"counterparty_uscc": other},
            **fields,
        )
        return step, report.org_uscc
    note = opened.payload["shipping_note"]
    try:
        step = Step.model_validate(
            {
                "bill_type": SHIPPING_NOTE,
                "org_uscc": opened.header["data_owner"],
                "document_no": note["document_no"],
                "business_time": note["business_time"],
                "codes": note["codes"],
                "contents": note.get("contents"),
            }
        )
        return step, str(note["consignee_uscc"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise DomainError(
            Reason.MALFORMED_NOTE,
            f"a shipping note names its consignee, number, time and codes: {exc}",
            field="payload.shipping_note",
        ) from exc
