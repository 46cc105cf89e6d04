"""``vaxtrace children duplicates`` over a data directory: the nightly pass prints the
candidate pairs (JSON with ``--json``) and merges nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.commands.common import staff_service
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.recipients import ChildRegistration
from vaxtrace.sim.catalogue import make_uscc

runner = CliRunner()
SITE = make_uscc("12320102MB0000007")


def child(name: str, card_no: str, phone: str, **extra: Any) -> ChildRegistration:
    return ChildRegistration(
        name=name,
        sex="M",
        birth_date="2023-05-06",
        birth_division="320102",
        guardians=[{"name": "母亲", "relation": "mother", "phone": phone}],
        card_no=card_no,
        **extra,
    )


def test_the_duplicate_pass_prints_the_pairs(tmp_path: Path) -> None:
    svc = staff_service("immunization", tmp_path)
    svc.register_organisation(
        Organisation(
            uscc=SITE, name="示例社区卫生服务中心", kind=OrgKind.POV, division_code="320102"
        )
    )
    first = svc.register_child(SITE, child("黄志强", "C-000001", "13600136000")).body
    second = svc.register_child(
        SITE, child("王志强", "C-000002", "13600136000", confirm_not_duplicate=True)
    ).body
    svc.register_child(SITE, child("刘德华", "C-000003", "13500135000"))
    svc.close()
    d = ["--data-dir", str(tmp_path)]
    found = runner.invoke(app, ["children", "duplicates", "--json", *d])
    assert found.exit_code == 0, found.output
    (pair,) = json.loads(found.output)["pairs"]
    ids = {first["child"]["child_id"], second["child"]["child_id"]}
    assert {c["child_id"] for c in pair["children"]} == ids
    assert "guardian_phone" in pair["matched"]
    shown = runner.invoke(app, ["children", "duplicates", *d])
    assert shown.exit_code == 0 and "1 candidate pair(s)" in shown.output
    assert "黄志强" in shown.output
