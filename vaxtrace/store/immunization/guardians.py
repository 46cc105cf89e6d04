"""SQL of guardians' accounts and sessions: a password's argon2id hash, a session token's
SHA-256, never the secrets themselves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from vaxtrace.store.immunization.schema import guardian_account, guardian_session


def find_by_phone(conn: Connection, phone: str) -> RowMapping | None:
    query = select(guardian_account).where(guardian_account.c.phone == phone)
    return conn.execute(query).mappings().first()


def find(conn: Connection, account_id: int) -> RowMapping | None:
    query = select(guardian_account).where(guardian_account.c.id == account_id)
    return conn.execute(query).mappings().first()


def insert_account(conn: Connection, values: Mapping[str, Any]) -> int:
    query = insert(guardian_account).values(**values).returning(guardian_account.c.id)
    return int(conn.execute(query).scalar_one())


def update_account(conn: Connection, account_id: int, **values: Any) -> None:
    conn.execute(
        update(guardian_account).where(guardian_account.c.id == account_id).values(**values)
    )


def count_failure(conn: Connection, account_id: int) -> int:
    """One more failed login in a row (atomic); answers how many now."""
    conn.execute(
        update(guardian_account)
        .where(guardian_account.c.id == account_id)
        .values(failures=guardian_account.c.failures + 1)
    )
    query = select(guardian_account.c.failures).where(guardian_account.c.id == account_id)
    return int(conn.execute(query).scalar_one())


def open_session(
    conn: Connection, token_sha256: str, account_id: int, now: datetime, expires_at: datetime
) -> None:
    conn.execute(
        insert(guardian_session).values(
            token_sha256=token_sha256, account_id=account_id, created_at=now, expires_at=expires_at
        )
    )


def session(conn: Connection, token_sha256: str) -> RowMapping | None:
    """A session with its account's phone and whether its password must change."""
    query = (
        select(
            guardian_session.c.account_id,
            guardian_session.c.expires_at,
            guardian_account.c.phone,
            guardian_account.c.must_change,
        )
        .join(guardian_account, guardian_account.c.id == guardian_session.c.account_id)
        .where(guardian_session.c.token_sha256 == token_sha256)
    )
    return conn.execute(query).mappings().first()


def end_session(conn: Connection, token_sha256: str) -> None:
    conn.execute(delete(guardian_session).where(guardian_session.c.token_sha256 == token_sha256))


def end_sessions(conn: Connection, account_id: int, keep: str | None = None) -> None:
    """End every session of an account (but ``keep``)."""
    query = delete(guardian_session).where(guardian_session.c.account_id == account_id)
    if keep is not None:
        query = query.where(guardian_session.c.token_sha256 != keep)
    conn.execute(query)
