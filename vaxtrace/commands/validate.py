"""``vaxtrace validate``: the supervision system's validation of the chain (追溯数据校验), on
what arrived since the last run or in full, and the detection table against the labels of the
anomalies the simulator planted."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, fail, progress, settings_of, staff_service
from vaxtrace.core.validation.quality import LABELS_FILE, RuleQuality, detection_table, read_labels
from vaxtrace.core.validation.rules import RULES
from vaxtrace.store.supervision import validation as store


def validate(
    data_dir: DataDir = None,
    full: Annotated[
        bool, typer.Option("--full", help="judge every step, not only those new since last run")
    ] = False,
    report: Annotated[
        bool, typer.Option("--report", help="print the detection table against the labels")
    ] = False,
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels", help=f"labels of planted anomalies (default: DATA_DIR/{LABELS_FILE})"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """校验: apply every validation rule of the supervision system to what arrived since the
    last run (or, with --full, to everything); each finding is kept once. With --report, the
    detection table per rule: labelled, found, true and false positives, precision, recall."""
    settings = settings_of(data_dir)
    local = settings.supervision_database_url is None
    if local and not (settings.data_dir / "supervision.sqlite").exists():
        raise fail(f"no supervision node in {settings.data_dir}: run `vaxtrace demo` first")
    planted = _labels(labels or settings.data_dir / LABELS_FILE, given=labels is not None)
    svc = staff_service("supervision", data_dir)
    with progress() as bar:
        task = bar.add_task("validating", total=len(RULES))
        ran = svc.validate(full=full, progress=lambda _rule: bar.advance(task))
    with svc.engine.connect() as conn:
        kept = [(str(r["rule"]), str(r["subject"])) for r in store.all_findings(conn)]
    table = detection_table(planted, kept)
    if as_json:
        document: dict[str, Any] = {
            "rules": [line.as_json() for line in table],
            "findings": len(kept),
        }
        if not report:
            document = {k: v for k, v in ran.items() if k != "new"} | {"findings": len(kept)}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    console.print(
        f"{ran['kind']} validation of steps {ran['after_step_id'] + 1}..{ran['through_step_id']}"
        f" ({ran['codes']} code rows) in {ran['seconds']} s: {ran['found']} new finding(s); "
        f"{len(kept)} kept in all"
    )
    if report:
        print_table(table, labelled=bool(planted))


def _labels(path: Path, *, given: bool) -> list[tuple[str, str]]:
    """The labels in ``path`` (none when the default file is absent)."""
    if not path.exists():
        if given:
            raise fail(f"--labels: no file {path}")
        return []
    try:
        return read_labels(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise fail(f"{path}: {exc}") from exc


def print_table(table: list[RuleQuality], *, labelled: bool) -> None:
    if not labelled:
        console.print("no labels (run `vaxtrace demo --anomalies`): precision and recall unknown")
    heads = f"{'labelled':>8} {'found':>6} {'TP':>5} {'FP':>5} {'precision':>9} {'recall':>7}"
    console.print(f"{'rule':24} {heads}")
    for line in table:
        console.print(
            f"{line.rule:24} {line.labelled:>8} {line.found:>6} {line.true_positives:>5} "
            f"{line.false_positives:>5} {_share(line.precision):>9} {_share(line.recall):>7}"
        )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
