"""召回 recalls of a MAH: started with the batches they cover, closed with a summary."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from vaxtrace.store.trace.events import add_event_record
from vaxtrace.store.trace.schema import recall


def recall_of(conn: Connection, mah_uscc: str, recall_no: str) -> RowMapping | None:
    """The MAH's recall of that number, as recorded; None when there is none."""
    query = select(recall).where(recall.c.mah_uscc == mah_uscc, recall.c.recall_no == recall_no)
    return conn.execute(query).mappings().first()


def recall_data(conn: Connection, mah_uscc: str, recall_no: str) -> Any:
    """The document that started the MAH's recall of that number; None when there is none."""
    query = select(recall.c.data).where(
        recall.c.mah_uscc == mah_uscc, recall.c.recall_no == recall_no
    )
    return conn.execute(query).scalar_one_or_none()


def recall_exists(conn: Connection, mah_uscc: str, recall_no: str) -> bool:
    query = select(recall.c.id).where(
        recall.c.mah_uscc == mah_uscc, recall.c.recall_no == recall_no
    )
    return conn.execute(query).first() is not None


def add_recall(conn: Connection, mah_uscc: str, event_id: int, data: dict[str, Any]) -> None:
    """Record a recall in progress (``data``: the document that started it)."""
    add_event_record(
        conn,
        recall,
        event_id,
        data,
        ("recall_no",),
        mah_uscc=mah_uscc,
        state="in_progress",
        data=data,
    )


def mark_closed(conn: Connection, recall_id: int) -> None:
    """The recall is closed (召回完成)."""
    conn.execute(update(recall).where(recall.c.id == recall_id).values(state="closed"))
