"""Database triggers that make history tables append-only (no UPDATE, no DELETE)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

APPEND_ONLY_MESSAGE = "append-only history: corrections are new events"


def install_append_only(conn: Connection, tables: Iterable[str]) -> None:
    if conn.dialect.name == "sqlite":
        for table in tables:
            for op in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
                )
        return
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION vaxtrace_append_only() RETURNS trigger AS $$ "
        f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$ LANGUAGE plpgsql"
    )
    for table in tables:
        conn.exec_driver_sql(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION vaxtrace_append_only()"
        )
        # TRUNCATE fires no row trigger: refuse it with a statement trigger of its own.
        conn.exec_driver_sql(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION vaxtrace_append_only()"
        )


def drop_append_only(conn: Connection, tables: Iterable[str]) -> None:
    for table in tables:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
