"""SQL of the province's stock by code, set-based: a document's codes go into a scratch table
once, every check is one query over it, and a move is one statement over the codes and
everything inside them (a recursive walk of ``stock.parent_code``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, func, insert, select, text

from vaxtrace.core.province import StockState
from vaxtrace.store.bulk import bulk_insert, scratch_table
from vaxtrace.store.immunization.schema import stock

LISTED = "province_listed"
"""The codes a document names, canonical."""
AFFECTED = "province_affected"
"""The listed codes and everything inside them now."""
IN_STOCK = StockState.IN_STOCK.value


def load_listed(conn: Connection, codes: Sequence[str]) -> None:
    """Put a document's (distinct, canonical) codes in the scratch table."""
    scratch_table(conn, LISTED, "code VARCHAR(120) PRIMARY KEY")
    bulk_insert(conn, LISTED, ("code",), ((c,) for c in codes))


def unknown_listed(conn: Connection, limit: int = 5) -> list[str]:
    """Listed codes the province never received."""
    query = text(
        f"SELECT l.code FROM {LISTED} l LEFT JOIN stock s ON s.code = l.code "
        "WHERE s.code IS NULL ORDER BY l.code LIMIT :n"
    )
    return [r[0] for r in conn.execute(query, {"n": limit})]


def listed_elsewhere(conn: Connection, holder_uscc: str, limit: int = 5) -> list[RowMapping]:
    """Listed codes another organisation holds: (code, holder_uscc)."""
    query = text(
        f"SELECT s.code, s.holder_uscc FROM {LISTED} l JOIN stock s ON s.code = l.code "
        "WHERE s.holder_uscc <> :holder ORDER BY s.code LIMIT :n"
    )
    return list(conn.execute(query, {"holder": holder_uscc, "n": limit}).mappings())


def listed_out_of_stock(conn: Connection, limit: int = 5) -> list[RowMapping]:
    """Listed codes used, damaged or returned: (code, state)."""
    query = text(
        f"SELECT s.code, s.state FROM {LISTED} l JOIN stock s ON s.code = l.code "
        "WHERE s.state <> :in_stock ORDER BY s.code LIMIT :n"
    )
    return list(conn.execute(query, {"in_stock": IN_STOCK, "n": limit}).mappings())


def listed_present(conn: Connection, limit: int = 5) -> list[str]:
    """Listed codes the province has and did not return (a receipt cannot take them again)."""
    query = text(
        f"SELECT s.code FROM {LISTED} l JOIN stock s ON s.code = l.code "
        "WHERE s.state <> :returned ORDER BY s.code LIMIT :n"
    )
    return [r[0] for r in conn.execute(query, {"returned": StockState.RETURNED.value, "n": limit})]


def expand_listed(conn: Connection) -> list[str]:
    """Fill the affected set: listed codes (all in stock, checked before) and everything
    inside them now. Answers listed codes that are also inside another listed code (empty
    when all is well)."""
    scratch_table(conn, AFFECTED, "code VARCHAR(120)")
    conn.exec_driver_sql(
        f"INSERT INTO {AFFECTED} (code) "
        "WITH RECURSIVE sub(code) AS ("
        f"SELECT s.code FROM stock s JOIN {LISTED} l ON l.code = s.code "
        "UNION ALL SELECT s.code FROM stock s JOIN sub ON s.parent_code = sub.code) "
        "SELECT code FROM sub"
    )
    query = text(
        f"SELECT code FROM {AFFECTED} GROUP BY code HAVING count(*) > 1 ORDER BY code LIMIT 5"
    )
    return [r[0] for r in conn.execute(query)]


def affected_count(conn: Connection) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {AFFECTED}")).scalar_one())


def suppliers_of_listed(conn: Connection) -> set[str]:
    """The MAHs that supplied the listed codes."""
    query = text(f"SELECT DISTINCT s.mah_uscc FROM {LISTED} l JOIN stock s ON s.code = l.code")
    return {str(r[0]) for r in conn.execute(query)}


def holds_anything(conn: Connection, code: str) -> bool:
    """Whether a code is a container with something still inside it."""
    query = select(stock.c.code).where(stock.c.parent_code == code).limit(1)
    return conn.execute(query).first() is not None


