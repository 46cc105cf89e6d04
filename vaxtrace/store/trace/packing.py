"""Packing (装箱 / 拆箱): which container a code is in now, and the containments it left,
kept in history so a code's past containers still count for its history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, insert, select, update

from vaxtrace.store.trace.schema import containment_history, trace_code


def set_parent(conn: Connection, child_ids: Sequence[int], parent_id: int, event_id: int) -> None:
    conn.execute(
        update(trace_code)
        .where(trace_code.c.id.in_(list(child_ids)))
        .values(parent_id=parent_id, parent_since=event_id)
    )


def clear_parent(conn: Connection, child_ids: Sequence[int], event_id: int) -> None:
    """Close the current containment of each child into history, then empty it."""
    rows = conn.execute(
        select(trace_code.c.id, trace_code.c.parent_id, trace_code.c.parent_since).where(
            trace_code.c.id.in_(list(child_ids)), trace_code.c.parent_id.is_not(None)
        )
    ).all()
    if not rows:
        return
    conn.execute(
        insert(containment_history),
        [
            {"child_id": r[0], "since_event": r[2], "until_event": event_id, "parent_id": r[1]}
            for r in rows
        ],
    )
    conn.execute(
        update(trace_code)
        .where(trace_code.c.id.in_([r[0] for r in rows]))
        .values(parent_id=None, parent_since=None)
    )


def children_ids(conn: Connection, parent_id: int) -> list[int]:
    query = select(trace_code.c.id).where(trace_code.c.parent_id == parent_id)
    return [int(r[0]) for r in conn.execute(query)]


def move_children(conn: Connection, old_id: int, new_id: int, event_id: int) -> None:
    kids = children_ids(conn, old_id)
    if kids:
        clear_parent(conn, kids, event_id)
        set_parent(conn, kids, new_id, event_id)
