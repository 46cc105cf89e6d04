"""SQL of the province's organisations (its CDCs and vaccination sites)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, select

from vaxtrace.store import tokens
from vaxtrace.store.immunization.schema import api_token, organisation
from vaxtrace.store.rows import put_row


def find_organisation(conn: Connection, uscc: str) -> RowMapping | None:
    query = select(organisation).where(organisation.c.uscc == uscc)
    return conn.execute(query).mappings().first()


def put_organisation(conn: Connection, row: dict[str, Any]) -> None:
    """Insert or update one organisation."""
    put_row(conn, organisation, row)


def store_new_token(conn: Connection, org_uscc: str, label: str) -> str:
    """A new API token of a unit's staff (only its SHA-256 is kept); the token."""
    return tokens.store_new_token(conn, api_token, org_uscc, label)


def token_holder(conn: Connection, token: str) -> str | None:
    """The unit an API token belongs to, if any."""
    return tokens.token_holder(conn, api_token, token)