def detach_listed(conn: Connection, now: datetime) -> list[str]:
    """Take listed codes out of their containers (a box leaves its opened case); answers
    the codes taken out."""
    query = text(
        f"SELECT s.code FROM {LISTED} l JOIN stock s ON s.code = l.code "
        "WHERE s.parent_code IS NOT NULL ORDER BY s.code"
    )
    detached = [r[0] for r in conn.execute(query)]
    if detached:
        conn.execute(
            text(
                "UPDATE stock SET parent_code = NULL, updated_at = :now "
                f"WHERE code IN (SELECT code FROM {LISTED}) AND parent_code IS NOT NULL"
            ),
            {"now": now},
        )
    return detached


def move_affected(
    conn: Connection, *, holder_uscc: str, to_holder: str, to_state: StockState, now: datetime
) -> int:
    """Hand every affected code that ``holder_uscc`` has in stock to ``to_holder`` in
    ``to_state``, in one statement; answers how many moved."""
    result = conn.execute(
        text(
            "UPDATE stock SET holder_uscc = :to_holder, state = :to_state, updated_at = :now "
            f"WHERE code IN (SELECT code FROM {AFFECTED}) "
            "AND holder_uscc = :holder AND state = :in_stock"
        ),
        {
            "to_holder": to_holder,
            "to_state": to_state.value,
            "now": now,
            "holder": holder_uscc,
            "in_stock": IN_STOCK,
        },
    )
    return int(result.rowcount)


def clear_returned(conn: Connection) -> None:
    """Forget the earlier, returned stay of listed codes that come back (and of whatever
    was inside them when they left), so the new receipt records them afresh."""
    conn.execute(
        text(
            "WITH RECURSIVE sub(code) AS ("
            f"SELECT s.code FROM stock s JOIN {LISTED} l ON l.code = s.code "
            "WHERE s.state = :returned "
            "UNION ALL SELECT s.code FROM stock s JOIN sub ON s.parent_code = sub.code "
            "WHERE s.state = :returned) "
            "DELETE FROM stock WHERE code IN (SELECT code FROM sub)"
        ),
        {"returned": StockState.RETURNED.value},
    )


def put_in_stock(
    conn: Connection,
    placement: Sequence[tuple[str, str | None]],
    *,
    holder_uscc: str,
    mah_uscc: str,
    receipt_id: int,
    now: datetime,
    batches: Mapping[str, str] | None = None,
) -> None:
    """Add received codes, each with the container it is in (None: loose) and its batch
    (``batches``, by code), in one statement."""
    conn.execute(
        insert(stock),
        [
            {
                "code": code,
                "parent_code": parent,
                "holder_uscc": holder_uscc,
                "state": IN_STOCK,
                "mah_uscc": mah_uscc,
                "receipt_id": receipt_id,
                "updated_at": now,
                "batch_no": (batches or {}).get(code),
            }
            for code, parent in placement
        ],
    )


def by_state(conn: Connection, holder_uscc: str) -> dict[str, int]:
    """How many codes an organisation holds, by state."""
    query = (
        select(stock.c.state, func.count())
        .where(stock.c.holder_uscc == holder_uscc)
        .group_by(stock.c.state)
    )
    return {str(state): int(n) for state, n in conn.execute(query)}


def loose_in_stock(conn: Connection, holder_uscc: str, limit: int) -> list[RowMapping]:
    """The outermost codes an organisation has in stock, with how many codes each holds
    directly: (code, mah_uscc, inside)."""
    inner = stock.alias("inner")
    inside = (
        select(func.count())
        .select_from(inner)
        .where(inner.c.parent_code == stock.c.code)
        .scalar_subquery()
    )
    query = (
        select(stock.c.code, stock.c.mah_uscc, inside.label("inside"))
        .where(
            stock.c.holder_uscc == holder_uscc,
            stock.c.state == IN_STOCK,
            stock.c.parent_code.is_(None),
        )
        .order_by(stock.c.code)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def code_row(conn: Connection, code: str) -> RowMapping | None:
    return conn.execute(select(stock).where(stock.c.code == code)).mappings().first()


def inside_of(conn: Connection, code: str) -> list[str]:
    """The codes directly inside a container."""
    query = select(stock.c.code).where(stock.c.parent_code == code).order_by(stock.c.code)
    return [str(c) for c in conn.execute(query).scalars()]
