"""接种提醒: the reminder job, and guardians opting out.

A run reads the doses due from today to ``days_ahead`` days on (and those overdue, while they
may still be given) from the forecast table, and sends each guardian of each such child one
message per channel (every configured notifier) naming the child's doses not yet reminded.
Each reminder, keyed by (child, vaccine, dose, channel, guardian), is claimed in its own
transaction before it is sent and marked sent or failed after: a rerun or a run going on at
the same time sends nothing twice; a failure is kept (``last_error``) and retried by the next
run. A run that stops between claim and mark leaves its claims, which another run takes over
once ``lease`` has passed (that message may then go twice: never lost).

A guardian opts out with the token of any reminder they got (no login), or a site's staff
record it; opted-out guardians get nothing more. Sends and opt-outs are journaled with the
child's pseudonymous id and a digest of the guardian's phone, never the phone or a name.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.schedule import Schedule, national_schedule
from vaxtrace.notify.base import Message, Notifier, NotifyError
from vaxtrace.roles.immunization.service import due
from vaxtrace.store.engine import Engine, read_tx, write_tx
from vaxtrace.store.immunization import forecasts
from vaxtrace.store.immunization import recipients as children
from vaxtrace.store.immunization import reminders as store
from vaxtrace.store.immunization.organisations import find_organisation

DAYS_AHEAD = 7
"""How far ahead a run reminds of doses recommended (overdue ones always)."""

LEASE = timedelta(hours=1)
"""How long a run's claim holds before another run may take the reminder over."""

OPT_OUT_PATH = "/immunization/v1/public/reminders/opt-out"

GUARDIAN = "guardian"
STAFF = "staff"


def contact_sha256(phone: str) -> str:
    """The digest a guardian's phone is known by outside the child's row (journal, opt-outs,
    reminders)."""
    return hashlib.sha256(f"vaxtrace.reminder-contact/1:{phone}".encode()).hexdigest()


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Dose:
    vaccine: str
    vaccine_name: str | None
    dose: int
    recommended: date
    overdue: date | None
    status: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message of a run: to one guardian of one child, on one channel, for its doses."""

    child_id: str
    child_name: str
    site_uscc: str
    guardian_name: str
    phone: str
    channel: str
    doses: tuple[Dose, ...]

    def reminder_keys(self) -> list[store.Key]:
        contact = contact_sha256(self.phone)
        return [(self.child_id, d.vaccine, d.dose, self.channel, contact) for d in self.doses]


def outgoing(
    engine: Engine,
    channels: Sequence[str],
    today: date,
    days_ahead: int = DAYS_AHEAD,
    schedule: Schedule | None = None,
) -> tuple[list[Outgoing], int]:
    """The messages a run would send now on ``channels``: each guardian (not opted out) of
    each child with doses due, with the doses not reminded yet on that channel; and how many
    guardian-doses were left out for an opt-out."""
    names = {k: p.name for k, p in (schedule or national_schedule()).products.items()}
    last = today + timedelta(days=days_ahead)
    with read_tx(engine) as conn:
        rows = forecasts.due_everywhere(conn, today, last)
        contacts = {contact_sha256(g["phone"]) for r in rows for g in r["guardians"]}
        opted = store.opted_out(conn, contacts)
        by_child: dict[str, list[Mapping[Any, Any]]] = {}
        for r in rows:
            by_child.setdefault(str(r["child_id"]), []).append(r)
        candidates: list[Outgoing] = []
        skipped = 0
        for child_id, doses in by_child.items():
            first = doses[0]
            listed = tuple(
                Dose(
                    str(d["vaccine"]),
                    names.get(str(d["vaccine"])),
                    int(d["dose"]),
                    d["recommended"],
                    d["overdue"],
                    due.status_of(d["overdue"], today),
                )
                for d in doses
            )
            seen: set[str] = set()
            for guardian in first["guardians"]:
                phone = str(guardian["phone"])
                if phone in seen:
                    continue
                seen.add(phone)
                if contact_sha256(phone) in opted:
                    skipped += len(listed) * len(channels)
                    continue
                for channel in channels:
                    candidates.append(
                        Outgoing(
                            child_id,
                            str(first["name"]),
                            str(first["site_uscc"]),
                            str(guardian.get("name") or ""),
                            phone,
                            channel,
                            listed,
                        )
                    )
        done = store.states(conn, {k for o in candidates for k in o.reminder_keys()})
    found: list[Outgoing] = []
    for o in candidates:
        pending = tuple(
            d for d, k in zip(o.doses, o.reminder_keys(), strict=True) if done.get(k) != store.SENT
        )
        if pending:
            found.append(
                Outgoing(
                    o.child_id,
                    o.child_name,
                    o.site_uscc,
                    o.guardian_name,
                    o.phone,
                    o.channel,
                    pending,
                )
            )
    return found, skipped


def compose(o: Outgoing, token: str, base_url: str, site_name: str | None) -> Message:
    """The reminder's text (Chinese, as guardians read it) and its data."""
    lines = [f"{o.guardian_name}您好：{o.child_name}需要接种以下疫苗："]
    for d in o.doses:
        name = d.vaccine_name or d.vaccine
        late = f"，已于{d.overdue.isoformat()}逾期" if d.status == due.OVERDUE and d.overdue else ""
        lines.append(f"  {name}（{d.vaccine}）第{d.dose}剂，建议接种日期{d.recommended}{late}")
    where = f"请按时到{site_name}接种。" if site_name else "请按时到接种单位接种。"
    lines.append(where)
    link = f"{base_url.rstrip('/')}{OPT_OUT_PATH}?token={token}"
    lines.append(f"退订接种提醒：{link}")
    return Message(
        to=o.phone,
        subject=f"接种提醒：{o.child_name}",
        text="\n".join(lines),
        data={
            "kind": "vaccination_reminder",
            "child_id": o.child_id,
            "site_uscc": o.site_uscc,
            "doses": [
                {
                    "vaccine": d.vaccine,
                    "dose": d.dose,
                    "recommended": d.recommended.isoformat(),
                    "overdue": None if d.overdue is None else d.overdue.isoformat(),
                    "status": d.status,
                }
                for d in o.doses
            ],
            "opt_out": {"url": f"{base_url.rstrip('/')}{OPT_OUT_PATH}", "token": token},
        },
    )


