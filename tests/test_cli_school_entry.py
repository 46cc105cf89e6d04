"""``vaxtrace school-entry check`` over a data directory: a roster checked by the provincial
CDC (the default unit), the result printed (JSON with ``--json``), the certificates and
catch-up notices written as PDFs; a roster without a required column refused naming it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.commands.common import staff_service
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.recipients import ChildRegistration
from vaxtrace.sim.catalogue import make_uscc

runner = CliRunner()
CDC = make_uscc("12320000MB0000001")
SITE = make_uscc("12320102MB0000007")


def child(name: str, card_no: str, phone: str) -> ChildRegistration:
    return ChildRegistration(
        name=name,
        sex="F",
        birth_date="2019-05-06",
        birth_division="320102",
        guardians=[{"name": "母亲", "relation": "mother", "phone": phone}],
        card_no=card_no,
    )


def test_a_roster_is_checked_and_printed(tmp_path: Path) -> None:
    svc = staff_service("immunization", tmp_path)
    for uscc, name, kind, division in (
        (CDC, "示例省疾病预防控制中心", OrgKind.CDC, "320000"),
        (SITE, "示例社区卫生服务中心", OrgKind.POV, "320102"),
    ):
        svc.register_organisation(
            Organisation(uscc=uscc, name=name, kind=kind, division_code=division)
        )
    svc.register_child(SITE, child("黄小雨", "C-000001", "13600136000"))
    svc.register_child(SITE, child("刘小溪", "C-000002", "13500135000"))
    svc.close()
    roster = tmp_path / "roster.csv"
    roster.write_bytes(
        "姓名,性别,出生日期,监护人电话,接种证号\n"
        "黄小雨,女,2019-05-06,13600136000,C-000001\n"
        "刘小溪,女,2019/5/6,13500135000,\n"
        "无名氏,男,2019-01-01,,\n".encode("gbk")
    )
    d = ["--data-dir", str(tmp_path)]
    pdfs = tmp_path / "pdf"
    args = ["school-entry", "check", str(roster), "--school", "示例小学", "--json"]
    done = runner.invoke(app, [*args, "--division", "320102", "--pdf-dir", str(pdfs), *d])
    assert done.exit_code == 0, done.output
    body = json.loads(done.output)
    assert (body["org_uscc"], body["school_division"]) == (CDC, "320102")
    assert (body["counts"]["incomplete"], body["counts"]["no_match"]) == (2, 1)
    catch_up = next(Path(p) for p in body["files"] if "catch-up" in p)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(catch_up), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "预防接种补种通知单" in text and "黄小雨" in text and "刘小溪" in text
    again = ["school-entry", "check", str(roster), "--school", "示例小学", "--division", "320102"]
    shown = runner.invoke(app, [*again, *d])
    assert shown.exit_code == 0, shown.output
    assert "the same check" in shown.output and "row 4: 无名氏 no match" in shown.output
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,出生日期\n张三,2019-01-01\n", encoding="utf-8")
    refused = runner.invoke(app, ["school-entry", "check", str(bad), "--school", "X", *d])
    assert refused.exit_code == 1 and "missing_column (性别)" in refused.output
