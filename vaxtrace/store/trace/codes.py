"""Trace codes (药品追溯码): issuing them (ids, serials, rows at driver speed), and reading one
code with its batch and product, its container or what it holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, text, update

from vaxtrace.core.status import Status
from vaxtrace.store.bulk import bulk_insert, lock_for_ids
from vaxtrace.store.rows import in_batches
from vaxtrace.store.trace.affected import LISTED, load_listed
from vaxtrace.store.trace.schema import batch, product, trace_code


def next_code_id(conn: Connection) -> int:
    lock_for_ids(conn, "trace_code")
    return int(conn.execute(select(func.coalesce(func.max(trace_code.c.id), 0))).scalar_one()) + 1


def max_serial(conn: Connection, identification: str, width: int) -> int:
    """Highest numeric serial issued under an identification code (our serials are numbers).

    GS1: only serials of exactly ``width`` digits can collide with the ones we generate, but
    uploaded serials may be shorter or alphanumeric; walk down from the highest code of that
    length past any that is not all digits (codes compare byte-wise on both backends).
    """
    if len(identification) == 7:  # 20-digit family: serial at positions 8–16
        low, high = identification + "0" * 13, identification + "9" * 13
        serial = func.substr(trace_code.c.code, 8, 9)
        query = select(func.max(serial)).where(trace_code.c.code >= low, trace_code.c.code <= high)
        found = conn.execute(query).scalar_one()
        return int(found) if found and str(found).isdigit() else -1
    prefix = f"01{identification}21"
    upper = prefix + ":"  # ":" sorts right after "9": every all-digit serial is below it
    while True:
        query = (
            select(trace_code.c.code)
            .where(
                trace_code.c.code >= prefix + "0" * width,
                trace_code.c.code < upper,
                func.length(trace_code.c.code) == len(prefix) + width,
            )
            .order_by(trace_code.c.code.desc())
            .limit(1)
        )
        code = conn.execute(query).scalar_one_or_none()
        if code is None:
            return -1
        tail = str(code)[len(prefix) :]
        k = next((i for i, ch in enumerate(tail) if not "0" <= ch <= "9"), None)
        if k is None:
            return int(tail)
        # every all-digit serial at or below this code sorts below its digit-only head
        upper = prefix + tail[:k] + (":" if tail[k] > "9" else "")


CODE_COLUMNS = (
    "id",
    "code",
    "level",
    "product_id",
    "batch_id",
    "parent_id",
    "parent_since",
    "status",
    "holder_uscc",
    "commission_event_id",
)


def insert_codes(conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
    """Insert code rows (in ``CODE_COLUMNS`` order) at driver speed."""
    bulk_insert(conn, "trace_code", CODE_COLUMNS, rows)


def existing_codes(conn: Connection, values: Sequence[str], limit: int = 5) -> list[str]:
    load_listed(conn, values)
    query = text(f"SELECT l.value FROM {LISTED} l JOIN trace_code c ON c.code = l.value LIMIT :n")
    return [r[0] for r in conn.execute(query, {"n": limit})]


def doses_commissioned(conn: Connection, batch_id: int) -> int:
    """The doses (level 1 codes) issued for a batch so far."""
    query = select(func.count()).where(trace_code.c.batch_id == batch_id, trace_code.c.level == 1)
    return int(conn.execute(query).scalar_one())


def mark_replaced(conn: Connection, old_id: int, new_id: int) -> None:
    conn.execute(
        update(trace_code)
        .where(trace_code.c.id == old_id)
        .values(replaced_by_id=new_id, status=Status.SUSPENDED.value)
    )


def code_detail(conn: Connection, value: str) -> RowMapping | None:
    query = (
        select(
            trace_code,
            batch.c.batch_no,
            batch.c.expiry_date,
            batch.c.production_date,
            product.c.product_code,
            product.c.mah_uscc,
            product.c.data.label("product_data"),
        )
        .join(batch, batch.c.id == trace_code.c.batch_id)
        .join(product, product.c.id == trace_code.c.product_id)
        .where(trace_code.c.code == value)
    )
    return conn.execute(query).mappings().first()


def code_by_id(conn: Connection, code_id: int) -> RowMapping | None:
    return conn.execute(select(trace_code).where(trace_code.c.id == code_id)).mappings().first()


def children_of(conn: Connection, code_id: int) -> list[RowMapping]:
    query = (
        select(trace_code.c.code, trace_code.c.level, trace_code.c.status)
        .where(trace_code.c.parent_id == code_id)
        .order_by(trace_code.c.code)
    )
    return list(conn.execute(query).mappings())


def outermost(conn: Connection, values: Sequence[str]) -> list[str]:
    """Those of ``values`` not inside another of them (a set of codes with everything they
    hold, reduced to the containers it was made from), in the order given."""
    given, inner = set(values), set()
    child, parent = trace_code.alias("child"), trace_code.alias("parent")
    for part in in_batches(list(values)):
        query = (
            select(child.c.code, parent.c.code)
            .join_from(child, parent, parent.c.id == child.c.parent_id)
            .where(child.c.code.in_(part))
        )
        inner |= {str(c) for c, p in conn.execute(query) if p in given}
    return [v for v in values if v not in inner]
