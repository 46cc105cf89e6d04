"""Dialect-specific bulk work, one function each: fast inserts and scratch tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError


def bulk_insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert many rows at driver speed: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    A constraint violation surfaces as SQLAlchemy's ``IntegrityError``, as any other write's.
    """
    cols = ", ".join(columns)
    statement = f"INSERT INTO {table} ({cols})"
    try:
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" for _ in columns)
            raw: Any = conn.connection.driver_connection
            raw.executemany(f"{statement} VALUES ({marks})", rows)
            return
        raw_pg: Any = conn.connection.driver_connection
        with raw_pg.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
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
