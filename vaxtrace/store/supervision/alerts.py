"""SQL of the alerts (告警) of the supervision system: raised set-based from findings (a key
seen before raises nothing), moved through their lifecycle, climbed a tier, and the notices
that tell each tier's named people, each sent once."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from vaxtrace.core.supervision import EXCURSION, NATIONAL
from vaxtrace.store.rows import insert_new
from vaxtrace.store.supervision.schema import (
    alert,
    alert_contact,
    alert_event,
    alert_notice,
    journal,
    regulator,
    supervised_step,
)

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
"""An alert's states (see vaxtrace.core.alerts.states)."""

PENDING, SENDING, SENT, FAILED, DROPPED = "pending", "sending", "sent", "failed", "dropped"
"""A notice's states (dropped: its alert was resolved before it went)."""

SYSTEM = "system"
"""Who climbs an alert, and opens one: the node itself, not a person."""

CHUNK = 500
"""Ids per IN list."""


def raise_alerts(conn: Connection, rows: Sequence[Mapping[str, Any]], now: datetime) -> list[int]:
    """Raise an open alert for each of ``rows`` (``rule``, ``severity``, ``subject_kind``,
    ``subject``, ``owing_uscc``, ``division_code``, ``occurred_at``, ``detail``) whose key
    has none yet, at its own division's tier; answers the new alerts' ids. A key raised
    before, or by another transaction at the same time, raises nothing."""
    if not rows:
        return []
    values = [
        dict(r) | {"tier_division": r["division_code"], "state": OPEN, "opened_at": now}
        for r in rows
    ]
    made = conn.execute(insert_new(conn, alert).returning(alert.c.id), values)
    ids = sorted(int(i) for i in made.scalars())
    _events(conn, ids, "opened", SYSTEM, now, None)
    return ids


def _events(
    conn: Connection, ids: Collection[int], kind: str, actor: str, at: datetime, why: str | None
) -> None:
    """One history row per alert of ``ids``, at the tier each is at now."""
    a = alert.c
    for chunk in _chunks(ids):
        conn.execute(
            insert(alert_event).from_select(
                ["alert_id", "kind", "actor", "at", "tier_division", "why"],
                select(
                    a.id,
                    literal(kind),
                    literal(actor),
                    literal(at, alert_event.c.at.type),
                    a.tier_division,
                    literal(why, alert_event.c.why.type),
                ).where(a.id.in_(chunk)),
            )
        )


def keep(conn: Connection, kind: str, body: Mapping[str, Any]) -> None:
    """Keep an alert decision in the role's journal, in the caller's transaction."""
    journal.keep(conn, kind, body)


