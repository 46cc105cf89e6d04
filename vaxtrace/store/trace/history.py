"""A code's history (追溯): the containers it was inside, with when, and every event on it,
on its batch or on a container while it was inside."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, and_, or_, select

from vaxtrace.store.trace.schema import (
    batch_event,
    containment_history,
    event_code,
    trace_code,
    trace_event,
)

Interval = tuple[int, int, int]  # (code id, from event, until event)
OPEN_END = 2**62


def containment_intervals(conn: Connection, code_id: int) -> list[Interval]:
    """Every container the code was inside, transitively, with the event span it was inside.

    The code itself is included with the full span, so a history is one events query.
    """
    spans: list[Interval] = [(code_id, 0, OPEN_END)]
    frontier: list[Interval] = [(code_id, 0, OPEN_END)]
    while frontier:
        child, lo, hi = frontier.pop()
        current = conn.execute(
            select(trace_code.c.parent_id, trace_code.c.parent_since).where(
                trace_code.c.id == child
            )
        ).first()
        found: list[tuple[int, int, int]] = []
        if current is not None and current[0] is not None:
            found.append((int(current[0]), int(current[1]), OPEN_END))
        past = conn.execute(
            select(
                containment_history.c.parent_id,
                containment_history.c.since_event,
                containment_history.c.until_event,
            ).where(containment_history.c.child_id == child)
        )
        found.extend((int(p), int(s), int(u)) for p, s, u in past)
        for parent, since, until in found:
            start, end = max(lo, since), min(hi, until)
            if start < end:
                spans.append((parent, start, end))
                frontier.append((parent, start, end))
    return spans


def history(
    conn: Connection, spans: Sequence[Interval], batch_id: int, commission_event_id: int
) -> list[RowMapping]:
    """Events on the code, on its batch, or on a container while the code was inside.

    Of the batch's commissions only the code's own counts: the others issued other codes.
    """
    conditions = [
        and_(
            event_code.c.code_id == code_id,
            event_code.c.event_id >= lo,
            event_code.c.event_id < hi,
        )
        for code_id, lo, hi in spans
    ]
    linked = select(event_code.c.event_id).where(or_(*conditions))
    query = (
        select(trace_event)
        .where(
            trace_event.c.id.in_(linked)
            | (
                trace_event.c.id.in_(
                    select(batch_event.c.event_id).where(batch_event.c.batch_id == batch_id)
                )
                & (trace_event.c.bill_type != "commission")
            )
            | (trace_event.c.id == commission_event_id)
        )
        .order_by(trace_event.c.id)
    )
    return list(conn.execute(query).mappings())
