"""SQL of receipts: the notes announced, the scans against them, the receiving notes closing
them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from vaxtrace.store.immunization.schema import expected_receipt, receipt_scan, receiving_note

ACCEPTED = "accepted"


def notes_numbered(
    conn: Connection, note_no: str, mah_uscc: str | None = None, *, lock: bool = False
) -> list[RowMapping]:
    """The announced notes with this number (of one MAH, if named), oldest first; locked
    against concurrent scans and confirmations when ``lock`` (PostgreSQL; SQLite's writer
    lock already serialises)."""
    query = select(expected_receipt).where(expected_receipt.c.note_no == note_no)
    if mah_uscc is not None:
        query = query.where(expected_receipt.c.mah_uscc == mah_uscc)
    query = query.order_by(expected_receipt.c.sequence)
    if lock:
        query = query.with_for_update()
    return list(conn.execute(query).mappings())


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


def record_scan(
    conn: Connection,
    *,
    note_event_id: str | None,
    note_no: str,
    code: str,
    result: str,
    reason: str,
    operator_uscc: str,
    at: datetime,
) -> int:
    query = (
        insert(receipt_scan)
        .values(
            note_event_id=note_event_id,
            note_no=note_no,
            code=code,
            result=result,
            reason=reason,
            operator_uscc=operator_uscc,
            scanned_at=at,
        )
        .returning(receipt_scan.c.id)
    )
    return int(conn.execute(query).scalar_one())


def record_receiving_note(conn: Connection, **values: Any) -> int:
    query = insert(receiving_note).values(**values).returning(receiving_note.c.id)
    return int(conn.execute(query).scalar_one())
