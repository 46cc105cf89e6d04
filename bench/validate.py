"""Validation of a province's whole chain on SQLite (issue 14: full ≤ 60 s for 1,000,000
doses; incremental ≤ 2 s for 10,000 new steps; one batch's flow of 100,000 doses ≤ 1 s).

A fresh supervision database (the project's migrations) in ``--data-dir`` receives, set-based
(vaxtrace.sim.supervised_chain.load_fast), a clean province of ``--doses`` doses of a few
MAHs' batches through their whole chain, then ``--per-kind`` labelled anomalies of every
validation rule one add_step at a time (labels in ``anomalies.json`` beside the database). Timed:
the rules in full; then, after 10,000 vaccinations of doses in stock at sites, the rules on
the new steps only; then the flow of one batch. When the rules ran, their findings are
compared with the labels. Load times are printed as they are measured.

Last line: ``validate full: X s; incremental 10k: Y s; batch flow: Z ms``.
Run: ``python bench/validate.py [--doses 1000000] [--data-dir D]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _flow import bench_batch_flow
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, select

from vaxtrace.core.validation.rules import RULES
from vaxtrace.roles.supervision.service.validation import run_validation
from vaxtrace.sim import anomalies, supervised_chain
from vaxtrace.store.engine import make_engine, write_tx
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.supervision.schema import rule_finding

NEW_STEPS = 10_000
console = Console()


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        console=console,
    )


@contextmanager
def timed(label: str, took: dict[str, float]) -> Iterator[None]:
    """Time the block into ``took[label]`` and say so."""
    began = time.perf_counter()
    yield
    took[label] = time.perf_counter() - began
    console.print(f"{label}: {took[label]:.1f} s")


def build(engine: Engine, world: supervised_chain.SupervisedWorld, took: dict[str, float]) -> None:
    with timed("migrate", took):
        upgrade(engine, "supervision")
    with progress_bar() as bars, timed("load (bulk)", took):
        task = bars.add_task(f"{world.doses:,} doses down the chain", total=world.doses)
        supervised_chain.load_fast(engine, world, progress=lambda n: bars.advance(task, n))
    with engine.connect() as conn:
        counts = supervised_chain.counts(conn)
    console.print(", ".join(f"{name} {n:,}" for name, n in counts.items()))
    steps, codes = (
        counts[t] / took["load (bulk)"] for t in ("supervised_step", "supervised_code_step")
    )
    console.print(f"load: {steps:,.0f} steps/s, {codes:,.0f} code rows/s")


def inject(
    engine: Engine,
    world: supervised_chain.SupervisedWorld,
    per_kind: int,
    seed: int,
    data_dir: Path,
    took: dict[str, float],
) -> list[anomalies.Label]:
    made = anomalies.inject(world, per_kind=per_kind, seed=seed)
    label = f"anomalies ({len(made.labels)} cases, {len(made.steps)} steps, add_step)"
    with timed(label, took), write_tx(engine) as conn:
        supervised_chain.load_steps(conn, made.steps)
    anomalies.write_labels(data_dir / "anomalies.json", made.labels)
    return made.labels


def validate(engine: Engine, *, full: bool) -> tuple[float, Any]:
    """One run of the rules, a step of the bar each rule; the slowest rules said after."""
    assert run_validation is not None
    what = "validate " + ("in full" if full else "the new steps")
    marks: list[tuple[str, float]] = []
    with progress_bar() as bars:
        task = bars.add_task(what, total=len(RULES))

        def rule_begins(rule: str) -> None:
            bars.update(task, advance=1 if marks else 0, description=f"{what}: {rule}")
            marks.append((rule, time.perf_counter()))

        began = time.perf_counter()
        result = run_validation(engine, full=full, progress=rule_begins)
        ended = time.perf_counter()
    ends = [t for _, t in marks[1:]] + [ended]
    took = sorted(
        ((end - t, rule) for (rule, t), end in zip(marks, ends, strict=True)), reverse=True
    )
    console.print("slowest rules: " + ", ".join(f"{rule} {s:.2f} s" for s, rule in took[:6]))
    return ended - began, result


def score(engine: Engine, labels: list[anomalies.Label]) -> None:
    """Labels against the findings kept: per rule, found, true and false positives, missed."""
    with engine.connect() as conn:
        f = rule_finding.c
        found = {tuple(r) for r in conn.execute(select(f.rule, f.subject_kind, f.subject))}
    wanted = {(x["rule"], x["subject_kind"], x["subject"]) for x in labels}
    hits, false, missed = Counter[str](), Counter[str](), Counter[str]()
    for key in found:
        (hits if key in wanted else false)[key[0]] += 1
    for key in wanted - found:
        missed[key[0]] += 1
    for rule in sorted({k[0] for k in found | wanted}):
        console.print(
            f"  {rule}: labelled {hits[rule] + missed[rule]}, found {hits[rule] + false[rule]}, "
            f"false {false[rule]}, missed {missed[rule]}"
        )
    console.print(
        f"detection: {len(found & wanted)}/{len(wanted)} labels found, "
        f"{len(found - wanted)} findings unlabelled"
    )


def add_vaccinations(
    engine: Engine, world: supervised_chain.SupervisedWorld, took: dict[str, float]
) -> int:
    stock = world.stock(NEW_STEPS)[:NEW_STEPS]
    new = supervised_chain.vaccinations(world, stock)
    with timed(f"{len(new):,} new vaccinations (bulk)", took):
        supervised_chain.load_steps_fast(engine, new)
    return len(new)


def summary(result: Any) -> str:
    """A run's figures without the findings it lists."""
    if isinstance(result, dict):
        return ", ".join(f"{k} {v}" for k, v in result.items() if k != "new")
    return repr(result)


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doses", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, help="an empty directory to build in and keep")
    parser.add_argument("--per-kind", type=int, default=3, help="anomalies of each rule")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        database = data_dir / "supervision.sqlite"
        if database.exists():
            raise SystemExit(f"{database} exists: give an empty --data-dir")
        run(make_engine(f"sqlite:///{database}"), data_dir, args)


def run(engine: Engine, data_dir: Path, args: argparse.Namespace) -> None:
    took: dict[str, float] = {}
    world = supervised_chain.generate(args.doses, seed=args.seed)
    build(engine, world, took)
    labels = inject(engine, world, args.per_kind, args.seed, data_dir, took)
    full, result = validate(engine, full=True)
    console.print(f"validate full: {full:.2f} s → {summary(result)}")
    score(engine, labels)
    new = add_vaccinations(engine, world, took)
    incremental, result = validate(engine, full=False)
    console.print(f"validate {new:,} new steps: {incremental:.2f} s → {summary(result)}")
    engine.dispose()
    flow = float(bench_batch_flow(data_dir))
    print(
        f"validate full: {seconds(full)} s; incremental 10k: {seconds(incremental)} s; "
        f"batch flow: {flow:.0f} ms"
    )


if __name__ == "__main__":
    main()
