"""SQL of the platform's exchange alerts: what it took but could not route."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from vaxtrace.store.platform.schema import exchange_alert, journal


def raise_alert(
    conn: Connection, reason: str, event_id: str, sender: str, detail: Mapping[str, Any]
) -> None:
    """Keep an alert about envelope ``event_id`` from ``sender``, raised now."""
    alert = {"reason": reason, "event_id": event_id, "sender": sender, "detail": dict(detail)}
    conn.execute(insert(exchange_alert).values(alert | {"raised_at": datetime.now(UTC)}))
    journal.keep(conn, "exchange_alert", alert)


def latest_alerts(conn: Connection, limit: int) -> list[RowMapping]:
    query = select(exchange_alert).order_by(exchange_alert.c.id.desc()).limit(limit)
    return list(conn.execute(query).mappings())
