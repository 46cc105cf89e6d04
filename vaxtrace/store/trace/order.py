"""What a step cannot precede (the order of business times): the latest step recorded on its
codes or batches, their production and their lot release, each read in one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Date, DateTime, bindparam, column, func, select, text

from vaxtrace.core.times import Earliest, as_utc
from vaxtrace.store.trace.affected import AFFECTED, LISTED
from vaxtrace.store.trace.schema import batch, batch_event, trace_event

_EARLIEST = (
    text(
        # the containers the listed codes are in now (a case holds boxes holds doses: two
        # levels at most; spelled out, so PostgreSQL does not guess a recursion's size)
        f"WITH up(id) AS (SELECT c.parent_id FROM {LISTED} l "
        "JOIN trace_code c ON c.id = l.code_id WHERE c.parent_id IS NOT NULL "
        f"UNION SELECT p.parent_id FROM {LISTED} l JOIN trace_code c ON c.id = l.code_id "
        "JOIN trace_code p ON p.id = c.parent_id WHERE p.parent_id IS NOT NULL), "
        f"steps(id) AS (SELECT ec.event_id FROM {AFFECTED} a "
        "JOIN event_code ec ON ec.code_id = a.code_id "
        "UNION ALL SELECT ec.event_id FROM up JOIN event_code ec ON ec.code_id = up.id) "
        "SELECT (SELECT max(e.business_time) FROM steps s JOIN trace_event e ON e.id = s.id "
        "WHERE e.bill_type NOT IN :control) AS previous_step, "
        "(SELECT max(b.production_date) FROM batch b WHERE b.id IN :batches) AS produced, "
        "(SELECT max(e.business_time) FROM lot_release lr "
        "JOIN trace_event e ON e.id = lr.event_id WHERE lr.batch_id IN :batches) AS released"
    )
    .bindparams(bindparam("control", expanding=True), bindparam("batches", expanding=True))
    .columns(
        column("previous_step", DateTime(timezone=True)),
        column("produced", Date),
        column("released", DateTime(timezone=True)),
    )
)


def affected_earliest(
    conn: Connection, control: Sequence[str], batch_ids: Sequence[int]
) -> Earliest:
    """What a step on the affected set cannot precede, in one query: the latest step recorded
    on its codes or on the containers the listed codes are in (``control`` bill types,
    status-only steps, are no step of the chain), and the latest production date and lot
    release of its batches (``batch_ids``, as the affected set's summary found them)."""
    params = {"control": list(control), "batches": list(batch_ids)}
    row = conn.execute(_EARLIEST, params).mappings().one()
    return _earliest(row["previous_step"], row["produced"], row["released"])


def batches_earliest(conn: Connection, batch_ids: Sequence[int], steps: Sequence[str]) -> Earliest:
    """What a step on whole batches cannot precede: their latest event of a bill type in
    ``steps`` and their latest production date."""
    previous = select(func.max(trace_event.c.business_time)).where(
        trace_event.c.id.in_(
            select(batch_event.c.event_id).where(batch_event.c.batch_id.in_(list(batch_ids)))
        ),
        trace_event.c.bill_type.in_(list(steps)),
    )
    produced = select(func.max(batch.c.production_date)).where(batch.c.id.in_(list(batch_ids)))
    row = conn.execute(select(previous.scalar_subquery(), produced.scalar_subquery())).one()
    return _earliest(row[0], row[1], None)


def _earliest(previous: Any, produced: Any, released: Any) -> Earliest:
    return Earliest(
        previous_step=None if previous is None else as_utc(previous),
        produced=produced,
        released=None if released is None else as_utc(released),
    )
