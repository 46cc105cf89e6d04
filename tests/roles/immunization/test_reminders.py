"""The reminder job on SQLite and PostgreSQL, through real local servers (SMTP: aiosmtpd; a
webhook: an HTTP server): each guardian of a child due gets one reminder per channel, once,
whatever reruns or runs at once; a failure is kept and retried by the next run; a guardian
opts out with the token of a reminder (or the staff record it) and gets nothing more; the
journal keeps sends and opt-outs with digests, never a phone or a name."""

from __future__ import annotations

import re
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from province_world import CST, OTHER_POV, POV, Province, make_province, refused
from sqlalchemy import Engine, select
from test_children import assert_no_personal_data_journaled, register

from vaxtrace.core.errors import DomainError
from vaxtrace.core.times import Clock
from vaxtrace.notify import Notifier, SmtpNotifier, WebhookNotifier
from vaxtrace.roles.immunization.service import reminders
from vaxtrace.store.immunization import schema

sys.path.insert(0, str(Path(__file__).parents[2] / "notify"))

from servers import Hook, http_server, smtp_server

NOW = datetime(2024, 5, 15, 10, 0, tzinfo=CST)
BASE = "https://vaxtrace.example"
TWO_PARENTS = [
    {"name": "王丽", "relation": "mother", "phone": "13800138000"},
    {"name": "张伟", "relation": "father", "phone": "13700137000"},
]
TOKEN = re.compile(r"opt-out\?token=([A-Za-z0-9_\-]+)")


@pytest.fixture
def province(immunization_engine: Engine) -> Any:
    made = make_province(immunization_engine, clock=Clock(now=lambda: NOW))
    yield made
    made.svc.close()


def run(province: Province, *notifiers: Notifier, **options: Any) -> dict[str, Any]:
    return reminders.run(
        province.engine, notifiers, province.svc.clock.now, base_url=BASE, **options
    )


def reminder_rows(province: Province) -> list[dict[str, Any]]:
    with province.engine.connect() as conn:
        rows = conn.execute(select(schema.reminder).order_by(schema.reminder.c.id)).mappings()
        return [dict(r) for r in rows]


def journal(province: Province, kind: str) -> list[dict[str, Any]]:
    with province.engine.connect() as conn:
        return schema.journal.entries(conn, kind)


def test_each_guardian_is_reminded_once_by_mail(province: Province) -> None:
    child_id = register(province, guardians=TWO_PARENTS)
    with smtp_server() as (port, box):
        mail = SmtpNotifier("127.0.0.1", port, "cdc@example.org", recipient_domain="sms.example")
        first = run(province, mail)
        again = run(province, mail)
    assert len(box.mails) == 2 and first["failed"] == 0, str(first)
    assert sorted(to for to, _ in box.mails) == [
        ["13700137000@sms.example"],
        ["13800138000@sms.example"],
    ]
    _, message = next(m for m in box.mails if m[0] == ["13800138000@sms.example"])
    text = message.get_content()
    assert text.startswith("王丽您好：张晓梅需要接种以下疫苗：")
    assert "HepB" in text and f"{BASE}/immunization/v1/public/reminders/opt-out?token=" in text
    rows = reminder_rows(province)
    assert first["sent"] == len(rows) and {r["state"] for r in rows} == {"sent"}
    assert {r["child_id"] for r in rows} == {child_id} and {r["attempts"] for r in rows} == {1}
    doses = {(r["vaccine"], r["dose"]) for r in rows}
    assert ("HepB", 1) in doses
    for row in rows:
        assert row["vaccine"] in text  # one message per guardian names every dose reminded
    assert (again["messages"], again["sent"]) == (0, 0)  # nothing twice
    sent = journal(province, "reminder_sent")
    assert len(sent) == 2 and {s["child_id"] for s in sent} == {child_id}
    assert {s["contact_sha256"] for s in sent} == {
        reminders.contact_sha256(g["phone"]) for g in TWO_PARENTS
    }
    assert_no_personal_data_journaled(province)


def test_a_dry_run_sends_and_writes_nothing(province: Province) -> None:
    register(province)
    before = province.counts()
    with smtp_server() as (port, box):
        mail = SmtpNotifier("127.0.0.1", port, recipient_domain="sms.example")
        report = run(province, mail, dry_run=True)
    assert box.mails == [] and province.counts() == before
    (planned,) = report["would_send"]
    assert planned["channel"] == "smtp" and ("HepB", 1) in {
        (d["vaccine"], d["dose"]) for d in planned["doses"]
    }


def test_a_failure_is_kept_and_retried_by_the_next_run(province: Province) -> None:
    child_id = register(province)
    hook = Hook(statuses=[500, 200])
    with http_server(hook) as url:
        webhook = WebhookNotifier(url, timeout=2)
        failed = run(province, webhook)
        assert (failed["sent"], failed["messages"]) == (0, 1) and failed["failed"] > 0
        (failure,) = failed["failures"]
        assert failure["child_id"] == child_id and "500" in failure["error"]
        rows = reminder_rows(province)
        assert {r["state"] for r in rows} == {"failed"} and rows[0]["last_error"]
        assert journal(province, "reminder_sent") == []
        retried = run(province, webhook)
        webhook.close()
    assert retried["sent"] == failed["failed"] and retried["failed"] == 0
    assert {(r["state"], r["attempts"]) for r in reminder_rows(province)} == {("sent", 2)}
    (body,) = hook.bodies
    assert body["to"] == "13800138000" and body["data"]["child_id"] == child_id
    assert body["data"]["opt_out"]["token"] in body["text"]


