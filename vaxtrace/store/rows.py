"""Rows kept in step with what a register says (organisations, regulators)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update


def put_row(conn: Connection, table: Table, row: Mapping[str, Any], key: str = "uscc") -> None:
    """Insert ``row``, or update the row with its ``key`` where it differs (an unchanged row
    is not written again)."""
    column = table.c[key]
    found = conn.execute(select(table).where(column == row[key])).mappings().first()
    if found is None:
        conn.execute(insert(table).values(**row))
    elif {k: found[k] for k in row} != dict(row):
        conn.execute(update(table).where(column == row[key]).values(**row))


def held_keys(conn: Connection, table: Table, keys: Collection[str], key: str = "uscc") -> set[str]:
    """Which of ``keys`` have a row in ``table``."""
    column, wanted = table.c[key], sorted(keys)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        query = select(column).where(column.in_(wanted[start : start + 500]))
        found.update(str(k) for k in conn.execute(query).scalars())
    return found
