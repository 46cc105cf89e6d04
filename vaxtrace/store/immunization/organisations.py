"""SQL of the province's organisations (its CDCs and vaccination sites)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, select

from vaxtrace.store.immunization.schema import organisation
from vaxtrace.store.rows import put_row


def find_organisation(conn: Connection, uscc: str) -> RowMapping | None:
    query = select(organisation).where(organisation.c.uscc == uscc)
    return conn.execute(query).mappings().first()


def put_organisation(conn: Connection, row: dict[str, Any]) -> None:
    """Insert or update one organisation."""
    put_row(conn, organisation, row)
