"""SQL of the reminders: claiming one before it is sent (so no reminder goes twice, whatever
runs at once), marking it sent or failed, and the guardians who opted out."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, update

from vaxtrace.store.immunization.schema import reminder, reminder_opt_out
from vaxtrace.store.rows import insert_new

CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"

CHUNK = 500
"""Keys asked in one IN list (a run asks of a whole province's children)."""

Key = tuple[str, str, int, str, str]
"""A reminder: (child_id, vaccine, dose, channel, contact_sha256)."""


def _is(key: Key) -> Any:
    child_id, vaccine, dose, channel, contact = key
    c = reminder.c
    return and_(
        c.child_id == child_id,
        c.vaccine == vaccine,
        c.dose == dose,
        c.channel == channel,
        c.contact_sha256 == contact,
    )


def claim(
    conn: Connection,
    key: Key,
    *,
    site_uscc: str,
    run_id: str,
    token_sha256: str,
    now: datetime,
    lease: timedelta,
) -> bool:
    """Claim one reminder for ``run_id``: new, or failed before, or claimed by a run that did
    not finish within ``lease`` (it stopped between its claim and its mark). False when it
    is sent already or another run holds it."""
    child_id, vaccine, dose, channel, contact = key
    made = conn.execute(
        insert_new(conn, reminder)
        .values(
            child_id=child_id,
            vaccine=vaccine,
            dose=dose,
            channel=channel,
            contact_sha256=contact,
            site_uscc=site_uscc,
            state=CLAIMED,
            attempts=1,
            run_id=run_id,
            claimed_at=now,
            token_sha256=token_sha256,
        )
        .returning(reminder.c.id)
    )
    if made.first() is not None:
        return True
    c = reminder.c
    taken = conn.execute(
        update(reminder)
        .where(
            _is(key),
            or_(c.state == FAILED, and_(c.state == CLAIMED, c.claimed_at < now - lease)),
        )
        .values(
            state=CLAIMED,
            run_id=run_id,
            claimed_at=now,
            attempts=c.attempts + 1,
            site_uscc=site_uscc,
            token_sha256=token_sha256,
        )
    )
    return int(taken.rowcount) == 1


def mark(
    conn: Connection,
    keys: Sequence[Key],
    run_id: str,
    state: str,
    now: datetime,
    error: str | None = None,
) -> list[RowMapping]:
    """The reminders ``run_id`` claimed are sent (or failed, with the error); answers them."""
    values: dict[str, Any] = {"state": state}
    if state == SENT:
        values |= {"sent_at": now, "last_error": None}
    else:
        values["last_error"] = (error or "")[:500]
    done: list[RowMapping] = []
    for key in keys:
        where = and_(_is(key), reminder.c.run_id == run_id, reminder.c.state == CLAIMED)
        conn.execute(update(reminder).where(where).values(**values))
        row = conn.execute(select(reminder).where(_is(key))).mappings().first()
        if row is not None:
            done.append(row)
    return done


def states(conn: Connection, keys: Collection[Key]) -> dict[Key, str]:
    """The state of each reminder of ``keys`` that has one."""
    child_ids = sorted({k[0] for k in keys})
    c = reminder.c
    found: dict[Key, str] = {}
    for start in range(0, len(child_ids), CHUNK):
        query = select(c.child_id, c.vaccine, c.dose, c.channel, c.contact_sha256, c.state).where(
            c.child_id.in_(child_ids[start : start + CHUNK])
        )
        for child_id, vaccine, dose, channel, contact, state in conn.execute(query):
            key = (str(child_id), str(vaccine), int(dose), str(channel), str(contact))
            if key in keys:
                found[key] = str(state)
    return found


def failures(conn: Connection, limit: int = 100) -> list[RowMapping]:
    """Reminders whose last attempt failed (retried by the next run), newest claim first."""
    query = (
        select(reminder)
        .where(reminder.c.state == FAILED)
        .order_by(reminder.c.claimed_at.desc(), reminder.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def by_token(conn: Connection, token_sha256: str) -> RowMapping | None:
    query = select(reminder).where(reminder.c.token_sha256 == token_sha256).limit(1)
    return conn.execute(query).mappings().first()


def opted_out(conn: Connection, contacts: Collection[str] | None = None) -> set[str]:
    """The contacts (of ``contacts``, or all) who opted out."""
    query = select(reminder_opt_out.c.contact_sha256)
    if contacts is None:
        return {str(c) for c in conn.execute(query).scalars()}
    wanted = sorted(contacts)
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        where = reminder_opt_out.c.contact_sha256.in_(chunk)
        found |= {str(c) for c in conn.execute(query.where(where)).scalars()}
    return found


def opt_out(
    conn: Connection, contact_sha256: str, source: str, recorded_by: str, now: datetime
) -> bool:
    """The contact gets no more reminders; False when it had opted out already."""
    made = conn.execute(
        insert_new(conn, reminder_opt_out)
        .values(
            contact_sha256=contact_sha256, source=source, recorded_by=recorded_by, recorded_at=now
        )
        .returning(reminder_opt_out.c.contact_sha256)
    )
    return made.first() is not None


def counts(conn: Connection) -> dict[str, int]:
    """Reminders by state."""
    query = select(reminder.c.state, func.count()).group_by(reminder.c.state)
    return {str(s): int(n) for s, n in conn.execute(query)}