def run(
    engine: Engine,
    notifiers: Sequence[Notifier],
    now: Callable[[], datetime],
    *,
    base_url: str,
    days_ahead: int = DAYS_AHEAD,
    dry_run: bool = False,
    lease: timedelta = LEASE,
    schedule: Schedule | None = None,
) -> dict[str, Any]:
    """One reminder run over every notifier: answers what was sent, failed (kept, retried
    next run), left to another run (claimed there or sent meanwhile) and left out for an
    opt-out; with ``dry_run``, what would be sent, nothing claimed or sent."""
    today = local_date(now())
    by_channel = {n.channel: n for n in notifiers}
    found, skipped = outgoing(engine, list(by_channel), today, days_ahead, schedule)
    report: dict[str, Any] = {
        "run_id": uuid.uuid4().hex,
        "date": today.isoformat(),
        "until": (today + timedelta(days=days_ahead)).isoformat(),
        "channels": list(by_channel),
        "dry_run": dry_run,
        "messages": len(found),
        "sent": 0,
        "failed": 0,
        "taken": 0,
        "opted_out": skipped,
        "failures": [],
    }
    if dry_run:
        report["would_send"] = [
            {
                "child_id": o.child_id,
                "site_uscc": o.site_uscc,
                "channel": o.channel,
                "contact_sha256": contact_sha256(o.phone),
                "doses": [{"vaccine": d.vaccine, "dose": d.dose} for d in o.doses],
            }
            for o in found
        ]
        return report
    sites: dict[str, str | None] = {}
    for o in found:
        _one(engine, by_channel[o.channel], o, now, base_url, lease, report, sites)
    return report


