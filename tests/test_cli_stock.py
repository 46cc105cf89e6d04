"""``vaxtrace stock expire`` on the demo's data directory, as a user would run it: the batch that
expired is reported once, a later date finds the rest, and a bad date exits 1."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vaxtrace.cli import app

runner = CliRunner()


def test_stock_expire_reports_each_expired_batch_once(tmp_path: Path) -> None:
    built = runner.invoke(
        app, ["demo", "--no-serve", "--units", "2000", "--data-dir", str(tmp_path)]
    )
    assert built.exit_code == 0, built.output
    d = ["--data-dir", str(tmp_path)]
    first = runner.invoke(app, ["stock", "expire", *d])
    assert first.exit_code == 0, first.output
    assert "1 batch(es)" in first.output and "expired after" in first.output
    samples = json.loads((tmp_path / "demo.json").read_text())["samples"]
    check = ["dose-check", samples["expired_dose"], "--org", samples["site"], "--json", *d]
    batch_no = json.loads(runner.invoke(app, check).output)["batch_no"]
    assert f"  {batch_no}  " in first.output  # the demo's expired batch

    again = runner.invoke(app, ["stock", "expire", *d])
    assert again.exit_code == 0 and "nothing expired since the run of" in again.output

    later = runner.invoke(app, ["stock", "expire", "--on", "2099-01-01", "--json", *d])
    assert later.exit_code == 0, later.output
    found = json.loads(later.output)
    assert found["run_on"] == "2099-01-01" and len(found["batches"]) >= 4
    assert found["doses"] == sum(b["doses"] for b in found["batches"])
    assert all(b["expiry_date"] < "2099-01-01" and b["units"] >= 1 for b in found["batches"])

    bad = runner.invoke(app, ["stock", "expire", "--on", "2099-02-30", *d])
    assert bad.exit_code == 1 and "--on: not a date" in bad.output
