"""``vaxtrace children due / forecast --rebuild / remind`` over a data directory: a site's due
list (JSON with ``--json``), the forecast table rebuilt, and the reminder job through a real
local SMTP server (a dry run sends nothing; a rerun sends nothing twice)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.commands.common import staff_service
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.recipients import ChildRegistration
from vaxtrace.sim.catalogue import make_uscc

sys.path.insert(0, str(Path(__file__).parent / "notify"))

from servers import smtp_server

runner = CliRunner()
SITE = make_uscc("12320102MB0000007")
TODAY = datetime.now(timezone(timedelta(hours=8))).date()


def registered(tmp_path: Path) -> str:
    svc = staff_service("immunization", tmp_path)
    svc.register_organisation(
        Organisation(
            uscc=SITE, name="示例社区卫生服务中心", kind=OrgKind.POV, division_code="320102"
        )
    )
    done = svc.register_child(
        SITE,
        ChildRegistration(
            name="黄志强",
            sex="M",
            birth_date=(TODAY - timedelta(days=20)).isoformat(),
            birth_division="320102",
            guardians=[{"name": "母亲", "relation": "mother", "phone": "13600136000"}],
            card_no="C-000001",
        ),
    )
    svc.close()
    return str(done.body["child"]["child_id"])


def test_the_due_list_and_a_rebuild(tmp_path: Path) -> None:
    child_id = registered(tmp_path)
    d = ["--data-dir", str(tmp_path)]
    found = runner.invoke(app, ["children", "due", "--site", SITE, "--json", *d])
    assert found.exit_code == 0, found.output
    listed = json.loads(found.output)
    assert listed["children"] == 1 and {i["child_id"] for i in listed["items"]} == {child_id}
    assert "HepB" in {i["vaccine"] for i in listed["items"]}
    shown = runner.invoke(app, ["children", "due", "--site", SITE, *d])
    assert shown.exit_code == 0 and "黄志强" in shown.output and "13600136000" in shown.output
    rebuilt = runner.invoke(app, ["children", "forecast", "--rebuild", "--json", *d])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(rebuilt.output)["children"] == 1
    again = runner.invoke(app, ["children", "due", "--site", SITE, "--json", *d])
    assert json.loads(again.output) == listed
    bad = runner.invoke(app, ["children", "due", "--site", SITE, "--from", "2024-05-10",
                              "--to", "2024-05-01", *d])  # fmt: skip
    assert bad.exit_code == 1 and "out_of_range" in bad.output
    assert runner.invoke(app, ["children", "forecast", *d]).exit_code == 1


def test_the_reminder_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registered(tmp_path)
    d = ["--data-dir", str(tmp_path)]
    none = runner.invoke(app, ["children", "remind", *d])
    assert none.exit_code == 1 and "no notifier" in none.output
    with smtp_server() as (port, box):
        monkeypatch.setenv("VAXTRACE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("VAXTRACE_SMTP_PORT", str(port))
        monkeypatch.setenv("VAXTRACE_SMTP_RECIPIENT_DOMAIN", "sms.example")
        dry = runner.invoke(app, ["children", "remind", "--dry-run", "--json", *d])
        assert dry.exit_code == 0, dry.output
        assert len(json.loads(dry.output)["would_send"]) == 1 and box.mails == []
        sent = runner.invoke(app, ["children", "remind", *d])
        assert sent.exit_code == 0, sent.output
        assert "sent" in sent.output and len(box.mails) == 1
        rerun = runner.invoke(app, ["children", "remind", "--json", *d])
        assert json.loads(rerun.output)["sent"] == 0 and len(box.mails) == 1
    ((to, _),) = box.mails
    assert to == ["13600136000@sms.example"]
    svc = staff_service("immunization", tmp_path)  # a second child, and no server now
    svc.register_child(
        SITE,
        ChildRegistration(
            name="李建国",
            sex="M",
            birth_date=(TODAY - timedelta(days=9)).isoformat(),
            birth_division="320102",
            guardians=[{"name": "父亲", "relation": "father", "phone": "13500135000"}],
            card_no="C-000002",
        ),
    )
    svc.close()
    failed = runner.invoke(app, ["children", "remind", *d])
    assert failed.exit_code == 1 and "failed" in failed.output  # kept: retried next run
    with smtp_server() as (port, box):
        monkeypatch.setenv("VAXTRACE_SMTP_PORT", str(port))
        retried = runner.invoke(app, ["children", "remind", *d])
        assert retried.exit_code == 0, retried.output
    assert [to for to, _ in box.mails] == [["13500135000@sms.example"]]
