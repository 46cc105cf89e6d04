"""Production batches (生产批次): registering them, and steps on whole batches (their codes
moved along the status table at once, counted by status or by holder)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, case, func, insert, select, update

from vaxtrace.core.datasets.production import Batch
from vaxtrace.core.status import TRANSITIONS as STATUS_TRANSITIONS
from vaxtrace.core.status import Action
from vaxtrace.store.trace.schema import batch, product, trace_code


def batch_by_no(conn: Connection, mah_uscc: str, batch_no: str) -> RowMapping | None:
    query = (
        select(batch, product.c.data.label("product_data"), product.c.family)
        .join(product, product.c.id == batch.c.product_id)
        .where(batch.c.mah_uscc == mah_uscc, batch.c.batch_no == batch_no)
    )
    return conn.execute(query).mappings().first()


BATCH_FIELDS = ("batch_no", "production_date", "expiry_date", "quantity", "customs_clearance_no")
"""What a batch's row keeps of its registration, as registered."""


def add_batch(conn: Connection, mah_uscc: str, product_id: int, item: Batch) -> None:
    """Insert a batch of one of the MAH's products."""
    registered = item.model_dump(include=set(BATCH_FIELDS))
    conn.execute(
        insert(batch).values(product_id=product_id, mah_uscc=mah_uscc, next_serial=0, **registered)
    )


def set_status_of_batches(conn: Connection, batch_ids: Sequence[int], action: Action) -> int:
    """Apply ``action`` to every code of the given batches whose status allows it."""
    mapping = STATUS_TRANSITIONS[action]
    result = conn.execute(
        update(trace_code)
        .where(
            trace_code.c.batch_id.in_(list(batch_ids)),
            trace_code.c.status.in_([s.value for s in mapping]),
        )
        .values(
            status=case({b.value: a.value for b, a in mapping.items()}, value=trace_code.c.status)
        )
    )
    return int(result.rowcount)


def batches_status_counts(conn: Connection, batch_ids: Sequence[int]) -> dict[str, int]:
    query = (
        select(trace_code.c.status, func.count())
        .where(trace_code.c.batch_id.in_(list(batch_ids)))
        .group_by(trace_code.c.status)
    )
    return {r[0]: int(r[1]) for r in conn.execute(query)}


def batch_where_now(conn: Connection, batch_id: int) -> list[RowMapping]:
    """Doses of a batch counted by current holder and status."""
    query = (
        select(trace_code.c.holder_uscc, trace_code.c.status, func.count().label("doses"))
        .where(trace_code.c.batch_id == batch_id, trace_code.c.level == 1)
        .group_by(trace_code.c.holder_uscc, trace_code.c.status)
        .order_by(trace_code.c.holder_uscc, trace_code.c.status)
    )
    return list(conn.execute(query).mappings())
