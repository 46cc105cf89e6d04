"""Refusals of what the platform forwarded (拒收): kept as the operator's exchange alerts,
sent back to the system the message came from, and copied as findings to the supervision
systems of the area of the unit that did the step; and the operator's list of those alerts
(with what was taken but could not be routed)."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.refusal import FINDING, REFUSAL, RefusalNotice, notice_of
from vaxtrace.core.registry import SystemRole
from vaxtrace.core.supervision import sees
from vaxtrace.exchange.delivery import Outbox, Refused
from vaxtrace.exchange.envelope import payload_of
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx
from vaxtrace.store.platform import alerts, registry

REFUSALS_TAKEN_BY = frozenset({SystemRole.IMMUNIZATION.value})
"""The roles of system that take a refusal back (a province makes it an alert for the unit
that did the step); for others the platform's alert is the record."""

DELIVERY_REFUSED = "delivery_refused"
"""The reason of the platform's alert when a system refused what the platform forwarded."""


def take_refusal(conn: Connection, outbox: Outbox, message: RowMapping, refused: Refused) -> None:
    """A system refused a message the platform sent it (final, in the transaction that
    makes it so): keep it as an exchange alert, send the refusal back to the system the
    message came from, and copy it to the supervision systems of the area of the unit that
    did the step. A refused refusal, or a refused copy to a supervision system, is only
    kept as an alert (nothing goes back and forth)."""
    envelope = message["envelope"]
    payload = payload_of(envelope)
    notice = notice_of(
        payload,
        refused_event_id=str(message["event_id"]),
        sender=str(envelope["system_id"]),
        data_owner=str(envelope["data_owner"]),
        receiver=str(message["receiver"]),
        refusal=refused.parts,
        at=outbox.now(),
    )
    returned: str | None = None
    findings: list[str] = []
    if not {REFUSAL, FINDING, "supervised_step"} & set(payload):
        returned = _return_refusal(conn, outbox, notice)
        findings = _copy_finding(conn, outbox, notice)
    alerts.raise_alert(
        conn,
        DELIVERY_REFUSED,
        notice.origin_event_id,
        notice.origin_system_id,
        notice.model_dump(mode="json") | {"returned_to": returned, "findings_to": findings},
    )


def _return_refusal(conn: Connection, outbox: Outbox, notice: RefusalNotice) -> str | None:
    """Send the refusal to the system the message came from, if it takes refusals."""
    origin = registry.find_system(conn, notice.origin_system_id)
    if origin is None or origin["role"] not in REFUSALS_TAKEN_BY:
        return None
    outbox.post(
        conn,
        notice.origin_system_id,
        event_type="20",
        event_subtype=REFUSAL,
        data_owner=notice.org_uscc or origin["operator_uscc"],
        payload={REFUSAL: notice.model_dump(mode="json")},
    )
    return notice.origin_system_id


def _copy_finding(conn: Connection, outbox: Outbox, notice: RefusalNotice) -> list[str]:
    """Copy the refusal to each supervision system whose regulator's area holds the unit
    that did the step (as its steps are copied, see ``forwarding``)."""
    areas = registry.supervised_areas(conn)
    division = registry.division_of(conn, notice.org_uscc) if notice.org_uscc else None
    receivers = sorted({s for s, area in areas if division and sees(area, division)})
    finding = notice.model_dump(mode="json") | {"division_code": division}
    for system_id in receivers:
        outbox.post(
            conn,
            system_id,
            event_type="20",
            event_subtype=REFUSAL,
            data_owner=notice.org_uscc or "",
            payload={FINDING: finding},
        )
    return receivers


def exchange_alerts(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The latest data taken but not routable, and messages refused by the systems they
    were forwarded to, newest first, for the operator."""
    with read_tx(engine) as conn:
        rows = alerts.latest_alerts(conn, limit)
    return [
        {
            "id": int(r["id"]),
            "reason": r["reason"],
            "event_id": r["event_id"],
            "sender": r["sender"],
            "detail": r["detail"],
            "raised_at": r["raised_at"].isoformat(),
        }
        for r in rows
    ]
