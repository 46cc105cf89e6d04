"""SQL of the state replay: what each commission issued (kept beside its event, committed to
by its leaf), the log's events with the codes and batches they name, in log order, and the
codes' current rows to compare with (see vaxtrace.roles.trace.service.replay)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, insert, literal, select

from vaxtrace.core.replay import IssuedCode, LoggedEvent
from vaxtrace.store.trace.schema import (
    batch_event,
    commission_digest,
    commissioned_code,
    event_code,
    trace_code,
    trace_event,
)

STREAM = {"yield_per": 20_000}


def record_commission(
    conn: Connection, event_id: int, first_id: int, codes: int, root: bytes
) -> None:
    """Keep the codes a commission just issued (ids from ``first_id``) as issued, and the
    digest its leaf will carry."""
    issued = select(
        literal(event_id), trace_code.c.id, trace_code.c.code, trace_code.c.level,
        trace_code.c.parent_id,
    ).where(trace_code.c.id >= first_id, trace_code.c.commission_event_id == event_id)  # fmt: skip
    columns = ["event_id", "code_id", "code", "level", "parent_id"]
    conn.execute(insert(commissioned_code).from_select(columns, issued))
    conn.execute(insert(commission_digest).values(event_id=event_id, codes=codes, root=root))


def _matching(conn: Connection, query: Any) -> Callable[[int], Iterator[Any]]:
    """A lookup of the rows of each event (without its id) of a query ordered by event id,
    asked in event id order; each event's rows are read as they are consumed, before the
    next event is asked."""
    rows = conn.execute(query, execution_options=STREAM)
    groups = groupby(rows, key=lambda r: int(r[0]))
    current = next(groups, None)

    def of(event_id: int) -> Iterator[Any]:
        nonlocal current
        while current is not None and current[0] < event_id:
            current = next(groups, None)
        if current is None or current[0] != event_id:
            return iter(())
        return (r[1:] for r in current[1])

    return of


def logged_events(conn: Connection) -> Iterator[LoggedEvent]:
    """Every event in log order with the codes and batches it names and, for a commission,
    the codes it issued and its digest."""
    by_event = (
        (event_code.c.event_id, event_code.c.code_id),
        (batch_event.c.event_id, batch_event.c.batch_id),
    )
    codes_of, batches_of = (_matching(conn, select(*cols).order_by(*cols)) for cols in by_event)
    issued_cols = [commissioned_code.c[n] for n in ("event_id", "code_id", "code", "level")]
    issued = select(*issued_cols, commissioned_code.c.parent_id).order_by(*issued_cols[:2])
    issued_of = _matching(conn, issued)
    events = (
        select(
            trace_event.c.id, trace_event.c.bill_type, trace_event.c.org_uscc,
            trace_event.c.payload, commission_digest.c.codes, commission_digest.c.root,
        )
        .outerjoin(commission_digest, commission_digest.c.event_id == trace_event.c.id)
        .order_by(trace_event.c.id)
    )  # fmt: skip
    for event_id, bill_type, org, payload, count, root in conn.execute(
        events, execution_options=STREAM
    ):
        yield LoggedEvent(
            id=int(event_id),
            bill_type=str(bill_type),
            org_uscc=str(org),
            payload=payload,
            code_ids=[int(r[0]) for r in codes_of(event_id)],
            batch_ids=[int(r[0]) for r in batches_of(event_id)],
            issued=(IssuedCode(int(i), str(c), int(lv), p) for i, c, lv, p in issued_of(event_id)),
            digest=None if count is None else (int(count), bytes(root)),
        )


CODE_ROW = ("id", "code", "level", "status", "holder_uscc", "parent_id", "commission_event_id")


def code_rows(conn: Connection) -> Iterator[tuple[Any, ...]]:
    """Every code's current row (``CODE_ROW``), in id order."""
    query = select(*(trace_code.c[n] for n in CODE_ROW)).order_by(trace_code.c.id)
    yield from conn.execute(query, execution_options=STREAM)
