"""SQL of the expiry job (过期处理): which batches an earlier run found expired, each run and
the batches it found newly expired."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from vaxtrace.store.immunization.schema import expired_batch, expiry_run, journal
from vaxtrace.store.rows import in_batches


def expired_already(conn: Connection, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (MAH, batch) of ``keys`` an earlier run recorded as expired."""
    found: set[tuple[str, str]] = set()
    by_mah: dict[str, list[str]] = {}
    for mah, batch_no in keys:
        by_mah.setdefault(mah, []).append(batch_no)
    for mah, batch_nos in by_mah.items():
        for part in in_batches(sorted(batch_nos)):
            query = select(expired_batch.c.batch_no).where(
                expired_batch.c.mah_uscc == mah, expired_batch.c.batch_no.in_(part)
            )
            found.update((mah, str(b)) for b in conn.execute(query).scalars())
    return found


def record_expiry_run(
    conn: Connection,
    *,
    run_on: date,
    source: str,
    batches: Sequence[Mapping[str, Any]],
    now: datetime,
) -> int:
    """Keep one run and the batches it found newly expired (``mah_uscc``, ``batch_no``,
    ``product_code``, ``expiry_date``, ``doses``, ``units``); answers the run's id."""
    run_id = conn.execute(
        insert(expiry_run)
        .values(
            run_on=run_on,
            source=source,
            batches=len(batches),
            doses=sum(int(b["doses"]) for b in batches),
            recorded_at=now,
        )
        .returning(expiry_run.c.id)
    ).scalar_one()
    if batches:
        conn.execute(insert(expired_batch), [dict(b) | {"run_id": run_id} for b in batches])
    run = {"run_id": int(run_id), "run_on": run_on, "source": source}
    journal.keep(conn, "expiry_run", run | {"batches": [dict(b) for b in batches]})
    return int(run_id)


def last_expiry_run(conn: Connection) -> RowMapping | None:
    query = select(expiry_run).order_by(expiry_run.c.id.desc()).limit(1)
    return conn.execute(query).mappings().first()