def excursion_steps(conn: Connection, after: int, limit: int) -> list[RowMapping]:
    """Cold-chain excursion steps (931) after id ``after``, oldest first."""
    s = supervised_step.c
    query = (
        select(
            s.id,
            s.org_uscc,
            s.division_code,
            s.document_no,
            s.business_time,
            s.detail,
            func.json_array_length(s.codes).label("codes"),  # the same name on both
        )
        .where(s.bill_type == EXCURSION, s.id > after)
        .order_by(s.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def find(conn: Connection, alert_id: int) -> RowMapping | None:
    return conn.execute(select(alert).where(alert.c.id == alert_id)).mappings().first()


def find_for_update(conn: Connection, alert_id: int) -> RowMapping | None:
    """The alert, locked against another transaction's change until this one ends."""
    query = select(alert).where(alert.c.id == alert_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def history(conn: Connection, alert_id: int) -> list[RowMapping]:
    e = alert_event.c
    query = select(alert_event).where(e.alert_id == alert_id).order_by(e.id)
    return list(conn.execute(query).mappings())


def acknowledge(
    conn: Connection, alert_id: int, actor: str, now: datetime, note: str | None
) -> None:
    conn.execute(
        update(alert)
        .where(alert.c.id == alert_id)
        .values(
            state=ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=now, acknowledgement=note
        )
    )
    _events(conn, [alert_id], "acknowledged", actor, now, note)


def resolve(conn: Connection, alert_id: int, actor: str, now: datetime, reason: str) -> None:
    conn.execute(
        update(alert)
        .where(alert.c.id == alert_id)
        .values(state=RESOLVED, resolved_by=actor, resolved_at=now, resolved_reason=reason)
    )
    _events(conn, [alert_id], "resolved", actor, now, reason)


def waiting(conn: Connection, cutoffs: Mapping[str, datetime], limit: int) -> list[RowMapping]:
    """Open alerts below national that have waited at their tier since their severity's
    cutoff or earlier (``cutoffs``: severity → time), oldest first."""
    if not cutoffs:
        return []
    a = alert.c
    since = func.coalesce(a.escalated_at, a.opened_at)
    due = or_(*(and_(a.severity == s, since <= t) for s, t in cutoffs.items()))
    query = (
        select(a.id, a.severity, a.tier_division, a.division_code, since.label("since"))
        .where(a.state == OPEN, a.tier_division != NATIONAL, due)
        .order_by(a.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def climb(
    conn: Connection, moves: Mapping[int, tuple[str, str]], now: datetime, why: str
) -> list[int]:
    """Move each alert of ``moves`` (id → (tier it is at, tier above)) up, if it is still
    open at that tier (another run may have moved it, a regulator taken it in hand); answers
    the ids moved, each with its history row."""
    moved: list[int] = []
    a = alert.c
    statement = (
        update(alert)
        .where(a.id == bindparam("alert_id"), a.state == OPEN, a.tier_division == bindparam("at"))
        .values(tier_division=bindparam("up"), escalated_at=now)
        .returning(a.id)
    )
    for alert_id, (at, up) in moves.items():
        if conn.execute(statement, {"alert_id": alert_id, "at": at, "up": up}).first():
            moved.append(alert_id)
    _events(conn, moved, "escalated", SYSTEM, now, why)
    return moved


def in_area(
    conn: Connection,
    area_prefix: str,
    *,
    state: str | None,
    rule: str | None,
    severity: str | None,
    tier_division: str | None,
    before: int | None,
    limit: int,
) -> list[RowMapping]:
    """Alerts that happened inside an area or are to be handled inside it now, newest first,
    filtered when asked."""
    a = alert.c
    inside = or_(a.division_code.like(area_prefix + "%"), a.tier_division.like(area_prefix + "%"))
    query = select(alert).where(inside).order_by(a.id.desc()).limit(limit)
    for column, value in (
        (a.state, state),
        (a.rule, rule),
        (a.severity, severity),
        (a.tier_division, tier_division),
    ):
        if value is not None:
            query = query.where(column == value)
    if before is not None:
        query = query.where(a.id < before)
    return list(conn.execute(query).mappings())


# --- contacts and notices -------------------------------------------------------------------


def contacts_of(conn: Connection, division: str) -> list[RowMapping]:
    c = alert_contact.c
    query = select(alert_contact).where(c.division_code == division).order_by(c.id)
    return list(conn.execute(query).mappings())


def replace_contacts(
    conn: Connection, division: str, people: Sequence[Mapping[str, str]], now: datetime
) -> None:
    """The division's contacts are ``people`` (``name``, ``address``, ``channel``) from now on."""
    conn.execute(delete(alert_contact).where(alert_contact.c.division_code == division))
    if people:
        conn.execute(
            insert(alert_contact),
            [dict(p) | {"division_code": division, "added_at": now} for p in people],
        )


def contact_counts(conn: Connection, divisions: Collection[str]) -> dict[str, int]:
    """How many contacts each of ``divisions`` has (0 when none)."""
    c = alert_contact.c
    query = (
        select(c.division_code, func.count())
        .where(c.division_code.in_(list(divisions)))
        .group_by(c.division_code)
    )
    found = {str(d): int(n) for d, n in conn.execute(query)}
    return {d: found.get(d, 0) for d in divisions}


def regulated_divisions(conn: Connection) -> list[str]:
    """The divisions of every registered regulator."""
    r = regulator.c
    query = select(r.division_code).distinct().order_by(r.division_code)
    return [str(d) for d in conn.execute(query).scalars()]


def queue_notices(conn: Connection, ids: Collection[int], now: datetime) -> None:
    """A pending notice to each contact of the tier each alert of ``ids`` is at now (once per
    alert, tier and contact)."""
    a, c = alert.c, alert_contact.c
    for chunk in _chunks(ids):
        conn.execute(
            insert_new(conn, alert_notice).from_select(
                [
                    "alert_id",
                    "tier_division",
                    "channel",
                    "address",
                    "state",
                    "attempts",
                    "queued_at",
                ],
                select(
                    a.id,
                    a.tier_division,
                    c.channel,
                    c.address,
                    literal(PENDING),
                    literal(0),
                    literal(now, alert_notice.c.queued_at.type),
                )
                .join_from(alert, alert_contact, c.division_code == a.tier_division)
                .where(a.id.in_(chunk)),
            )
        )


def due_notices(
    conn: Connection,
    channels: Collection[str],
    now: datetime,
    lease: timedelta,
    max_attempts: int,
    limit: int,
) -> list[RowMapping]:
    """Notices to send on ``channels`` (and any of a resolved alert, to drop): pending,
    failed fewer than ``max_attempts`` times, or claimed by a run that did not finish within
    ``lease``; with their alert and the contact's name."""
    n, a, c = alert_notice.c, alert.c, alert_contact.c
    query = (
        select(
            n.id,
            n.alert_id,
            n.tier_division,
            n.channel,
            n.address,
            n.attempts,
            c.name.label("contact_name"),
            a.rule,
            a.severity,
            a.subject_kind,
            a.subject,
            a.owing_uscc,
            a.division_code,
            a.state.label("alert_state"),
            a.occurred_at,
            a.detail,
        )
        .join_from(alert_notice, alert, a.id == n.alert_id)
        .outerjoin(
            alert_contact,
            and_(
                c.division_code == n.tier_division,
                c.channel == n.channel,
                c.address == n.address,
            ),
        )
        .where(
            _claimable(now, lease, max_attempts),
            or_(n.channel.in_(list(channels)), a.state == RESOLVED),
        )
        .order_by(n.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def waiting_notices(conn: Connection, channels: Collection[str]) -> int:
    """Pending notices of open alerts on a channel this node has no notifier for."""
    n, a = alert_notice.c, alert.c
    query = (
        select(func.count())
        .select_from(alert_notice)
        .join(alert, a.id == n.alert_id)
        .where(n.state == PENDING, a.state != RESOLVED, n.channel.not_in(list(channels)))
    )
    return int(conn.execute(query).scalar_one())


def _claimable(now: datetime, lease: timedelta, max_attempts: int) -> Any:
    n = alert_notice.c
    return or_(
        n.state == PENDING,
        and_(n.state == FAILED, n.attempts < max_attempts),
        and_(n.state == SENDING, n.claimed_at < now - lease),
    )


def claim_notice(
    conn: Connection, notice_id: int, now: datetime, lease: timedelta, max_attempts: int
) -> bool:
    """Take one notice for this run; False when another run has it or it is done."""
    n = alert_notice.c
    claimed = conn.execute(
        update(alert_notice)
        .where(n.id == notice_id, _claimable(now, lease, max_attempts))
        .values(state=SENDING, claimed_at=now, attempts=n.attempts + 1)
        .returning(n.id)
    )
    return claimed.first() is not None


def mark_notice(
    conn: Connection, notice_id: int, state: str, now: datetime, error: str | None = None
) -> None:
    values: dict[str, Any] = {"state": state, "last_error": None if error is None else error[:500]}
    if state == SENT:
        values["sent_at"] = now
    conn.execute(
        update(alert_notice)
        .where(alert_notice.c.id == notice_id, alert_notice.c.state == SENDING)
        .values(**values)
    )


def notices_of(conn: Connection, alert_id: int) -> list[RowMapping]:
    n = alert_notice.c
    query = select(alert_notice).where(n.alert_id == alert_id).order_by(n.id)
    return list(conn.execute(query).mappings())


def _chunks(ids: Collection[int]) -> list[list[int]]:
    listed = sorted(ids)
    return [listed[i : i + CHUNK] for i in range(0, len(listed), CHUNK)]
