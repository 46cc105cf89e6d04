"""``vaxtrace validate``: the rules on what arrived since the last run or on everything, and
the detection table against the labels of planted anomalies (text and JSON); a missing node or
labels file is a message and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.store.supervision.test_validation import ANOMALIES, clean_chain
from vaxtrace.cli import app
from vaxtrace.node import migrated
from vaxtrace.settings import Settings
from vaxtrace.store.engine import write_tx

runner = CliRunner()
PLANTED = ("used_twice", "quantity_mismatch")


def _province(data_dir: Path) -> None:
    engine = migrated(Settings(data_dir=data_dir), "supervision")
    with write_tx(engine) as conn:
        clean_chain(conn)
        ANOMALIES["used_twice"][0](conn)
        ANOMALIES["mah_to_site"][0](conn)  # found, but not labelled: a false positive here
    engine.dispose()
    labels = [
        {"rule": "used_twice", "subject_kind": "code", "subject": ANOMALIES["used_twice"][1]},
        {"rule": "time_order", "subject_kind": "document", "subject": "107:X:never"},
    ]
    (data_dir / "anomalies.json").write_text(json.dumps(labels), encoding="utf-8")


def test_the_report_as_json(tmp_path: Path) -> None:
    _province(tmp_path)
    result = runner.invoke(
        app, ["validate", "--full", "--report", "--json", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["findings"] == 2
    rules = {line["rule"]: line for line in document["rules"]}
    assert {"rule", "labelled", "found", "precision", "recall"} <= set(rules["used_twice"])
    assert (rules["used_twice"]["precision"], rules["used_twice"]["recall"]) == (1.0, 1.0)
    assert (rules["time_order"]["found"], rules["time_order"]["recall"]) == (0, 0.0)
    assert (rules["mah_to_site"]["labelled"], rules["mah_to_site"]["false_positives"]) == (0, 1)


def test_a_run_then_an_incremental_one_finds_nothing_new(tmp_path: Path) -> None:
    _province(tmp_path)
    first = runner.invoke(app, ["validate", "--report", "--data-dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "2 new finding(s)" in first.stdout and "used_twice" in first.stdout
    assert "100%" in first.stdout  # used_twice: precision and recall
    again = runner.invoke(app, ["validate", "--json", "--data-dir", str(tmp_path)])
    assert json.loads(again.stdout)["found"] == 0 and json.loads(again.stdout)["findings"] == 2


def test_no_node_or_no_labels_is_a_message(tmp_path: Path) -> None:
    nothing = runner.invoke(app, ["validate", "--data-dir", str(tmp_path)])
    assert nothing.exit_code == 1 and "no supervision node" in nothing.output
    _province(tmp_path)
    missing = tmp_path / "nope.json"
    result = runner.invoke(app, ["validate", "--labels", str(missing), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "--labels: no file" in result.output
    (tmp_path / "bad.json").write_text('{"rule": 1}', encoding="utf-8")
    bad = runner.invoke(
        app, ["validate", "--labels", str(tmp_path / "bad.json"), "--data-dir", str(tmp_path)]
    )
    assert bad.exit_code == 1 and "a labels file holds a JSON list" in bad.output
