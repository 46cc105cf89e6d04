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
excursion report go to the supervision systems only; a supervision system sends its
regulators' own locks as safety signals too; a recall notice stays at the platform, for its
public entry)."""

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
    if kinds[0] == "safety_signal" and role == SystemRole.SUPERVISION.value:
        return _regulator_signal(opened)
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
        if signal.issued_by is not None:
            raise DomainError(
                Reason.WRONG_SENDER_ROLE,
                "a regulator's signal comes from a supervision system",
                field="payload.safety_signal.issued_by",
            )
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


def _regulator_signal(opened: Opened) -> SafetySignal:
    """A regulator's lock or unlock, from the supervision system representing it (the
    envelope's data owner is the regulator)."""
    signal = read_signal(opened.payload)
    if signal.issued_by is None:
        raise DomainError(
            Reason.WRONG_SENDER_ROLE,
            "a supervision system sends its regulators' signals only (issued_by)",
            field="payload.safety_signal.issued_by",
        )
    _owned_by(
        opened,
        signal.issued_by,
        "a regulator's signal is sent for that regulator (data_owner)",
        "payload.safety_signal.issued_by",
    )
    return signal


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
        return _report_step(report), report.org_uscc
    note = opened.payload["shipping_note"]
    try:
        owner = opened.header["data_owner"]
        batches = [_batch_facts(b) for b in note.get("batches") or ()]
        step = Step.model_validate(
            {
                "bill_type": SHIPPING_NOTE,
                "org_uscc": owner,
                "document_no": note["document_no"],
                "business_time": note["business_time"],
                "codes": note["codes"],
                "contents": note.get("contents"),
                "counterparty_uscc": note["consignee_uscc"],
                "mah_uscc": owner if batches else None,
                "batch_nos": [b["batch_no"] for b in batches],
                "detail": {"expected_quantity": note.get("expected_quantity"), "batches": batches},
            }
        )
        return step, str(note["consignee_uscc"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise DomainError(
            Reason.MALFORMED_NOTE,
            f"a shipping note names its consignee, number, time and codes: {exc}",
            field="payload.shipping_note",
        ) from exc


_STEP_FIELDS = {"bill_type", "org_uscc", "document_no", "business_time", "codes"}
_MOVED = {"counterparty_uscc", "shipping_note_no"}


def _report_step(report: DownstreamEvent) -> Step:
    """A province's report as a step: who was on the other side, the note a receipt answers,
    and the rest of the document (quantities, reasons, who destroyed and who watched) as its
    detail; never a vaccinee (the report carries none)."""
    fields = report.model_dump(include=_STEP_FIELDS)
    rest = report.model_dump(mode="json", exclude=_STEP_FIELDS | _MOVED, exclude_none=True)
    return Step.model_construct(
        **fields,
        counterparty_uscc=report.counterparty_uscc,
        source_document_no=report.shipping_note_no,
        detail=rest or None,
        batch_nos=(),
        mah_uscc=None,
        contents=None,
    )


def _batch_facts(batch: Any) -> dict[str, Any]:
    """A note's batch as the supervision systems keep it: its master data and lot release,
    not the list of its codes (the note lists those)."""
    return {k: v for k, v in dict(batch).items() if k != "codes"}