def test_a_timeout_is_a_failure_not_a_loss(province: Province) -> None:
    register(province)
    with http_server(Hook(delay=1.0)) as url:
        webhook = WebhookNotifier(url, timeout=0.2)
        report = run(province, webhook)
        webhook.close()
    assert report["sent"] == 0 and "Timeout" in report["failures"][0]["error"]
    assert {r["state"] for r in reminder_rows(province)} == {"failed"}


def test_a_stale_claim_is_taken_over(province: Province) -> None:
    register(province)
    with smtp_server() as (port, box):
        mail = SmtpNotifier("127.0.0.1", port, recipient_domain="sms.example")
        report = run(province, mail, dry_run=True)
        keys = [
            (p["child_id"], d["vaccine"], d["dose"], "smtp", p["contact_sha256"])
            for p in report["would_send"]
            for d in p["doses"]
        ]
        from vaxtrace.store.immunization import reminders as store

        with province.engine.begin() as conn:  # a run that claimed, then stopped
            for key in keys:
                assert store.claim(
                    conn, key, site_uscc=POV, run_id="gone", token_sha256="0" * 64,
                    now=NOW - timedelta(hours=2), lease=reminders.LEASE,
                )  # fmt: skip
        held = run(province, mail, lease=timedelta(hours=3))  # still within its lease
        assert (held["sent"], held["taken"]) == (0, len(keys)) and box.mails == []
        taken = run(province, mail)  # past it
    assert taken["sent"] == len(keys) and len(box.mails) == 1


def test_concurrent_runs_send_each_reminder_once(province: Province) -> None:
    for n in range(6):
        register(
            province,
            name=f"张{'一二三四五六'[n]}",
            card_no=f"320102-2024-01{n:02d}",
            guardians=[{"name": "王丽", "relation": "mother", "phone": f"1380013810{n}"}],
            confirm_not_duplicate=True,
        )
    with smtp_server() as (port, box):
        mail = SmtpNotifier("127.0.0.1", port, recipient_domain="sms.example")
        reports: list[dict[str, Any]] = []
        start = threading.Barrier(4)

        def one() -> None:
            start.wait()
            reports.append(run(province, mail))

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    rows = reminder_rows(province)
    assert sum(r["sent"] for r in reports) == len(rows) and {r["state"] for r in rows} == {"sent"}
    assert all(r["failed"] == 0 for r in reports)
    per_guardian = Counter(to[0] for to, _ in box.mails)
    assert len(per_guardian) == 6 and set(per_guardian.values()) == {1}, per_guardian
    assert len(journal(province, "reminder_sent")) == 6


def test_a_guardian_opts_out_with_the_token_and_gets_nothing_more(province: Province) -> None:
    first = register(province, guardians=TWO_PARENTS)
    with smtp_server() as (port, box):
        mail = SmtpNotifier("127.0.0.1", port, recipient_domain="sms.example")
        run(province, mail)
        _, message = next(m for m in box.mails if m[0] == ["13800138000@sms.example"])
        (token,) = TOKEN.findall(message.get_content())
        done = reminders.opt_out_by_token(province.engine, NOW, token)
        assert done == {"opted_out": True, "already": False}
        before = province.counts()
        again = reminders.opt_out_by_token(province.engine, NOW, token)
        assert again["already"] and province.counts() == before  # nothing written again
        refused(province, "unknown_opt_out_token", reminders.opt_out_by_token,
                province.engine, NOW, "x" * 32)  # fmt: skip
        # a sibling with the same mother: only the father is reminded
        register(province, name="张晓兰", card_no="320102-2024-0077", guardians=TWO_PARENTS,
                 birth_date="2024-04-20", confirm_not_duplicate=True)  # fmt: skip
        box.mails.clear()
        report = run(province, mail)
    assert [to for to, _ in box.mails] == [["13700137000@sms.example"]]
    assert report["opted_out"] > 0
    (logged,) = journal(province, "reminder_opt_out")
    assert logged["child_id"] == first and logged["source"] == "guardian"
    assert logged["contact_sha256"] == reminders.contact_sha256("13800138000")
    assert_no_personal_data_journaled(province)


def test_staff_record_an_opt_out_of_their_own_childs_guardian(province: Province) -> None:
    child_id = register(province, guardians=TWO_PARENTS)
    opt = reminders.opt_out_by_staff
    args = (province.engine, NOW)
    refused(province, "not_your_child", opt, *args, OTHER_POV, "u", child_id, "13800138000")
    refused(province, "not_a_guardian", opt, *args, POV, "u", child_id, "13900139000")
    refused(province, "unknown_child", opt, *args, POV, "u", "ch-0000000000000000", "13800138000")
    done = opt(*args, POV, "staff-9", child_id, "13700137000")
    assert done["opted_out"] and not done["already"]
    assert opt(*args, POV, "staff-9", child_id, "13700137000")["already"]
    (logged,) = journal(province, "reminder_opt_out")
    assert (logged["source"], logged["recorded_by"]) == ("staff", "staff-9")
    with smtp_server() as (port, box):
        run(province, SmtpNotifier("127.0.0.1", port, recipient_domain="sms.example"))
    assert [to for to, _ in box.mails] == [["13800138000@sms.example"]]
    with pytest.raises(DomainError):
        opt(*args, POV, "u", child_id, "13900139000")
