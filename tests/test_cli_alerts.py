"""``vaxtrace alerts`` on a supervision node's data directory: a division's contacts set and
shown (national too; a duplicate or a bad division exits 1), the divisions short of 3
contacts, and one round of escalation and notices."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vaxtrace import node
from vaxtrace.cli import app
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc

runner = CliRunner()
COUNTY = make_uscc("11320106MB0X00004")


def test_contacts_gaps_and_a_round(tmp_path: Path) -> None:
    d = ["--data-dir", str(tmp_path)]
    people = ["--contact", "甲,a@nmpa.example", "--contact", "乙,13800000000,webhook"]
    set_ = runner.invoke(app, ["alerts", "contacts", "--division", "000000", *people, *d])
    assert set_.exit_code == 0, set_.output
    assert "2 contact(s)" in set_.output and "at least 3" in set_.output
    shown = runner.invoke(app, ["alerts", "contacts", "--division", "000000", "--json", *d])
    assert json.loads(shown.output)["contacts"] == [
        {"name": "甲", "address": "a@nmpa.example", "channel": "smtp"},
        {"name": "乙", "address": "13800000000", "channel": "webhook"},
    ]
    twice = ["--contact", "甲,a@x.example", "--contact", "乙,a@x.example"]
    refused = runner.invoke(app, ["alerts", "contacts", "--division", "320106", *twice, *d])
    assert refused.exit_code == 1 and "listed twice" in refused.output
    bad = runner.invoke(app, ["alerts", "contacts", "--division", "32010", *people, *d])
    assert bad.exit_code == 1
    fax = ["--contact", "丙,c@x.example,fax"]
    assert runner.invoke(app, ["alerts", "contacts", "--division", "320106", *fax, *d]).exit_code
    assert runner.invoke(app, ["alerts", "gaps", *d]).exit_code == 0

    svc = node.supervision_service(Settings(data_dir=tmp_path))
    svc.register_organisation(
        Organisation(
            uscc=COUNTY, name="鼓楼区市场监督管理局", kind=OrgKind.REGULATOR, division_code="320106"
        )
    )
    svc.engine.dispose()
    gaps = runner.invoke(app, ["alerts", "gaps", "--json", *d])
    assert gaps.exit_code == 1
    assert [(g["division_code"], g["contacts"]) for g in json.loads(gaps.output)] == [("320106", 0)]

    tick = runner.invoke(app, ["alerts", "tick", "--json", *d])
    assert tick.exit_code == 0, tick.output
    done = json.loads(tick.output)
    assert done["excursion_alerts"] == 0 and done["escalation"]["escalated"] == 0
    assert done["notices"]["sent"] == 0
