"""Dialect-specific bulk work, one function each: fast inserts and scratch tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

FEW_ROWS = 100
"""Up to this many rows (given as a list) PostgreSQL gets an INSERT, not a COPY."""


def bulk_insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert many rows at driver speed: ``executemany`` on SQLite, ``COPY`` on PostgreSQL
    (``executemany`` there too for a list of a few rows, such as a write's log leaf and nodes:
    one round trip, where COPY takes two and more work).

    A constraint violation surfaces as SQLAlchemy's ``IntegrityError``, as any other write's.
    """
    cols = ", ".join(columns)
    statement = f"INSERT INTO {table} ({cols})"
    try:
        raw: Any = conn.connection.driver_connection
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" for _ in columns)
            raw.executemany(f"{statement} VALUES ({marks})", rows)
            return
        if isinstance(rows, list | tuple) and len(rows) <= FEW_ROWS:
            marks = ", ".join("%s" for _ in columns)
            with raw.cursor() as cur:
                cur.executemany(f"{statement} VALUES ({marks})", rows)
            return
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc


def scratch_table(conn: Connection, name: str, columns_sql: str) -> None:
    """A per-transaction scratch table ``name``, created on first use and empty on return.

    Straight through the driver, as every write of a set of codes does it: on PostgreSQL both
    statements in one round trip (no parameters: the simple protocol takes several).
    """
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns_sql})")
        raw.execute(f"DELETE FROM {name}")
        return
    raw.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns_sql}) ON COMMIT DELETE ROWS; "
        f"DELETE FROM {name}"
    )


def lock_for_ids(conn: Connection, table: str) -> None:
    """Serialise writers that hand out explicit ids (SQLite's write lock already does)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def analyze(conn: Connection) -> None:
    """Refresh planner statistics after a large load."""
    conn.exec_driver_sql("ANALYZE")
