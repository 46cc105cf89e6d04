"""SQL of the regulators' locks (监管锁定): which goods a regulator may lock (those with a step
inside its area), the orders kept, and how each stands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, literal, select, union, update

from vaxtrace.store.rows import in_batches
from vaxtrace.store.supervision.areas import newest_in_area
from vaxtrace.store.supervision.schema import (
    journal,
    regulator_lock,
    supervised_code_batch,
    supervised_code_parent,
    supervised_code_step,
    supervised_step,
    supervised_step_batch,
)


def batches_seen(
    conn: Connection, mah_uscc: str, batch_nos: Sequence[str], area_prefix: str
) -> set[str]:
    """Which of the MAH's batches had a step inside the area: on a code of the batch, or on
    the whole batch ("" area: known to this node at all)."""
    cs, cb, sb, s = (
        supervised_code_step.c,
        supervised_code_batch.c,
        supervised_step_batch.c,
        supervised_step.c,
    )
    seen: set[str] = set()
    for part in in_batches(list(batch_nos)):
        by_code = (
            select(cb.batch_no)
            .join_from(supervised_code_batch, supervised_code_step, cs.code == cb.code)
            .where(
                cb.mah_uscc == mah_uscc,
                cb.batch_no.in_(part),
                cs.division_code.like(area_prefix + "%"),
            )
        )
        by_batch = (
            select(sb.batch_no)
            .join_from(supervised_step_batch, supervised_step, s.id == sb.step_id)
            .where(
                sb.mah_uscc == mah_uscc,
                sb.batch_no.in_(part),
                s.division_code.like(area_prefix + "%"),
            )
        )
        seen |= {str(b) for b in conn.execute(union(by_code, by_batch)).scalars()}
    return seen


def codes_seen(
    conn: Connection, mah_uscc: str, codes: Sequence[str], area_prefix: str
) -> dict[str, str]:
    """The batch of each of ``codes`` that is the MAH's and had a step of its own inside the
    area (codes missing from the answer are unknown here, another MAH's, or elsewhere)."""
    cs, cb = supervised_code_step.c, supervised_code_batch.c
    found: dict[str, str] = {}
    for part in in_batches(list(codes)):
        query = (
            select(cb.code, cb.batch_no)
            .where(cb.mah_uscc == mah_uscc, cb.code.in_(part))
            .where(
                select(literal(1))
                .where(cs.code == cb.code, cs.division_code.like(area_prefix + "%"))
                .exists()
            )
        )
        found |= {str(c): str(b) for c, b in conn.execute(query)}
    return found


def with_contents(conn: Connection, codes: Sequence[str]) -> list[str]:
    """``codes`` and every code inside them, as far as this node knows the packing (a lock
    of a case is a lock of its doses, wherever the case was opened)."""
    p = supervised_code_parent.c
    held = select(p.code).where(p.parent.in_(list(codes))).cte("held", recursive=True)
    held = held.union(
        select(p.code).join_from(supervised_code_parent, held, p.parent == held.c.code)
    )
    inside = [str(c) for c in conn.execute(select(held.c.code)).scalars()]
    return list(dict.fromkeys([*codes, *inside]))


def add_lock(conn: Connection, row: Mapping[str, Any]) -> int:
    """Keep a lock order (``row``: the table's columns but ``id``) and journal it."""
    lock_id = int(
        conn.execute(
            insert(regulator_lock).values(**row).returning(regulator_lock.c.id)
        ).scalar_one()
    )
    journal.keep(conn, "regulator_lock", {"lock_id": lock_id} | dict(row))
    return lock_id


def lock_of(conn: Connection, lock_id: int, area_prefix: str) -> RowMapping | None:
    """A lock order made inside the area (None: no such order there)."""
    r = regulator_lock.c
    query = select(regulator_lock).where(r.id == lock_id, r.division_code.like(area_prefix + "%"))
    return conn.execute(query.with_for_update()).mappings().first()


def lock_by_document(conn: Connection, document_no: str) -> RowMapping | None:
    r = regulator_lock.c
    return (
        conn.execute(select(regulator_lock).where(r.document_no == document_no)).mappings().first()
    )


def locks_in(
    conn: Connection, area_prefix: str, *, before: int | None, limit: int
) -> list[RowMapping]:
    """The lock orders made inside an area, newest first."""
    return newest_in_area(conn, regulator_lock, area_prefix, before=before, limit=limit)


def set_state(conn: Connection, lock_id: int, kind: str, **values: Any) -> None:
    """Move an order on (``values``: its new ``state`` and the ``resolution`` or ``refusal``
    that moved it), journaled as ``kind``."""
    conn.execute(update(regulator_lock).where(regulator_lock.c.id == lock_id).values(**values))
    journal.keep(conn, kind, {"lock_id": lock_id} | values)
