"""Refusal alerts (拒收告警): a report of this province that its receiver refused — the MAH's
trace system, through the platform, or the platform itself — becomes an alert for the CDC or
site that did the step: what, which codes, why, what to do, when; its staff acknowledge it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.refusal import RefusalNotice, notice_of, read_refusal, refusal_fields
from vaxtrace.core.times import as_stored
from vaxtrace.exchange.delivery import OnRefused, Refused
from vaxtrace.exchange.envelope import payload_of
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx, write_tx
from vaxtrace.store.immunization import alerts as store

MAX_ALERTS = 500
"""Alerts one page answers at most."""


def read_notice(value: Any) -> RefusalNotice:
    """A refusal the platform sent back, whole and naming the unit that did the step."""
    return read_refusal(RefusalNotice, value, Reason.MALFORMED_REFUSAL, "payload.refusal")


def keep(conn: Connection, notice: RefusalNotice) -> int:
    """Keep a refusal as an alert of the unit that did the step, in the caller's
    transaction; answers the alert's id."""
    return store.raise_alert(conn, notice.model_dump(mode="json"), datetime.now(UTC))


def refused_by_platform(platform_id: str) -> OnRefused:
    """The hook of this node's outbox (see :data:`vaxtrace.exchange.delivery.OnRefused`): the
    platform refused a report this node sent it, so the unit that did the step is told here,
    in the transaction that makes the refusal final."""

    def hook(conn: Connection, message: RowMapping, refused: Refused) -> None:
        envelope = message["envelope"]
        notice = notice_of(
            payload_of(envelope),
            refused_event_id=str(message["event_id"]),
            sender=str(envelope["system_id"]),
            data_owner=str(envelope["data_owner"]),
            receiver=platform_id,
            refusal=refused.parts,
            at=datetime.now(UTC),
        )
        keep(conn, notice)

    return hook


def listing(
    engine: Engine, actor: str, *, state: str | None, before: int | None, limit: int
) -> dict[str, Any]:
    """The unit's alerts, newest first, a page at a time."""
    with read_tx(engine) as conn:
        rows = store.alerts_of(
            conn, actor, state=state, before=before, limit=min(max(limit, 1), MAX_ALERTS)
        )
    return {"org_uscc": actor, "alerts": [view(r) for r in rows]}


def acknowledge(engine: Engine, actor: str, alert_id: int, note: str | None) -> dict[str, Any]:
    """The unit's staff have seen an alert and taken it in hand; acknowledging it again
    changes nothing. Another unit's alert is not found."""
    with write_tx(engine) as conn:
        if store.find_alert(conn, actor, alert_id) is None:
            raise DomainError(
                Reason.UNKNOWN_ALERT, f"no alert {alert_id} of {actor}", field="alert_id"
            )
        store.acknowledge(conn, alert_id, datetime.now(UTC), note)
        row = store.find_alert(conn, actor, alert_id)
    assert row is not None
    return view(row)


def open_alerts(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """Every unit's open alerts, newest first (for the node's operator)."""
    with read_tx(engine) as conn:
        return [view(r) for r in store.open_alerts(conn, limit)]


def view(row: RowMapping) -> dict[str, Any]:
    """An alert as the unit's staff read it: what, which codes, why, what to do, when."""
    notice = row["notice"]
    acknowledged = row["acknowledged_at"]
    return {
        "id": int(row["id"]),
        "state": store.OPEN if acknowledged is None else store.ACKNOWLEDGED,
        "org_uscc": row["org_uscc"],
        **refusal_fields(row, notice),
        "refused_by": row["receiver"],
        "what_to_do": notice.get("advice"),
        "refused_at": notice.get("refused_at"),
        "raised_at": as_stored(row["raised_at"]).isoformat(),
        "report_event_id": row["origin_event_id"],
        "acknowledged_at": None if acknowledged is None else as_stored(acknowledged).isoformat(),
        "acknowledgement": row["acknowledgement"],
    }
