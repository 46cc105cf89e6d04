"""107 供应入库 with scan verification: a CDC scans what arrives against the shipping note the
platform announced, then confirms the receipt; the codes received go into its stock and the
receipt is reported to the MAH.

A scan reads the note's header and looks its code up among the codes the note was read into
when it was announced (``expected_code``); it never reads the whole note. It is decided on a
snapshot, without the writer's lock, and kept in the audit whatever was decided (see
:class:`ScanAudit`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping

from vaxtrace.core.downstream import DownstreamBill, DownstreamEvent
from vaxtrace.core.errors import Conflict, DomainError, Forbidden, NotFound, examples
from vaxtrace.core.province import ReceivingNote, Unit
from vaxtrace.core.receipt import (
    Consignment,
    NoteView,
    Place,
    PlaceOf,
    ReceiptVerification,
    ScanDecision,
    ScanResult,
    decide_scan,
    verify_receipt,
)
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service.signals import placed_batches
from vaxtrace.roles.immunization.service.writes import Step, WriteResult, province_write
from vaxtrace.store.batched import Appender, GroupCommit
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization import receipts, stock
from vaxtrace.store.immunization.schema import receipt_scan

MISSING_SHOWN = 50
"""Missing codes an answer names at most (the count is always given)."""


def goods_of(conn: Connection, row: RowMapping) -> Consignment:
    """What an announced note says was sent, in canonical form (as read when announced)."""
    return Consignment.of_expected(receipts.expected_codes(conn, row["event_id"]))


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


@dataclass(frozen=True, slots=True)
class AcceptedScan:
    """A scan accepted on a snapshot, to be kept (or decided again) under the writer's lock."""

    note: RowMapping
    note_no: str
    actor: str
    decision: ScanDecision
    at: datetime


class ScanAudit:
    """How scans are kept (every scan, whatever was decided, in ``receipt_scan``).

    An accepted scan is what later scans and the receipt depend on: it is committed before
    it is answered, in a transaction it shares with the accepted scans that came meanwhile
    (:func:`keep_accepted`, one thread). A repeat or a rejection changes nothing that
    anything depends on: its row is appended in a batch shortly after it is answered, so it
    never waits for the database's writer; a crash may lose the last ~``interval`` of them.
    """

    def __init__(self, engine: Engine, interval: float = 0.05) -> None:
        self.accepted: GroupCommit[AcceptedScan, ScanDecision] = GroupCommit(
            engine, keep_accepted, "accepted-scans"
        )
        self.others = Appender(engine, receipt_scan, interval)

    def flush(self) -> None:
        """Write the repeats and rejections pending now."""
        self.others.flush()

    def close(self) -> None:
        self.accepted.close()
        self.others.close()


def scan(
    engine: Engine,
    audit: ScanAudit,
    actor: str,
    note_no: str,
    text: str,
    mah_uscc: str | None = None,
) -> ScanDecision:
    """Decide one scan and keep it in the audit, whatever was decided; a repeat is answered,
    not refused."""
    now = datetime.now(UTC)
    with read_tx(engine) as conn:
        row, decision = _decide(conn, actor, note_no, text, mah_uscc)
    if decision.result is ScanResult.ACCEPTED:
        assert row is not None
        return audit.accepted.submit(AcceptedScan(row, note_no, actor, decision, now))
    audit.others.append(_audit_row(row, note_no, text, decision, actor, now))
    return decision


def _decide(
    conn: Connection, actor: str, note_no: str, text: str, mah_uscc: str | None
) -> tuple[RowMapping | None, ScanDecision]:
    """The note a scan is against (None: no such note) and the decision on the scan."""
    row = _note(conn, actor, note_no, mah_uscc, lock=False)
    view = None
    if row is not None:
        view = NoteView(row["consignee_uscc"], row["receiving_note_no"] is not None)
    return row, decide_scan(view, actor, text, _place_on(conn, row))


def _place_on(conn: Connection, row: RowMapping | None) -> PlaceOf:
    def place(code: str) -> Place:
        assert row is not None  # asked only of a note that takes the scan
        found = receipts.lineage_scanned(conn, row["event_id"], code)
        return Place(tuple(c for c, _ in found), frozenset(c for c, s in found if s))

    return place


def keep_accepted(conn: Connection, scans: Sequence[AcceptedScan]) -> list[ScanDecision]:
    """Keep scans accepted on snapshots, in the writer's transaction, deciding each again, in
    the order they came, on what the transaction sees: the note may have been closed since,
    the code or a container around it accepted since (by an earlier scan of the batch too)."""
    notes = sorted({s.note["event_id"] for s in scans})
    receipts.lock_notes(conn, notes)
    closed = receipts.closed_among(conn, notes)
    codes = sorted({c for s in scans for c in s.decision.lineage})
    taken = receipts.accepted_among(conn, notes, codes)
    decisions, rows = [], []
    for s in scans:
        note, lineage = s.note["event_id"], s.decision.lineage
        place = Place(lineage, frozenset(c for c in lineage if (note, c) in taken))
        view = NoteView(s.note["consignee_uscc"], note in closed)
        decision = decide_scan(view, s.actor, lineage[0], _known(place))
        if decision.result is ScanResult.ACCEPTED:
            taken.add((note, lineage[0]))
        decisions.append(decision)
        rows.append(_audit_row(s.note, s.note_no, lineage[0], decision, s.actor, s.at))
    receipts.record_scans(conn, rows)
    return decisions


def _known(place: Place) -> PlaceOf:
    return lambda _code: place


def _audit_row(
    row: RowMapping | None,
    note_no: str,
    text: str,
    decision: ScanDecision,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    return receipts.scan_row(
        note_event_id=None if row is None else row["event_id"],
        note_no=note_no,
        code=decision.code or text.strip()[:300],
        result=decision.result.value,
        reason=decision.reason.value,
        operator_uscc=actor,
        at=at,
    )


def progress(
    engine: Engine, actor: str, note_no: str, mah_uscc: str | None = None
) -> dict[str, Any]:
    """Where the receipt of a note stands: what was scanned, what is missing."""
    with read_tx(engine) as conn:
        row = _own_note(conn, actor, note_no, mah_uscc, lock=False)
        goods = goods_of(conn, row)
        verified = verify_receipt(goods, receipts.accepted_codes(conn, row["event_id"]))
    return {
        "note_no": row["note_no"],
        "mah_uscc": row["mah_uscc"],
        "closed": row["receiving_note_no"] is not None,
        "receiving_note_no": row["receiving_note_no"],
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
        note = receipts.note_document(conn, row["event_id"])  # the header does not carry it
        _refuse_before_shipment(note, request)
        goods = goods_of(conn, row)
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
            batches=placed_batches(note, goods, placement),
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


def _refuse_before_shipment(note: dict[str, Any], request: ReceivingNote) -> None:
    shipped = note.get("business_time")
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