def _one(
    engine: Engine,
    notifier: Notifier,
    o: Outgoing,
    now: Callable[[], datetime],
    base_url: str,
    lease: timedelta,
    report: dict[str, Any],
    sites: dict[str, str | None],
) -> None:
    """Claim the message's reminders, send it, mark them: one message of a run."""
    run_id = str(report["run_id"])
    token = secrets.token_urlsafe(24)
    contact = contact_sha256(o.phone)
    with write_tx(engine) as conn:
        if store.opted_out(conn, [contact]):  # opted out since the list was read
            report["opted_out"] += len(o.doses)
            return
        claimed = [
            (d, k)
            for d, k in zip(o.doses, o.reminder_keys(), strict=True)
            if store.claim(
                conn,
                k,
                site_uscc=o.site_uscc,
                run_id=run_id,
                token_sha256=token_sha256(token),
                now=now(),
                lease=lease,
            )
        ]
        if o.site_uscc not in sites:
            site = find_organisation(conn, o.site_uscc)
            sites[o.site_uscc] = None if site is None else str(site["name"])
    report["taken"] += len(o.doses) - len(claimed)
    if not claimed:
        return
    mine = Outgoing(
        o.child_id,
        o.child_name,
        o.site_uscc,
        o.guardian_name,
        o.phone,
        o.channel,
        tuple(d for d, _ in claimed),
    )
    keys = [k for _, k in claimed]
    try:
        notifier.send(compose(mine, token, base_url, sites[o.site_uscc]))
    except NotifyError as exc:
        with write_tx(engine) as conn:
            store.mark(conn, keys, run_id, store.FAILED, now(), str(exc))
        report["failed"] += len(keys)
        report["failures"].append(
            {
                "child_id": o.child_id,
                "channel": o.channel,
                "contact_sha256": contact,
                "error": str(exc)[:200],
            }
        )
        return
    with write_tx(engine) as conn:
        marked = store.mark(conn, keys, run_id, store.SENT, now())
        children.journal_child(
            conn,
            "reminder_sent",
            {
                "org_uscc": o.site_uscc,
                "child_id": o.child_id,
                "channel": o.channel,
                "contact_sha256": contact,
                "doses": [{"vaccine": d.vaccine, "dose": d.dose} for d in mine.doses],
                "attempts": max((int(r["attempts"]) for r in marked), default=1),
            },
        )
    report["sent"] += len(keys)


# --- opting out --------------------------------------------------------------------------------


def opt_out_by_token(engine: Engine, now: datetime, token: str) -> dict[str, Any]:
    """退订 by a guardian, with the token of a reminder they got: no more reminders to that
    phone, for any child. Again with the same token: answered the same, nothing written."""
    with write_tx(engine) as conn:
        found = store.by_token(conn, token_sha256(token))
        if found is None:
            raise DomainError(
                Reason.UNKNOWN_OPT_OUT_TOKEN, "no reminder was sent with this token", field="token"
            )
        contact = str(found["contact_sha256"])
        new = store.opt_out(conn, contact, GUARDIAN, GUARDIAN, now)
        if new:
            children.journal_child(
                conn,
                "reminder_opt_out",
                {
                    "org_uscc": found["site_uscc"],
                    "child_id": found["child_id"],
                    "contact_sha256": contact,
                    "source": GUARDIAN,
                },
            )
    return {"opted_out": True, "already": not new}


def opt_out_by_staff(
    engine: Engine, now: datetime, actor: str, user: str, child_id: str, phone: str
) -> dict[str, Any]:
    """退订 recorded by a site's staff for a guardian of a child the site manages (the
    guardian asked at the desk, by phone…)."""
    with write_tx(engine) as conn:
        row = children.find_child(conn, child_id)
        if row is None:
            raise DomainError(Reason.UNKNOWN_CHILD, f"no child {child_id}", field="child_id")
        if row["site_uscc"] != actor:
            raise DomainError(
                Reason.NOT_YOUR_CHILD, "the child is managed by another site", field="child_id"
            )
        if phone not in {str(g["phone"]) for g in row["guardians"]}:
            raise DomainError(
                Reason.NOT_A_GUARDIAN, "not a phone of the child's guardians", field="phone"
            )
        contact = contact_sha256(phone)
        new = store.opt_out(conn, contact, STAFF, user, now)
        if new:
            children.journal_child(
                conn,
                "reminder_opt_out",
                {
                    "org_uscc": actor,
                    "child_id": child_id,
                    "contact_sha256": contact,
                    "source": STAFF,
                    "recorded_by": user,
                },
            )
    return {"child_id": child_id, "contact_sha256": contact, "opted_out": True, "already": not new}


def reminder_counts(engine: Engine) -> dict[str, Any]:
    """Reminders by state, and the last failures (retried by the next run)."""
    with read_tx(engine) as conn:
        failed = store.failures(conn)
        return {
            "states": store.counts(conn),
            "failures": [
                {
                    "child_id": r["child_id"],
                    "vaccine": r["vaccine"],
                    "dose": r["dose"],
                    "channel": r["channel"],
                    "attempts": r["attempts"],
                    "error": r["last_error"],
                }
                for r in failed
            ],
        }
