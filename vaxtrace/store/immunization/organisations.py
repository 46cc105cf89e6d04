"""SQL of the province's organisations (its CDCs and vaccination sites) and their staff's
API tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, select

from vaxtrace.store.immunization.schema import api_token, organisation
from vaxtrace.store.rows import put_row
from vaxtrace.store.tokens import KnownHolder, StaffTokens


def find_organisation(conn: Connection, uscc: str) -> RowMapping | None:
    query = select(organisation).where(organisation.c.uscc == uscc)
    return conn.execute(query).mappings().first()


def put_organisation(conn: Connection, row: dict[str, Any]) -> None:
    """Insert or update one organisation."""
    put_row(conn, organisation, row)


def staff_tokens(engine: Engine, known: KnownHolder) -> StaffTokens:
    """The API tokens of the units' staff, issued to a unit ``known`` finds."""
    return StaffTokens(engine, api_token, known)
