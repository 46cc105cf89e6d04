"""告警: the supervision system's alerts, one per finding (of the validation engine, a recall
overdue, a province's cold-chain excursion), open → acknowledged → resolved by a regulator of
the area; an alert nobody takes in hand climbs a tier (county → city → province → national)
after the time its severity allows, and each tier's named people are told, once each.

A regulator sees, and may act on, the alerts that happened inside its division or are to be
handled inside it now; any other alert is not found (nothing is revealed of it)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vaxtrace.core.alerts.contacts import Contact, check_contacts, shortfall
from vaxtrace.core.alerts.escalation import EscalationPolicy, next_tier
from vaxtrace.core.alerts.excursions import excursion_finding
from vaxtrace.core.alerts.states import AlertState, check_move, note, resolution_reason
from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.reasons import Reason
from vaxtrace.core.supervision import EXCURSION, NATIONAL, SupervisedStep, area_prefix, sees
from vaxtrace.core.times import as_stored, as_utc
from vaxtrace.core.validation.findings import RuleFinding, Severity
from vaxtrace.notify.base import Message, Notifier, NotifyError
from vaxtrace.roles.supervision.service.regulators import division
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx, write_tx
from vaxtrace.store.supervision import alerts as store

MAX_ALERTS = 500
"""Alerts one page answers at most."""

ESCALATIONS_PER_RUN = 10_000
"""Alerts one escalation run climbs at most (the next run takes the rest)."""

NOTICES_PER_RUN = 1000
"""Notices one run sends at most."""

LEASE = timedelta(minutes=10)
"""How long a run's claim on a notice holds before another run may send it."""

BACKFILL_PAGE = 1000

OPERATOR = "operator"
"""Who set contacts from the node's command line."""


# --- raising -------------------------------------------------------------------------------


def open_alerts(
    conn: Connection, findings: Sequence[RuleFinding], now: datetime | None = None
) -> int:
    """Raise an alert for each finding whose key (rule, subject kind, subject) has none yet,
    in the caller's transaction, and queue notices to the people of its division; answers
    how many were raised. Found again, a finding raises nothing, whatever its alert's state."""
    at = as_utc(now or datetime.now(UTC))
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for f in findings:
        rows.setdefault(
            f.key,
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "subject_kind": f.subject_kind.value,
                "subject": f.subject,
                "owing_uscc": f.owing_uscc,
                "division_code": f.division_code,
                "occurred_at": as_utc(f.occurred_at),
                "detail": _plain(f.detail),
            },
        )
    ids = store.raise_alerts(conn, list(rows.values()), at)
    if ids:
        store.queue_notices(conn, ids, at)
        store.keep(conn, "alerts_opened", {"alert_ids": ids})
    return len(ids)


def open_excursion_alert(conn: Connection, step: SupervisedStep) -> int:
    """A province's cold-chain excursion (931) just received, raised as an alert about the
    fridge or shipment, tiered as the province judged it (in the inbox's transaction)."""
    if step.bill_type != EXCURSION:
        return 0
    found = excursion_finding(
        org_uscc=step.org_uscc,
        division_code=step.division_code,
        document_no=step.document_no,
        business_time=step.business_time,
        detail=step.detail,
        codes=len(step.codes),
    )
    return open_alerts(conn, [found])


def alerts_from_excursions(engine: Engine) -> int:
    """Raise the alerts of every excursion step kept (those received before alerts existed);
    answers how many were new. Run again, it raises nothing."""
    raised, after = 0, 0
    while True:
        with write_tx(engine) as conn:
            rows = store.excursion_steps(conn, after, BACKFILL_PAGE)
            found = [
                excursion_finding(
                    org_uscc=str(r["org_uscc"]),
                    division_code=str(r["division_code"]),
                    document_no=str(r["document_no"]),
                    business_time=as_utc(r["business_time"]),
                    detail=r["detail"],
                    codes=int(r["codes"] or 0),
                )
                for r in rows
            ]
            raised += open_alerts(conn, found)
        if len(rows) < BACKFILL_PAGE:
            return raised
        after = int(rows[-1]["id"])


# --- a regulator's view and decisions ------------------------------------------------------


