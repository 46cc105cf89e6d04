"""SQL of receipts: the notes announced, the scans against them, the receiving notes closing
them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    Select,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import BindParameter

from vaxtrace.core.dose_gate import BatchRecord
from vaxtrace.core.receipt import ExpectedCode, ReceiptState
from vaxtrace.core.status import Status
from vaxtrace.store.batched import Appender
from vaxtrace.store.engine import is_sqlite
from vaxtrace.store.immunization.safety import as_date
from vaxtrace.store.immunization.schema import (
    expected_code,
    expected_receipt,
    journal,
    receipt_scan,
    receiving_note,
)

ACCEPTED = "accepted"

NOTE_HEADER = (
    expected_receipt.c.event_id,
    expected_receipt.c.shipper_uscc,
    expected_receipt.c.note_no,
    expected_receipt.c.consignee_uscc,
    expected_receipt.c.kind,
    expected_receipt.c.state,
)
"""What a scan or a view needs of a note: who sent it to whom, what kind of note it is and
where its receipt stands. Not the note itself, a JSON document decoded only when asked."""

RECEIVED = ReceiptState.RECEIVED.value


def notes_numbered(
    conn: Connection, note_no: str, shipper_uscc: str | None = None, *, lock: bool = False
) -> list[RowMapping]:
    """The headers (:data:`NOTE_HEADER`) of the expected receipts with this number (of one
    shipper, if named), oldest first; locked against concurrent scans and confirmations when
    ``lock`` (PostgreSQL; SQLite's writer lock already serialises)."""
    query = _notes_numbered(shipper_uscc is not None, lock)
    return list(conn.execute(query, {"note_no": note_no, "shipper": shipper_uscc}).mappings())


@cache
def _notes_numbered(by_shipper: bool, lock: bool) -> Select[Any]:
    """Built once per kind: building a statement costs more than running it."""
    query = select(*NOTE_HEADER).where(expected_receipt.c.note_no == bindparam("note_no"))
    if by_shipper:
        query = query.where(expected_receipt.c.shipper_uscc == bindparam("shipper"))
    query = query.order_by(expected_receipt.c.announced_at, expected_receipt.c.sequence)
    return query.with_for_update() if lock else query


SHIPPING_NOTE = "shipping_note"


def shipping_notes(conn: Connection) -> int:
    """How many MAHs' shipping notes were announced (distributions left out)."""
    query = select(func.count()).where(expected_receipt.c.kind == SHIPPING_NOTE)
    return int(conn.execute(query).scalar_one())


def record_expected_receipt(conn: Connection, **values: Any) -> None:
    """Keep what a CDC or site is to receive (a row of ``expected_receipt``)."""
    conn.execute(insert(expected_receipt).values(**values))


def set_state(conn: Connection, note_event_id: str, state: ReceiptState) -> None:
    """Where the receipt of a note stands after a confirmation."""
    query = (
        update(expected_receipt)
        .where(expected_receipt.c.event_id == note_event_id)
        .values(state=state.value)
    )
    conn.execute(query)


def note_document(conn: Connection, note_event_id: str) -> dict[str, Any]:
    """The shipping note as announced."""
    query = select(expected_receipt.c.note).where(expected_receipt.c.event_id == note_event_id)
    return dict(conn.execute(query).scalar_one())


BatchKey = tuple[str, str]
"""A batch as (MAH, batch number)."""


def record_expected_codes(
    conn: Connection,
    note_event_id: str,
    codes: Iterable[ExpectedCode],
    batches: Mapping[str, BatchKey] | None = None,
) -> None:
    """Keep what a note says was sent (:meth:`Consignment.expected_codes`), each code with its
    batch (``batches``, by code), in one statement."""
    found = batches or {}
    rows = [
        {
            "note_event_id": note_event_id,
            "code": c.code,
            "parent_code": c.parent_code,
            "doses": c.doses,
            "position": c.position,
            "mah_uscc": found[c.code][0] if c.code in found else None,
            "batch_no": found[c.code][1] if c.code in found else None,
        }
        for c in codes
    ]
    if rows:
        conn.execute(insert(expected_code), rows)


def expected_batches(conn: Connection, note_event_id: str) -> dict[str, BatchKey]:
    """The batch of each code of a note, by code (codes of no known batch left out)."""
    query = select(expected_code.c.code, expected_code.c.mah_uscc, expected_code.c.batch_no).where(
        expected_code.c.note_event_id == note_event_id, expected_code.c.batch_no.is_not(None)
    )
    return {str(c): (str(m), str(b)) for c, m, b in conn.execute(query)}


def expected_codes(conn: Connection, note_event_id: str) -> list[ExpectedCode]:
    """What a note says was sent, in its order."""
    query = (
        select(
            expected_code.c.code,
            expected_code.c.parent_code,
            expected_code.c.doses,
            expected_code.c.position,
        )
        .where(expected_code.c.note_event_id == note_event_id)
        .order_by(expected_code.c.position)
    )
    return [ExpectedCode(*row) for row in conn.execute(query)]


def lineage_scanned(conn: Connection, note_event_id: str, code: str) -> list[tuple[str, bool]]:
    """The code and every container the note puts it in, innermost first (nothing when the
    code is not on the note), each with whether a scan of it was accepted: one statement
    walking up ``expected_code`` by its key."""
    rows = conn.execute(_LINEAGE_SCANNED, {"note_event_id": note_event_id, "code": code})
    return [(str(c), bool(s)) for c, s in rows]


def _lineage_scanned() -> Select[Any]:
    note: BindParameter[str] = bindparam("note_event_id")
    up = (
        select(expected_code.c.code, expected_code.c.parent_code, literal(0).label("depth"))
        .where(expected_code.c.note_event_id == note, expected_code.c.code == bindparam("code"))
        .cte("up", recursive=True)
    )
    outer = expected_code.alias("outer_code")
    up = up.union_all(
        select(outer.c.code, outer.c.parent_code, up.c.depth + 1).where(
            outer.c.note_event_id == note, outer.c.code == up.c.parent_code
        )
    )
    scanned = exists().where(
        receipt_scan.c.note_event_id == note,
        receipt_scan.c.result == ACCEPTED,
        receipt_scan.c.code == up.c.code,
    )
    return select(up.c.code, scanned.label("scanned")).order_by(up.c.depth)


_LINEAGE_SCANNED = _lineage_scanned()
"""Built once: a scan's statements are run with parameters, never built per scan."""

_LOCK_NOTES = (
    select(expected_receipt.c.event_id)
    .where(expected_receipt.c.event_id.in_(bindparam("notes", expanding=True)))
    .order_by(expected_receipt.c.event_id)
    .with_for_update()
)


def lock_notes(conn: Connection, note_event_ids: Sequence[str]) -> None:
    """Hold notes against concurrent scans and confirmations until the transaction ends, in
    one order so that two batches never wait for each other (PostgreSQL; SQLite's writer lock
    already serialises)."""
    if not is_sqlite(conn):
        conn.execute(_LOCK_NOTES, {"notes": list(note_event_ids)})


_CLOSED_AMONG = select(expected_receipt.c.event_id).where(
    expected_receipt.c.event_id.in_(bindparam("notes", expanding=True)),
    expected_receipt.c.state == RECEIVED,
)


def closed_among(conn: Connection, note_event_ids: Sequence[str]) -> set[str]:
    """Which of these notes were received whole (closed to scans)."""
    return set(conn.execute(_CLOSED_AMONG, {"notes": list(note_event_ids)}).scalars())


_ACCEPTED_AMONG = select(receipt_scan.c.note_event_id, receipt_scan.c.code).where(
    receipt_scan.c.note_event_id.in_(bindparam("notes", expanding=True)),
    receipt_scan.c.result == ACCEPTED,
    receipt_scan.c.code.in_(bindparam("codes", expanding=True)),
)


def accepted_among(
    conn: Connection, note_event_ids: Sequence[str], codes: Sequence[str]
) -> set[tuple[str, str]]:
    """Which of these codes were accepted on which of these notes, as (note, code)."""
    params = {"notes": list(note_event_ids), "codes": list(codes)}
    return {(str(n), str(c)) for n, c in conn.execute(_ACCEPTED_AMONG, params)}


def notes_for(conn: Connection, consignee_uscc: str) -> list[RowMapping]:
    """What a consignee is to receive (shipping notes and distributions), oldest first."""
    query = (
        select(expected_receipt)
        .where(expected_receipt.c.consignee_uscc == consignee_uscc)
        .order_by(expected_receipt.c.announced_at, expected_receipt.c.sequence)
    )
    return list(conn.execute(query).mappings())


def receipts_of(conn: Connection, note_event_id: str) -> list[RowMapping]:
    """The receiving notes that confirmed (part of) a note, in order."""
    query = (
        select(receiving_note)
        .where(receiving_note.c.note_event_id == note_event_id)
        .order_by(receiving_note.c.id)
    )
    return list(conn.execute(query).mappings())


def received_before(receipts: Sequence[RowMapping]) -> set[str]:
    """Every code these receiving notes received (containers and contents)."""
    return {str(code) for r in receipts for code in (r["received"] or [])}


def accepted_codes(
    conn: Connection, note_event_id: str, among: Sequence[str] | None = None
) -> set[str]:
    """The codes of a note whose scan was accepted (only those ``among``, if given)."""
    query = select(receipt_scan.c.code).where(
        receipt_scan.c.note_event_id == note_event_id, receipt_scan.c.result == ACCEPTED
    )
    if among is not None:
        query = query.where(receipt_scan.c.code.in_(list(among)))
    return {str(r) for r in conn.execute(query).scalars()}


def scan_row(
    *,
    note_event_id: str | None,
    note_no: str,
    code: str,
    result: str,
    reason: str,
    operator_uscc: str,
    at: datetime,
) -> dict[str, Any]:
    """One scan as the audit (``receipt_scan``) keeps it."""
    return {
        "note_event_id": note_event_id,
        "note_no": note_no,
        "code": code,
        "result": result,
        "reason": reason,
        "operator_uscc": operator_uscc,
        "scanned_at": at,
    }


_RECORD_SCAN = insert(receipt_scan)


def record_scans(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Keep scans (:func:`scan_row`) in the audit."""
    if rows:
        conn.execute(_RECORD_SCAN, list(rows))
        journal.keep(conn, "receipt_scans", {"scans": list(rows)})


def record_receiving_note(conn: Connection, **values: Any) -> int:
    query = insert(receiving_note).values(**values).returning(receiving_note.c.id)
    return int(conn.execute(query).scalar_one())


_WITHOUT_LOT_RELEASE = text(
    "SELECT count(*) FROM expected_code c LEFT JOIN batch b "
    "ON b.mah_uscc = c.mah_uscc AND b.batch_no = c.batch_no "
    "WHERE c.note_event_id = :note AND c.parent_code IS NULL AND b.lot_release_no IS NULL"
)


def lot_released(conn: Connection, note_event_id: str) -> bool:
    """Whether the province has the lot release (批签发) of the batch of every listed code of
    a note (a code of no known batch has none)."""
    return int(conn.execute(_WITHOUT_LOT_RELEASE, {"note": note_event_id}).scalar_one()) == 0


_BATCH_OF_EXPECTED = text(
    "SELECT b.batch_no, b.expiry_date, b.lot_release_no, b.lock_kind, b.recall_no "
    "FROM expected_code c JOIN batch b ON b.mah_uscc = c.mah_uscc AND b.batch_no = c.batch_no "
    "WHERE c.note_event_id = :note AND c.code = :code"
)


def batch_of_expected(conn: Connection, note_event_id: str, code: str) -> BatchRecord | None:
    """What the province knows of the batch a note says a code is of (None: no batch)."""
    row = conn.execute(_BATCH_OF_EXPECTED, {"note": note_event_id, "code": code}).first()
    if row is None:
        return None
    return BatchRecord(
        batch_no=row.batch_no,
        expiry_date=as_date(row.expiry_date),
        lot_release_no=row.lot_release_no,
        lock=None if row.lock_kind is None else Status(row.lock_kind),
        recall_no=row.recall_no,
    )


def scan_audit_appender(engine: Engine, interval: float) -> Appender:
    """The receipt scans' audit of repeats and rejections, written in batches."""
    return Appender(engine, receipt_scan, interval, write=record_scans)
