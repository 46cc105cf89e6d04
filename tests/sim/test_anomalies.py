"""Labelled anomalies: one injector per validation rule, each case on doses of its own with the
fault its label names and a clean chain up to it; the same for the same seed; labels kept as
JSON; the cases keep as any step does."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from tests.sim import oracle
from vaxtrace.core.supervision import SupervisedStep
from vaxtrace.core.validation.findings import document_subject
from vaxtrace.core.validation.rules import BY_ID, RULES
from vaxtrace.sim import anomalies
from vaxtrace.sim import supervised_chain as sc
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision import steps as supervised
from vaxtrace.store.supervision.schema import rule_finding

WORLD = sc.generate(300, seed=2)


def test_every_rule_has_an_injector() -> None:
    assert set(anomalies.INJECTORS) == set(BY_ID)


def test_every_rule_is_labelled_with_distinct_subjects_of_its_kind() -> None:
    made = anomalies.inject(WORLD, per_kind=2, seed=4)
    assert Counter(label["rule"] for label in made.labels) == {r.id: 2 for r in RULES}
    keys = [(x["rule"], x["subject_kind"], x["subject"]) for x in made.labels]
    assert len(set(keys)) == len(keys)
    assert all(BY_ID[x["rule"]].subject_kind.value == x["subject_kind"] for x in made.labels)
    events = [s.event_id for s in made.steps]
    clean = {s.event_id for s in WORLD.steps()}
    assert len(set(events)) == len(events) and not clean & set(events)
    for s in made.steps:
        SupervisedStep.model_validate({k: v for k, v in s.step.items() if k != "reported_at"})


def test_the_same_seed_injects_the_same() -> None:
    first = anomalies.inject(WORLD, per_kind=1, seed=9)
    assert first == anomalies.inject(WORLD, per_kind=1, seed=9)
    other = anomalies.inject(WORLD, per_kind=1, seed=10)
    assert first.labels != other.labels
    codes = {c for s in first.steps for c in s.step["codes"]}
    assert not codes & {c for s in other.steps for c in s.step["codes"]}
    assert not codes & {c for s in WORLD.steps() for c in s.step["codes"]}


def test_only_the_kinds_asked_for() -> None:
    made = anomalies.inject(WORLD, ["used_twice", "late_report"], per_kind=3, seed=1)
    assert Counter(x["rule"] for x in made.labels) == {"used_twice": 3, "late_report": 3}
    with pytest.raises(ValueError, match="no_such_rule"):
        anomalies.inject(WORLD, ["no_such_rule"])


def _case(rule: str) -> tuple[list[dict[str, Any]], anomalies.Label]:
    made = anomalies.inject(WORLD, [rule], seed=3)
    return [s.step for s in made.steps], made.labels[0]


def _documents(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {document_subject(s["bill_type"], s["org_uscc"], s["document_no"]): s for s in steps}


def test_each_case_has_the_fault_its_label_names() -> None:
    for rule in BY_ID:
        steps, label = _case(rule)
        if label["subject_kind"] == "document":
            assert label["subject"] in _documents(steps), rule
        else:
            assert sum(s["codes"] == (label["subject"],) for s in steps if s["bill_type"] == "322")
    steps, label = _case("late_report")
    late = _documents(steps)[label["subject"]]
    assert late["reported_at"] - late["business_time"] > timedelta(hours=24)
    assert all(
        s["reported_at"] - s["business_time"] < timedelta(hours=1) for s in steps if s is not late
    )
    steps, label = _case("quantity_mismatch")
    note = _documents(steps)[label["subject"]]
    receipt = next(s for s in steps if s["source_document_no"] == note["document_no"])
    assert len(receipt["codes"]) == len(note["codes"]) - 1
    steps, label = _case("used_twice")
    assert sum(s["codes"] == (label["subject"],) and s["bill_type"] == "322" for s in steps) == 2
    steps, label = _case("time_order")
    receipt = _documents(steps)[label["subject"]]
    sent = next(s for s in steps if s["document_no"] == receipt["source_document_no"])
    assert receipt["business_time"] < sent["business_time"]
    steps, label = _case("missing_production")
    assert not [s for s in steps if s["bill_type"] == "101"]
    steps, label = _case("used_after_expiry")
    note = next(s for s in steps if s["bill_type"] == "201")
    expiry = note["detail"]["batches"][0]["expiry_date"]
    used = next(s for s in steps if s["bill_type"] == "322")
    assert sc.china_day(used["business_time"]).isoformat() > expiry
    assert all(
        sc.china_day(s["business_time"]).isoformat() <= expiry for s in steps if s is not used
    )


def test_times_rise_along_each_case_but_where_the_fault_is() -> None:
    for rule in BY_ID:
        steps, label = _case(rule)
        times = [s["business_time"] for s in steps]
        if rule == "time_order":
            faulty = _documents(steps)[label["subject"]]
            times = [s["business_time"] for s in steps if s is not faulty]
        assert times == sorted(times), rule


def test_labels_are_kept_as_json(tmp_path: Path) -> None:
    made = anomalies.inject(WORLD, per_kind=1, seed=1)
    anomalies.write_labels(tmp_path / "labels.json", made.labels)
    assert anomalies.read_labels(tmp_path / "labels.json") == made.labels


def test_cases_keep_beside_the_clean_world(supervision_engine: Engine) -> None:
    made = anomalies.load_with_anomalies(supervision_engine, WORLD, per_kind=1, seed=1)
    assert made == anomalies.inject(WORLD, per_kind=1, seed=1)
    with supervision_engine.connect() as conn:
        assert sc.counts(conn)["supervised_step"] == len(list(WORLD.steps())) + len(made.steps)
        code = next(x["subject"] for x in made.labels if x["rule"] == "used_while_recalled")
        bills = [r["bill_type"] for r in supervised.chain_of(conn, code)]
        assert bills == [
            "101",
            "901",
            "902",
            "201",
            "107",
            "209",
            "107",
            "209",
            "107",
            "913",
            "322",
        ]
        assert supervised.batch_of(conn, code) is not None


def _registry(world: sc.SupervisedWorld) -> tuple[dict[str, str], dict[str, str]]:
    orgs = world.organisations()
    return {o.uscc: o.kind.value for o in orgs}, {o.uscc: o.division_code for o in orgs}


def test_the_clean_world_breaks_no_rule() -> None:
    world = sc.generate(1_500, seed=8)
    assert oracle.findings((s.step for s in world.steps()), *_registry(world)) == set()


def test_each_case_breaks_its_rule_and_no_other() -> None:
    made = anomalies.inject(WORLD, per_kind=2, seed=6)
    steps = [s.step for s in WORLD.steps()] + [s.step for s in made.steps]
    found = oracle.findings(steps, *_registry(WORLD))
    labelled = {(x["rule"], x["subject_kind"], x["subject"]) for x in made.labels}
    assert sorted(found - labelled) == [] and sorted(labelled - found) == []


def test_the_engine_finds_exactly_the_labels(supervision_engine: Engine) -> None:
    """The validation engine on the simulator's data (skipped until the engine is there):
    nothing on the clean world, every label and nothing else with the anomalies, nothing
    new on clean vaccinations after."""
    engine = pytest.importorskip("vaxtrace.roles.supervision.service.validation")
    world = sc.generate(1_200, seed=11)
    with write_tx(supervision_engine) as conn:
        sc.load_world(conn, world)
    assert engine.run_validation(supervision_engine, full=True)["found"] == 0
    made = anomalies.inject(world, per_kind=2, seed=12)
    sc.load_steps_fast(supervision_engine, made.steps)
    engine.run_validation(supervision_engine, full=False)
    with supervision_engine.connect() as conn:
        f = rule_finding.c
        found = {tuple(r) for r in conn.execute(select(f.rule, f.subject_kind, f.subject))}
    assert found == {(x["rule"], x["subject_kind"], x["subject"]) for x in made.labels}
    sc.load_steps_fast(supervision_engine, sc.vaccinations(world, world.stock(50)[:50]))
    assert engine.run_validation(supervision_engine, full=False)["found"] == 0