def listing(
    engine: Engine,
    actor: str,
    *,
    state: str | None = None,
    rule: str | None = None,
    severity: str | None = None,
    mine: bool = False,
    before: int | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """The alerts the actor sees, newest first, a page at a time: those that happened inside
    its division or are to be handled inside it; with ``mine``, only those at its own tier now.
    Says when the actor's division has too few contacts for drug GSP."""
    with read_tx(engine) as conn:
        area = division(conn, actor)
        rows = store.in_area(
            conn,
            area_prefix(area),
            state=None if state is None else AlertState(state).value,
            rule=rule,
            severity=None if severity is None else Severity(severity).value,
            tier_division=area if mine else None,
            before=before,
            limit=min(max(limit, 1), MAX_ALERTS),
        )
        count = store.contact_counts(conn, [area])[area]
    answer: dict[str, Any] = {"division_code": area, "alerts": [view(r) for r in rows]}
    warning = shortfall(count)
    if warning is not None:
        answer["warnings"] = [{"reason": "too_few_contacts", "detail": warning}]
    return answer


def one(engine: Engine, actor: str, alert_id: int) -> dict[str, Any]:
    """One alert the actor sees, with its history and who was told."""
    with read_tx(engine) as conn:
        row = _seen(conn, actor, alert_id, lock=False)
        return view(row) | {
            "history": [_event(e) for e in store.history(conn, alert_id)],
            "notices": [_notice(n) for n in store.notices_of(conn, alert_id)],
        }


def acknowledge(
    engine: Engine, actor: str, alert_id: int, text: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """确认: the actor's staff have the alert in hand (it climbs no more). Again: answered as
    it stands, nothing written; a resolved alert cannot be."""
    remark = note(text)
    at = as_utc(now or datetime.now(UTC))
    with write_tx(engine) as conn:
        row = _seen(conn, actor, alert_id, lock=True)
        current = AlertState(row["state"])
        if current is AlertState.ACKNOWLEDGED:
            return view(row)
        check_move(alert_id, current, AlertState.ACKNOWLEDGED)
        store.acknowledge(conn, alert_id, actor, at, remark)
        store.keep(conn, "alert_acknowledged", {"org_uscc": actor, "alert_id": alert_id})
        return view(_reread(conn, alert_id))


def resolve(
    engine: Engine, actor: str, alert_id: int, reason: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """处理完毕: the actor resolves the alert, saying why (required); from open or acknowledged;
    resolved is final."""
    why = resolution_reason(reason)
    at = as_utc(now or datetime.now(UTC))
    with write_tx(engine) as conn:
        row = _seen(conn, actor, alert_id, lock=True)
        check_move(alert_id, AlertState(row["state"]), AlertState.RESOLVED)
        store.resolve(conn, alert_id, actor, at, why)
        store.keep(
            conn,
            "alert_resolved",
            {"org_uscc": actor, "alert_id": alert_id, "reason_sha256": _digest(why)},
        )
        return view(_reread(conn, alert_id))


def _seen(conn: Connection, actor: str, alert_id: int, *, lock: bool) -> RowMapping:
    """The alert, if the actor sees it; else not found, as an alert that does not exist."""
    area = division(conn, actor)
    row = store.find_for_update(conn, alert_id) if lock else store.find(conn, alert_id)
    if row is None or not (
        sees(area, str(row["division_code"])) or sees(area, str(row["tier_division"]))
    ):
        raise DomainError(
            Reason.UNKNOWN_ALERT, f"no alert {alert_id} in division {area}", field="alert_id"
        )
    return row


def _reread(conn: Connection, alert_id: int) -> RowMapping:
    row = store.find(conn, alert_id)
    assert row is not None
    return row


# --- escalation and notices ------------------------------------------------------------------


def escalate_due(
    engine: Engine, policy: EscalationPolicy, now: datetime | None = None
) -> dict[str, Any]:
    """Move every open alert that has waited too long at its tier up one tier, keep why,
    and queue notices to the people of the tier it reached."""
    at = as_utc(now or datetime.now(UTC))
    cutoffs = {s.value: t for s, t in policy.cutoffs(at).items()}
    with read_tx(engine) as conn:  # most rounds find nothing: no write lock for them
        due = store.waiting(conn, cutoffs, ESCALATIONS_PER_RUN)
    moves: dict[int, tuple[str, str]] = {}
    for row in due:
        up = next_tier(str(row["tier_division"]))
        if up is not None:
            moves[int(row["id"])] = (str(row["tier_division"]), up)
    if not moves:
        return {"escalated": 0, "alerts": []}
    with write_tx(engine) as conn:
        moved = store.climb(conn, moves, at, "not handled in time")
        if moved:
            store.queue_notices(conn, moved, at)
            store.keep(
                conn,
                "alerts_escalated",
                {"alerts": [{"id": i, "from": moves[i][0], "to": moves[i][1]} for i in moved]},
            )
    return {
        "escalated": len(moved),
        "alerts": [{"id": i, "from": moves[i][0], "to": moves[i][1]} for i in moved],
    }


def notify_pending(
    engine: Engine,
    notifiers: Sequence[Notifier],
    now: datetime | None = None,
    *,
    max_attempts: int = 5,
    lease: timedelta = LEASE,
) -> dict[str, Any]:
    """Send every notice due through the notifier of its contact's channel, each claimed in
    its own transaction first (a run at the same time sends nothing twice) and marked sent or
    failed after (a failure is kept and retried by the next run, up to ``max_attempts``).
    A notice of an alert resolved meanwhile is dropped; one whose channel has no notifier
    here waits."""
    at = as_utc(now or datetime.now(UTC))
    by_channel = {n.channel: n for n in notifiers}
    report: dict[str, Any] = {"sent": 0, "failed": 0, "dropped": 0, "waiting": 0, "failures": []}
    with read_tx(engine) as conn:
        due = store.due_notices(conn, list(by_channel), at, lease, max_attempts, NOTICES_PER_RUN)
        report["waiting"] = store.waiting_notices(conn, list(by_channel))
    for row in due:
        notifier = by_channel.get(str(row["channel"]))
        _send_one(engine, notifier, row, at, lease, max_attempts, report)
    return report


def _send_one(
    engine: Engine,
    notifier: Notifier | None,
    row: RowMapping,
    now: datetime,
    lease: timedelta,
    max_attempts: int,
    report: dict[str, Any],
) -> None:
    notice_id = int(row["id"])
    with write_tx(engine) as conn:
        if not store.claim_notice(conn, notice_id, now, lease, max_attempts):
            return
        if notifier is None or row["alert_state"] == AlertState.RESOLVED.value:
            store.mark_notice(conn, notice_id, store.DROPPED, now)
            report["dropped"] += 1
            return
    try:
        notifier.send(compose(row))
    except NotifyError as exc:
        with write_tx(engine) as conn:
            store.mark_notice(conn, notice_id, store.FAILED, now, str(exc))
        report["failed"] += 1
        report["failures"].append(
            {"alert_id": int(row["alert_id"]), "channel": row["channel"], "error": str(exc)[:200]}
        )
        return
    with write_tx(engine) as conn:
        store.mark_notice(conn, notice_id, store.SENT, now)
        store.keep(
            conn,
            "alert_notified",
            {
                "alert_id": int(row["alert_id"]),
                "tier_division": row["tier_division"],
                "channel": row["channel"],
                "contact_sha256": _digest(str(row["address"])),
            },
        )
    report["sent"] += 1


SEVERITY_WORDS = {"notice": "提示", "warning": "警告", "severe": "严重"}


def compose(row: Any) -> Message:
    """The message telling a contact of an alert at their tier (Chinese, as staff read it)."""
    severity = str(row["severity"])
    word = SEVERITY_WORDS.get(severity, severity)
    occurred = as_stored(row["occurred_at"]).isoformat()
    name = row.get("contact_name") or ""
    text = "\n".join(
        [
            f"{name}您好：监管告警（{word}）需要处理。",
            f"规则 rule: {row['rule']}",
            f"对象 subject: {row['subject_kind']} {row['subject']}",
            f"责任单位 owing party: {row['owing_uscc']}",
            f"发生地 division: {row['division_code']}；当前处理层级 tier: {row['tier_division']}",
            f"发生时间 occurred: {occurred}",
            f"告警编号 alert: {row['alert_id']}",
        ]
    )
    return Message(
        to=str(row["address"]),
        subject=f"监管告警（{word}）{row['rule']} {row['subject']}",
        text=text,
        data={
            "kind": "supervision_alert",
            "alert_id": int(row["alert_id"]),
            "rule": row["rule"],
            "severity": severity,
            "subject_kind": row["subject_kind"],
            "subject": row["subject"],
            "owing_uscc": row["owing_uscc"],
            "division_code": row["division_code"],
            "tier_division": row["tier_division"],
            "occurred_at": occurred,
        },
    )


# --- contacts -------------------------------------------------------------------------------


def contacts(engine: Engine, actor: str) -> dict[str, Any]:
    """The named people of the actor's own division whom its alerts are sent to."""
    with read_tx(engine) as conn:
        area = division(conn, actor)
        rows = store.contacts_of(conn, area)
    return _contacts_view(area, rows)


def division_contacts(engine: Engine, division_code: str) -> dict[str, Any]:
    """A division's contacts, for the operator."""
    area = _division_code(division_code)
    with read_tx(engine) as conn:
        rows = store.contacts_of(conn, area)
    return _contacts_view(area, rows)


def _division_code(value: str) -> str:
    return value if value == NATIONAL else DivisionCode(value).value


def put_contacts(
    engine: Engine, actor: str, people: Sequence[Contact], now: datetime | None = None
) -> dict[str, Any]:
    """The actor's own division's contacts are ``people`` from now on (all or nothing)."""
    check_contacts(people)
    with write_tx(engine) as conn:
        area = division(conn, actor)
        return _replace(conn, area, people, actor, now)


def put_division_contacts(
    engine: Engine, division_code: str, people: Sequence[Contact], now: datetime | None = None
) -> dict[str, Any]:
    """The operator sets a division's contacts (the national one's, ``000000``, too)."""
    area = _division_code(division_code)
    check_contacts(people)
    with write_tx(engine) as conn:
        return _replace(conn, area, people, OPERATOR, now)


def _replace(
    conn: Connection, area: str, people: Sequence[Contact], by: str, now: datetime | None
) -> dict[str, Any]:
    at = as_utc(now or datetime.now(UTC))
    store.replace_contacts(conn, area, [p.model_dump() for p in people], at)
    store.keep(
        conn, "alert_contacts", {"org_uscc": by, "division_code": area, "contacts": len(people)}
    )
    return _contacts_view(area, store.contacts_of(conn, area))


def contact_gaps(engine: Engine) -> list[dict[str, Any]]:
    """Every regulator's division with fewer contacts than drug GSP asks for."""
    with read_tx(engine) as conn:
        counts = store.contact_counts(conn, store.regulated_divisions(conn))
    return [
        {"division_code": d, "contacts": n, "detail": shortfall(n)}
        for d, n in sorted(counts.items())
        if shortfall(n) is not None
    ]


def _contacts_view(area: str, rows: Sequence[RowMapping]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "division_code": area,
        "contacts": [
            {"name": r["name"], "address": r["address"], "channel": r["channel"]} for r in rows
        ],
    }
    warning = shortfall(len(rows))
    if warning is not None:
        answer["warnings"] = [{"reason": "too_few_contacts", "detail": warning}]
    return answer


# --- views ----------------------------------------------------------------------------------


def view(row: Any) -> dict[str, Any]:
    """An alert as a regulator reads it."""
    return {
        "id": int(row["id"]),
        "rule": row["rule"],
        "severity": row["severity"],
        "subject_kind": row["subject_kind"],
        "subject": row["subject"],
        "owing_uscc": row["owing_uscc"],
        "division_code": row["division_code"],
        "tier_division": row["tier_division"],
        "state": row["state"],
        "opened_at": _time(row["opened_at"]),
        "occurred_at": _time(row["occurred_at"]),
        "escalated_at": _time(row["escalated_at"]),
        "detail": row["detail"],
        "acknowledged_by": row["acknowledged_by"],
        "acknowledged_at": _time(row["acknowledged_at"]),
        "acknowledgement": row["acknowledgement"],
        "resolved_by": row["resolved_by"],
        "resolved_at": _time(row["resolved_at"]),
        "resolved_reason": row["resolved_reason"],
    }


def _event(row: Any) -> dict[str, Any]:
    return {
        "kind": row["kind"],
        "by": row["actor"],
        "at": _time(row["at"]),
        "tier_division": row["tier_division"],
        "why": row["why"],
    }


def _notice(row: Any) -> dict[str, Any]:
    return {
        "tier_division": row["tier_division"],
        "channel": row["channel"],
        "state": row["state"],
        "attempts": int(row["attempts"]),
        "queued_at": _time(row["queued_at"]),
        "sent_at": _time(row["sent_at"]),
        "error": row["last_error"],
    }


def _time(value: datetime | None) -> str | None:
    return None if value is None else as_stored(value).isoformat()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A finding's facts as JSON keeps them: times as ISO 8601, tuples as lists."""
    return {k: _plain_value(v) for k, v in detail.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _plain(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain_value(v) for v in value]
    return value
