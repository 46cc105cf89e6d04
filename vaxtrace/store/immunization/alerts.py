"""SQL of the province's refusal alerts (拒收告警): reports of its units that a receiver
refused, kept for the CDC or site that did the step until its staff acknowledge them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from vaxtrace.store.immunization.schema import journal, refusal_alert

OPEN, ACKNOWLEDGED = "open", "acknowledged"
"""The states an alert is listed by (see vaxtrace.core.refusal.AlertState)."""


def raise_alert(conn: Connection, notice: Mapping[str, Any], at: datetime) -> int:
    """Keep a refusal (a :class:`~vaxtrace.core.refusal.RefusalNotice` as JSON) as an alert
    of the unit that did the step; answers its id."""
    result = conn.execute(
        insert(refusal_alert)
        .values(
            org_uscc=notice["org_uscc"],
            refused_event_id=notice["refused_event_id"],
            origin_event_id=notice["origin_event_id"],
            receiver=notice["receiver_system_id"],
            reason=notice["reason"],
            bill_type=notice.get("bill_type"),
            document_no=notice.get("document_no"),
            notice=dict(notice),
            raised_at=at,
        )
        .returning(refusal_alert.c.id)
    )
    alert_id = int(result.scalar_one())
    kept = {"alert_id": alert_id, "org_uscc": notice["org_uscc"], "notice": dict(notice)}
    journal.keep(conn, "alert", kept)
    return alert_id


def alerts_of(
    conn: Connection, org_uscc: str, *, state: str | None, before: int | None, limit: int
) -> list[RowMapping]:
    """A unit's alerts, newest first: all, or only the open or the acknowledged ones."""
    a = refusal_alert.c
    query = select(refusal_alert).where(a.org_uscc == org_uscc).order_by(a.id.desc()).limit(limit)
    if state == OPEN:
        query = query.where(a.acknowledged_at.is_(None))
    elif state == ACKNOWLEDGED:
        query = query.where(a.acknowledged_at.is_not(None))
    if before is not None:
        query = query.where(a.id < before)
    return list(conn.execute(query).mappings())


def find_alert(conn: Connection, org_uscc: str, alert_id: int) -> RowMapping | None:
    """One of a unit's alerts (another unit's is not found)."""
    a = refusal_alert.c
    query = select(refusal_alert).where(a.id == alert_id, a.org_uscc == org_uscc)
    return conn.execute(query).mappings().first()


def acknowledge(conn: Connection, alert_id: int, at: datetime, note: str | None) -> None:
    """Mark an open alert acknowledged (one already acknowledged keeps its first)."""
    a = refusal_alert.c
    conn.execute(
        update(refusal_alert)
        .where(a.id == alert_id, a.acknowledged_at.is_(None))
        .values(acknowledged_at=at.astimezone(UTC), acknowledgement=note)
    )
    kept = {"alert_id": alert_id, "at": at.astimezone(UTC), "note": note}
    journal.keep(conn, "alert_acknowledged", kept)


def open_alerts(conn: Connection, limit: int) -> list[RowMapping]:
    """The open alerts of every unit, newest first, for the node's operator."""
    a = refusal_alert.c
    query = (
        select(refusal_alert).where(a.acknowledged_at.is_(None)).order_by(a.id.desc()).limit(limit)
    )
    return list(conn.execute(query).mappings())
