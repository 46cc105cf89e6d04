"""Bearer API tokens for the staff of a role's organisations: only a token's SHA-256 is
stored, so a leaked database holds no usable token. Every role that has staff (trace,
immunization, supervision) keeps its tokens in an ``api_token`` table (:func:`api_token_table`)
and issues and checks them through one :class:`StaffTokens`, which its store package builds
over that table."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    ForeignKey,
    MetaData,
    String,
    Table,
    insert,
    select,
)

from vaxtrace.store.engine import Engine, read_tx, write_tx

PREFIX = "vt_"


def api_token_table(metadata: MetaData, holders: str) -> Table:
    """A role's ``api_token`` table; ``holders`` is the column its organisations are keyed by
    (``organisation.uscc``)."""
    return Table(
        "api_token",
        metadata,
        Column("token_sha256", String(64), primary_key=True),
        Column("org_uscc", String(18), ForeignKey(holders), nullable=False),
        Column("label", String(100), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def store_new_token(conn: Connection, table: Table, org_uscc: str, label: str) -> str:
    """Make a token for an organisation and store its hash, in the caller's transaction;
    the token itself is answered once and never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(table).values(
            token_sha256=token_sha256(token),
            org_uscc=org_uscc,
            label=label,
            created_at=datetime.now(UTC),
        )
    )
    return token


def token_holder(conn: Connection, table: Table, token: str) -> str | None:
    """The organisation a token belongs to, if any."""
    query = select(table.c.org_uscc).where(table.c.token_sha256 == token_sha256(token))
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


KnownHolder = Callable[[Connection, str], object]
"""A role's check that an organisation is one whose staff it serves (a province's unit, a
regulator, any registered organisation of a trace system): it refuses one that is not."""


class StaffTokens:
    """The one token service every role with staff uses: its ``api_token`` table, and the
    role's check of who may hold a token there (``known``)."""

    def __init__(self, engine: Engine, table: Table, known: KnownHolder) -> None:
        self.engine, self.table, self.known = engine, table, known

    def issue(self, org_uscc: str, label: str = "api") -> str:
        """An API token for the staff of an organisation the role knows (refused by ``known``
        otherwise); only its SHA-256 is stored."""
        with write_tx(self.engine) as conn:
            self.known(conn, org_uscc)
            return store_new_token(conn, self.table, org_uscc, label)

    def holder(self, token: str) -> str | None:
        """The organisation an API token belongs to, if any."""
        with read_tx(self.engine) as conn:
            return token_holder(conn, self.table, token)
