"""SQL of the province's organisations (its CDCs and vaccination sites)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from vaxtrace.store.immunization.schema import organisation


def find_organisation(conn: Connection, uscc: str) -> RowMapping | None:
    query = select(organisation).where(organisation.c.uscc == uscc)
    return conn.execute(query).mappings().first()


def put_organisation(conn: Connection, row: dict[str, Any]) -> None:
    """Insert or update one organisation."""
    found = find_organisation(conn, row["uscc"])
    if found is None:
        conn.execute(insert(organisation).values(**row))
    elif {k: found[k] for k in row} != row:
        conn.execute(update(organisation).where(organisation.c.uscc == row["uscc"]).values(**row))
