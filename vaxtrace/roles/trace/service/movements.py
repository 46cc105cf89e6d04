"""Movements of code sets through the MAH's stock: 101 in, 201 out, 103 back, 205 destroyed.

108 recall receipt is with the recalls; every movement runs in ``writes.codes_write``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from vaxtrace.core.batches import SaleFacts, check_sellable
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.datasets.movements import (
    Destruction,
    SalesReturn,
    ShippingNote,
    ShippingNoteUpload,
)
from vaxtrace.core.datasets.production import Conclusion, Warehousing
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.status import Action
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import PLATFORM, Outbox
from vaxtrace.roles.trace.service.reporting import report_production
from vaxtrace.roles.trace.service.signals import note_batches
from vaxtrace.roles.trace.service.writes import (
    Apply,
    Resolved,
    codes_step,
    codes_write,
    resolve_codes,
    step_codes,
    write,
    write_all,
)
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.trace.affected import contents_of_affected
from vaxtrace.store.trace.events import EventHeader
from vaxtrace.store.trace.registry import find_organisation
from vaxtrace.store.trace.shipping import note_exists, record_note
from vaxtrace.store.write_frame import WriteResult


def warehouse(
    engine: Engine,
    actor: str,
    request: Warehousing,
    clock: Clock,
    outbox: Outbox | None = None,
) -> WriteResult:
    """101 生产入库 production warehousing; with an outbox, reported to the supervision
    systems through the platform in the same transaction."""
    payload = {"warehouse": request.warehouse}
    step = codes_step(actor, request.codes, Action.WAREHOUSE, holder=actor, payload=payload)

    def apply(conn: Connection, header: EventHeader) -> tuple[int | None, dict[str, Any]]:
        event_id, answer = step(conn, header)
        when = request.business_time
        report_production(conn, outbox, actor, request.document_no, when, payload)
        return event_id, answer

    return write(engine, actor, "warehousing", request, apply, bill_type="101", clock=clock)


def ship(
    engine: Engine,
    actor: str,
    request: ShippingNote,
    clock: Clock,
    outbox: Outbox | None = None,
) -> WriteResult:
    """201 销售出库: a shipping note (发货单) from the MAH to a CDC; with an outbox, the note
    leaves for the platform in the same transaction (it goes on to the CDC's province)."""
    apply = _shipping(actor, request, outbox)
    return write(engine, actor, "shipping_note", request, apply, bill_type="201", clock=clock)


def ship_all(
    engine: Engine,
    actor: str,
    upload: ShippingNoteUpload,
    clock: Clock,
    outbox: Outbox | None = None,
) -> list[WriteResult]:
    """Several shipping notes at once, all or none, each as :func:`ship` would write it."""
    items = [(note, _shipping(actor, note, outbox)) for note in upload.shipping_notes]
    return write_all(
        engine,
        actor,
        "shipping_note",
        items,
        bill_type="201",
        collection="shipping_notes",
        clock=clock,
    )


def _shipping(actor: str, request: ShippingNote, outbox: Outbox | None) -> Apply:
    """One shipping note: a sale, so not dated before the lot release of what it sells (nor
    before the codes' previous step, see ``resolve_codes``); checked as a note, written as a
    step, recorded as a note and, with an outbox, posted to the platform."""
    payload = request.model_dump(
        mode="json", exclude={"codes", "client_document_id", "business_time", "document_no"}
    )

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        resolved = resolve_codes(
            conn, header, request.codes, Action.SHIP, already_gone=Reason.ALREADY_SHIPPED, sale=True
        )
        _check_note(conn, actor, request, resolved)
        event_id, answer = step_codes(
            conn, header, resolved, Action.SHIP, holder=request.consignee_uscc, payload=payload
        )
        doses = resolved.doses
        record_note(conn, event_id, actor, request.document_no, request.consignee_uscc, doses)
        if outbox is not None:
            _post_note(conn, outbox, actor, request, event_id, doses)
        return event_id, answer

    return apply


def _check_note(conn: Connection, actor: str, request: ShippingNote, resolved: Resolved) -> None:
    """A new note number, a registered CDC, sellable batches, the doses the note says."""
    if note_exists(conn, actor, request.document_no):
        raise DomainError(
            Reason.SHIPPING_NOTE_EXISTS,
            f"shipping note {request.document_no} exists; a new note needs a new number",
            field="document_no",
        )
    _check_consignee(conn, request.consignee_uscc)
    day = request.business_time.date()
    for b in resolved.batches:
        _check_sellable_batch(b, day)
    if resolved.doses != request.expected_quantity:
        raise DomainError(
            Reason.QUANTITY_MISMATCH,
            f"the codes hold {resolved.doses} doses; the note says {request.expected_quantity}",
            field="expected_quantity",
        )


def _post_note(
    conn: Connection,
    outbox: Outbox,
    actor: str,
    request: ShippingNote,
    event_id: int,
    doses: int,
) -> None:
    """The note leaves for the platform in the write's transaction."""
    note = request.model_dump(mode="json", exclude={"client_document_id"})
    note |= {"doses": doses, "trace_event_id": event_id}
    contents = contents_of_affected(conn)
    if contents:  # what each shipped container holds, for the receiver's checks
        note["contents"] = contents
    note["batches"] = note_batches(conn)
    outbox.post(
        conn,
        PLATFORM,
        event_type="20",
        event_subtype="201",
        data_owner=actor,
        payload={"shipping_note": note},
    )


def _check_consignee(conn: Connection, uscc: str) -> None:
    """A MAH ships only to a registered CDC."""
    consignee = find_organisation(conn, uscc)
    if consignee is None:
        raise DomainError(
            Reason.UNKNOWN_CONSIGNEE,
            f"{uscc} is not a registered organisation",
            field="consignee_uscc",
        )
    if consignee["kind"] != OrgKind.CDC.value:
        raise DomainError(
            Reason.CONSIGNEE_NOT_CDC,
            f"a MAH may supply only CDCs (疾控机构), not a {consignee['kind']}",
            field="consignee_uscc",
        )


def _check_sellable_batch(b: Mapping[str, Any], day: date) -> None:
    """The batch of a shipping note may be sold on the note's date (which cannot be back-dated
    before the codes' previous step, their lot release or their production: ``resolve_codes``)."""
    expiry = b["expiry_date"]
    facts = SaleFacts(
        batch_no=b["batch_no"],
        lot_released=b["certificate_no"] is not None
        and b["release_conclusion"] == Conclusion.PASS.value,
        imported=bool(b["imported"]),
        customs_clearance_no=b["customs_clearance_no"],
        expiry_date=date.fromisoformat(expiry) if isinstance(expiry, str) else expiry,
    )
    check_sellable(facts, day)


def sales_return(engine: Engine, actor: str, request: SalesReturn, clock: Clock) -> WriteResult:
    """103 销售退回入库: goods come back from a CDC."""
    payload = {"from_uscc": request.from_uscc, "reason_code": request.reason_code.value}
    return codes_write(
        engine,
        actor,
        "sales_return",
        "103",
        request,
        request.codes,
        Action.RETURN,
        clock=clock,
        holder=actor,
        expected_holder=request.from_uscc,
        payload=payload,
    )


def destroy(engine: Engine, actor: str, request: Destruction, clock: Clock) -> WriteResult:
    """205 销毁出库: destruction with reason, executor and supervisor."""
    payload = request.model_dump(mode="json", include={"reason", "executor", "supervisor", "place"})
    return codes_write(
        engine,
        actor,
        "destruction",
        "205",
        request,
        request.codes,
        Action.DESTROY,
        clock=clock,
        holder=actor,
        payload=payload,
    )
