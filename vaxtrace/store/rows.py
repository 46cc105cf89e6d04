"""Rows kept in step with what a register says (organisations, regulators), and rows
written only if new."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite


def put_row(conn: Connection, table: Table, row: Mapping[str, Any], key: str = "uscc") -> None:
    """Insert ``row``, or update the row with its ``key`` where it differs (an unchanged row
    is not written again)."""
    put_rows(conn, table, [row], key)


def put_rows(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: str = "uscc"
) -> None:
    """:func:`put_row` for many rows (the last of a key wins): one read a batch of 500, one
    insert for all the new rows, an update only for each row that differs."""
    latest = {row[key]: dict(row) for row in rows}
    found = _rows_of(conn, table, table.c[key], sorted(latest))
    fresh = [row for k, row in latest.items() if k not in found]
    if fresh:
        conn.execute(insert(table), fresh)
    for k, row in latest.items():
        if k in found and {c: found[k][c] for c in row} != row:
            conn.execute(update(table).where(table.c[key] == k).values(**row))


def _rows_of(conn: Connection, table: Table, column: Any, keys: list[str]) -> dict[str, RowMapping]:
    found: dict[str, RowMapping] = {}
    for batch in in_batches(keys):
        query = select(table).where(column.in_(batch))
        found.update({row[column.name]: row for row in conn.execute(query).mappings()})
    return found


def update_or_insert(
    conn: Connection, table: Table, keys: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """Set ``values`` on the row ``keys`` name, inserting it if there is none."""
    where = [table.c[column] == value for column, value in keys.items()]
    if conn.execute(update(table).where(*where).values(**values)).rowcount == 0:
        conn.execute(insert(table).values(**keys, **values))


def held_keys(conn: Connection, table: Table, keys: Collection[str], key: str = "uscc") -> set[str]:
    """Which of ``keys`` have a row in ``table``."""
    column, found = table.c[key], set[str]()
    for batch in in_batches(sorted(keys)):
        found.update(
            str(k) for k in conn.execute(select(column).where(column.in_(batch))).scalars()
        )
    return found


def in_batches(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """``values`` a batch at a time, for ``IN`` lists of a bounded length."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_new(conn: Connection, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, in the connection's dialect: a row another
    transaction wrote first stands (whether a row was made is told by RETURNING: a row count
    is not, on every driver)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
