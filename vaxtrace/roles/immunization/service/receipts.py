"""107 供应入库 with scan verification: a CDC scans what arrives against the shipping note the
platform announced, then confirms the receipt; the codes received go into its stock and the
receipt is reported to the MAH."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping

from vaxtrace.core.downstream import DownstreamBill, DownstreamEvent
from vaxtrace.core.errors import Conflict, DomainError, Forbidden, NotFound, examples
from vaxtrace.core.province import ReceivingNote, Unit
from vaxtrace.core.receipt import (
    Consignment,
    NoteView,
    ReceiptVerification,
    ScanDecision,
    canonical,
    consignment,
    decide_scan,
    verify_receipt,
)
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service.signals import placed_batches
from vaxtrace.roles.immunization.service.writes import Step, WriteResult, province_write
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.immunization import receipts, stock

MISSING_SHOWN = 50
"""Missing codes an answer names at most (the count is always given)."""


def goods_of(row: RowMapping) -> Consignment:
    """What an announced note says was sent, in canonical form."""
    note = row["note"]
    return consignment(note.get("codes") or [], note.get("contents"))


def _note(
    conn: Connection, actor: str, note_no: str, mah_uscc: str | None, *, lock: bool
) -> RowMapping | None:
    """The note ``note_no`` addressed to the actor; else one addressed to someone else (the
    scan decides what that means); None when no such note was announced."""
    rows = receipts.notes_numbered(conn, note_no, mah_uscc, lock=lock)
    mine = [r for r in rows if r["consignee_uscc"] == actor]
    if len(mine) > 1:
        raise Conflict(
            "ambiguous_note",
            f"{len(mine)} MAHs sent you a note {note_no}: name the one meant (mah_uscc)",
            field="mah_uscc",
        )
    return mine[0] if mine else (rows[0] if rows else None)


def _own_note(
    conn: Connection, actor: str, note_no: str, mah_uscc: str | None, *, lock: bool
) -> RowMapping:
    row = _note(conn, actor, note_no, mah_uscc, lock=lock)
    if row is None:
        raise NotFound("unknown_note", f"no shipping note {note_no} was announced to you")
    if row["consignee_uscc"] != actor:
        raise Forbidden("wrong_consignee", f"shipping note {note_no} is addressed to another unit")
    return row


def scan(
    engine: Engine, actor: str, note_no: str, text: str, mah_uscc: str | None = None
) -> ScanDecision:
    """Decide one scan and keep it in the audit, whatever was decided; a repeat is answered,
    not refused."""
    with write_tx(engine) as conn:
        row = _note(conn, actor, note_no, mah_uscc, lock=True)
        view = None
        scanned: set[str] = set()
        if row is not None:
            goods = goods_of(row)
            view = NoteView(row["consignee_uscc"], _closed(conn, row), goods)
            code = canonical(text)
            if code is not None:
                scanned = receipts.accepted_codes(conn, row["event_id"], goods.lineage(code))
        decision = decide_scan(view, actor, text, scanned)
        receipts.record_scan(
            conn,
            note_event_id=None if row is None else row["event_id"],
            note_no=note_no,
            code=decision.code or text.strip()[:300],
            result=decision.result.value,
            reason=decision.reason.value,
            operator_uscc=actor,
            at=datetime.now(UTC),
        )
    return decision


def _closed(conn: Connection, row: RowMapping) -> bool:
    return receipts.receipt_of(conn, row["event_id"]) is not None


def progress(
    engine: Engine, actor: str, note_no: str, mah_uscc: str | None = None
) -> dict[str, Any]:
    """Where the receipt of a note stands: what was scanned, what is missing."""
    with read_tx(engine) as conn:
        row = _own_note(conn, actor, note_no, mah_uscc, lock=False)
        closed = receipts.receipt_of(conn, row["event_id"])
        goods = goods_of(row)
        verified = verify_receipt(goods, receipts.accepted_codes(conn, row["event_id"]))
    return {
        "note_no": row["note_no"],
        "mah_uscc": row["mah_uscc"],
        "closed": closed is not None,
        "receiving_note_no": None if closed is None else closed["document_no"],
        "listed": len(goods.listed),
    } | _verification(verified)


def _verification(result: ReceiptVerification) -> dict[str, Any]:
    return {
        "verification": result.verification.value,
        "reason": result.reason,
        "expected_quantity": result.expected_quantity,
        "actual_quantity": result.actual_quantity,
        "received": len(result.received),
        "missing_count": len(result.missing),
        "missing": list(result.missing[:MISSING_SHOWN]),
    }


def confirm_receipt(
    engine: Engine, outbox: Outbox | None, actor: str, request: ReceivingNote
) -> WriteResult:
    """Close a note with the verification its scans give, put what was received in the
    CDC's stock and report the receipt (107) to the MAH; once per note."""

    def apply(conn: Connection, _acting: Unit, now: datetime) -> Step:
        row = _own_note(conn, actor, request.shipping_note_no, request.mah_uscc, lock=True)
        _refuse_closed(conn, row)
        _refuse_before_shipment(row, request)
        goods = goods_of(row)
        result = verify_receipt(goods, receipts.accepted_codes(conn, row["event_id"]))
        if not result.received:
            raise DomainError(
                "nothing_scanned",
                "no code of the note was scanned: scan the goods, then confirm",
                field="shipping_note_no",
            )
        placement = goods.placement(result.received)
        _refuse_present(conn, [code for code, _ in placement])
        receipt_id = receipts.record_receiving_note(
            conn,
            note_event_id=row["event_id"],
            note_no=row["note_no"],
            mah_uscc=row["mah_uscc"],
            consignee_uscc=actor,
            document_no=request.document_no,
            client_document_id=request.client_document_id,
            verification=result.verification.value,
            reason=result.reason,
            expected_quantity=result.expected_quantity,
            actual_quantity=result.actual_quantity,
            business_time=request.business_time,
            recorded_at=now,
        )
        stock.clear_returned(conn)
        stock.put_in_stock(
            conn,
            placement,
            holder_uscc=actor,
            mah_uscc=row["mah_uscc"],
            receipt_id=receipt_id,
            now=now,
            batches=placed_batches(row["note"], goods, placement),
        )
        event = DownstreamEvent(
            bill_type=DownstreamBill.RECEIPT,
            document_no=request.document_no,
            business_time=request.business_time,
            org_uscc=actor,
            counterparty_uscc=row["mah_uscc"],
            codes=result.received,
            shipping_note_no=row["note_no"],
            verification=result.verification,
            reason=result.reason,
            expected_quantity=result.expected_quantity,
            actual_quantity=result.actual_quantity,
        )
        body = {"shipping_note_no": row["note_no"], "mah_uscc": row["mah_uscc"]}
        return Step(body | _verification(result) | {"in_stock": len(placement)}, event)

    return province_write(engine, outbox, actor, "receipt", request, apply)


