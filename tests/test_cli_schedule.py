"""``vaxtrace schedule evaluate FILE.json [--json]`` as a user runs it: the documented JSON
shape, a readable table, and bad input naming its field with exit 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from vaxtrace.cli import app

runner = CliRunner()

CHILD = {
    "birth_date": "2024-09-15",
    "sex": "F",
    "assessment_date": "2025-02-01",
    "doses": [
        {"vaccine": "HepB", "date": "2024-09-15"},
        {"vaccine": "BCG", "date": "2024-09-15"},
        {"vaccine": "DTaP", "date": "2024-12-15"},
        {"vaccine": "DTaP", "date": "2025-01-15"},
        {"vaccine": "IPV", "date": "2024-11-10"},
    ],
}


def _file(tmp_path: Path, body: Any) -> str:
    path = tmp_path / "child.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return str(path)


def test_json_answer_has_exactly_the_documented_shape(tmp_path: Path) -> None:
    ran = runner.invoke(app, ["schedule", "evaluate", _file(tmp_path, CHILD), "--json"])
    assert ran.exit_code == 0, ran.output
    found = json.loads(ran.output)
    assert set(found) == {"series", "school_entry"}
    assert [s["vaccine"] for s in found["series"]] == [
        "HepB", "BCG", "Polio", "DTaP", "MMR", "JE", "MPSV-A", "MPSV-AC", "HepA"
    ]  # fmt: skip
    for s in found["series"]:
        assert set(s) == {"vaccine", "status", "doses_valid", "next"}
        assert s["next"] is None or set(s["next"]) == {"earliest", "recommended", "overdue"}
    by = {s["vaccine"]: s for s in found["series"]}
    # DTaP 1 in 2024 (3 months, 2021 edition), DTaP 2 in 2025 (4 months): dose 3 at 6 months
    assert by["DTaP"] == {
        "vaccine": "DTaP",
        "status": "not_yet_due",
        "doses_valid": 2,
        "next": {"earliest": "2025-03-15", "recommended": "2025-03-15", "overdue": "2025-09-15"},
    }
    assert by["BCG"] == {"vaccine": "BCG", "status": "complete", "doses_valid": 1, "next": None}
    # IPV at 1 m 26 d: too early, so dose 1 is still due from 2 months
    assert by["Polio"]["doses_valid"] == 0 and by["Polio"]["status"] == "due"
    assert by["Polio"]["next"]["earliest"] == "2024-11-15"
    assert by["HepB"]["next"] == {
        "earliest": "2024-10-15", "recommended": "2024-10-15", "overdue": "2025-09-15"
    }  # fmt: skip
    entry = found["school_entry"]
    assert set(entry) == {"complete", "missing"} and entry["complete"] is False
    assert {"vaccine": "DTaP", "dose": 5} in entry["missing"]
    assert {"vaccine": "BCG", "dose": 1} not in entry["missing"]


def test_table_without_json(tmp_path: Path) -> None:
    ran = runner.invoke(app, ["schedule", "evaluate", _file(tmp_path, CHILD)])
    assert ran.exit_code == 0, ran.output
    assert "schedule edition 2025-DTaP" in ran.output
    assert "IPV on 2024-11-10: not valid (too_early)" in ran.output
    assert "school entry (2030-09-15): missing" in ran.output


def _refused(tmp_path: Path, body: Any) -> str:
    ran = runner.invoke(app, ["schedule", "evaluate", _file(tmp_path, body), "--json"])
    assert ran.exit_code == 1, ran.output
    return ran.output


def test_bad_input_names_the_field_and_exits_1(tmp_path: Path) -> None:
    future = {**CHILD, "birth_date": "2025-03-01"}
    assert "birth_date" in _refused(tmp_path, future)
    before = {**CHILD, "doses": [{"vaccine": "HepB", "date": "2024-09-14"}]}
    assert "doses[0].date" in _refused(tmp_path, before)
    unknown = {**CHILD, "doses": [*CHILD["doses"], {"vaccine": "Varicella", "date": "2025-01-01"}]}
    out = _refused(tmp_path, unknown)
    assert "doses[5].vaccine" in out and "Varicella" in out
    assert "sex" in _refused(tmp_path, {**CHILD, "sex": "unknown"})
    assert "assessment_date" in _refused(tmp_path, {**CHILD, "assessment_date": "2025-13-01"})
    assert "not JSON" in _refused(tmp_path, "{not json")


def test_a_missing_file_exits_1(tmp_path: Path) -> None:
    ran = runner.invoke(app, ["schedule", "evaluate", str(tmp_path / "nope.json")])
    assert ran.exit_code == 1 and "cannot read" in ran.output
