"""发货单 shipping notes of a MAH: one per note number, with its consignee and doses."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, select

from vaxtrace.store.trace.schema import shipping_note

# built once: every shipping note runs them
_NOTE = select(shipping_note.c.id).where(
    shipping_note.c.mah_uscc == bindparam("mah"), shipping_note.c.note_no == bindparam("note_no")
)
_RECORD_NOTE = insert(shipping_note)


def note_exists(conn: Connection, mah_uscc: str, note_no: str) -> bool:
    return conn.execute(_NOTE, {"mah": mah_uscc, "note_no": note_no}).first() is not None


def record_note(
    conn: Connection, event_id: int, mah_uscc: str, note_no: str, consignee_uscc: str, doses: int
) -> None:
    conn.execute(
        _RECORD_NOTE,
        {
            "event_id": event_id,
            "mah_uscc": mah_uscc,
            "note_no": note_no,
            "consignee_uscc": consignee_uscc,
            "quantity": doses,
        },
    )