def _refuse_closed(conn: Connection, row: RowMapping) -> None:
    closed = receipts.receipt_of(conn, row["event_id"])
    if closed is not None:
        raise Conflict(
            "note_closed",
            f"shipping note {row['note_no']} was received with {closed['document_no']}",
            field="shipping_note_no",
        )


def _refuse_before_shipment(row: RowMapping, request: ReceivingNote) -> None:
    shipped = row["note"].get("business_time")
    if shipped and request.business_time < datetime.fromisoformat(shipped):
        raise DomainError(
            "before_shipment",
            f"received before the goods were shipped ({shipped})",
            field="business_time",
        )


def _refuse_present(conn: Connection, codes: list[str]) -> None:
    stock.load_listed(conn, codes)
    present = stock.listed_present(conn)
    if present:
        raise Conflict(
            "already_in_stock",
            f"the province has these codes already: {examples(present)}",
            field="shipping_note_no",
        )


def expected(engine: Engine, consignee_uscc: str) -> list[dict[str, Any]]:
    """Shipping notes announced to a CDC, oldest first."""
    with read_tx(engine) as conn:
        rows = receipts.notes_for(conn, consignee_uscc)
    return [
        {
            "note_no": r["note_no"],
            "mah_uscc": r["mah_uscc"],
            "doses": r["doses"],
            "codes": r["note"]["codes"],
            "closed": r["receiving_note_no"] is not None,
        }
        for r in rows
    ]
