"""SQL of receipts: the notes announced, the scans against them, the receiving notes closing
them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    Select,
    bindparam,
    exists,
    insert,
    literal,
    select,
)
from sqlalchemy.sql.elements import BindParameter

from vaxtrace.core.receipt import ExpectedCode
from vaxtrace.store.engine import is_sqlite
from vaxtrace.store.immunization.schema import (
    expected_code,
    expected_receipt,
    receipt_scan,
    receiving_note,
)

ACCEPTED = "accepted"

NOTE_HEADER = (
    expected_receipt.c.event_id,
    expected_receipt.c.mah_uscc,
    expected_receipt.c.note_no,
    expected_receipt.c.consignee_uscc,
    receiving_note.c.document_no.label("receiving_note_no"),
)
"""What a scan or a view needs of a note: who sent it to whom, and the receiving note that
closed it (None while open). Not the note itself, a JSON document decoded only when asked."""


def notes_numbered(
    conn: Connection, note_no: str, mah_uscc: str | None = None, *, lock: bool = False
) -> list[RowMapping]:
    """The headers (:data:`NOTE_HEADER`) of the announced notes with this number (of one
    MAH, if named), oldest first; locked against concurrent scans and confirmations when
    ``lock`` (PostgreSQL; SQLite's writer lock already serialises)."""
    query = _notes_numbered(mah_uscc is not None, lock)
    return list(conn.execute(query, {"note_no": note_no, "mah_uscc": mah_uscc}).mappings())


@cache
def _notes_numbered(by_mah: bool, lock: bool) -> Select[Any]:
    """Built once per kind: building a statement costs more than running it."""
    query = (
        select(*NOTE_HEADER)
        .outerjoin(receiving_note, receiving_note.c.note_event_id == expected_receipt.c.event_id)
        .where(expected_receipt.c.note_no == bindparam("note_no"))
    )
    if by_mah:
        query = query.where(expected_receipt.c.mah_uscc == bindparam("mah_uscc"))
    query = query.order_by(expected_receipt.c.sequence)
    return query.with_for_update(of=expected_receipt) if lock else query


def note_document(conn: Connection, note_event_id: str) -> dict[str, Any]:
    """The shipping note as announced."""
    query = select(expected_receipt.c.note).where(expected_receipt.c.event_id == note_event_id)
    return dict(conn.execute(query).scalar_one())


def record_expected_codes(
    conn: Connection, note_event_id: str, codes: Iterable[ExpectedCode]
) -> None:
    """Keep what a note says was sent (:meth:`Consignment.expected_codes`), in one statement."""
    rows = [
        {
            "note_event_id": note_event_id,
            "code": c.code,
            "parent_code": c.parent_code,
            "doses": c.doses,
            "position": c.position,
        }
        for c in codes
    ]
    if rows:
        conn.execute(insert(expected_code), rows)


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


_CLOSED_AMONG = select(receiving_note.c.note_event_id).where(
    receiving_note.c.note_event_id.in_(bindparam("notes", expanding=True))
)


def closed_among(conn: Connection, note_event_ids: Sequence[str]) -> set[str]:
    """Which of these notes a receiving note closed."""
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
    """The notes announced to a consignee, oldest first, each with the receiving note that
    closed it (``receiving_note_no``, None while open)."""
    query = (
        select(expected_receipt, receiving_note.c.document_no.label("receiving_note_no"))
        .outerjoin(receiving_note, receiving_note.c.note_event_id == expected_receipt.c.event_id)
        .where(expected_receipt.c.consignee_uscc == consignee_uscc)
        .order_by(expected_receipt.c.sequence)
    )
    return list(conn.execute(query).mappings())


def receipt_of(conn: Connection, note_event_id: str) -> RowMapping | None:
    """The receiving note that closed a shipping note, if any."""
    query = select(receiving_note).where(receiving_note.c.note_event_id == note_event_id)
    return conn.execute(query).mappings().first()


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


def record_receiving_note(conn: Connection, **values: Any) -> int:
    query = insert(receiving_note).values(**values).returning(receiving_note.c.id)
    return int(conn.execute(query).scalar_one())
