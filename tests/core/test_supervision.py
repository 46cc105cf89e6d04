"""What the supervision system is told, and who may see it: steps on codes or whole batches, a
MAH's facts and control steps as steps, jurisdiction by division (national sees all)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from vaxtrace.core.signals import SafetySignal, SignalKind
from vaxtrace.core.supervision import (
    BILL_TYPES,
    NATIONAL,
    ExcursionReport,
    Step,
    SupervisedStep,
    TraceFact,
    area_prefix,
    sees,
    signal_step,
)
from vaxtrace.sim.catalogue import make_uscc

MAH = "91110000600037341L"
STEP: dict[str, Any] = {
    "bill_type": "201",
    "org_uscc": MAH,
    "division_code": "320106",
    "document_no": "FH1",
    "business_time": "2026-11-20T09:00:00+08:00",
    "codes": ["80000010000000012345"],
}


def test_a_step_names_who_where_when_and_which_codes() -> None:
    step = SupervisedStep.model_validate(STEP)
    assert step.division_code == "320106" and step.codes == ("80000010000000012345",)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("division_code", "32010"),
        ("division_code", "32a106"),
        ("org_uscc", "91110000600037341M"),
        ("codes", []),
        ("business_time", "2026-11-20T09:00:00"),
        ("document_no", "F" * 61),
        ("bill_type", "999"),  # no such step
    ],
)
def test_a_step_with_a_bad_field_is_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        SupervisedStep.model_validate(STEP | {field: value})
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("regulator", "step", "seen"),
    [
        ("320000", "320106", True),  # a province sees its counties
        ("320100", "320106", True),  # a city sees its counties
        ("320106", "320106", True),  # a county sees itself
        ("320100", "320500", False),  # not the next city
        ("320106", "320100", False),  # a county does not see its city
        ("330000", "320106", False),  # nor another province
    ],
)
def test_a_regulator_sees_what_happened_inside_its_division(
    regulator: str, step: str, seen: bool
) -> None:
    assert sees(regulator, step) is seen


MAKER = make_uscc("91320100MA1X00001")
WHEN = datetime(2026, 11, 20, 1, tzinfo=UTC)


def test_jurisdiction_by_division() -> None:
    assert sees("320000", "320106") and sees("320100", "320106") and sees("320106", "320106")
    assert not sees("320106", "320111") and not sees("320100", "320200")
    assert not sees("330000", "320106")
    assert sees(NATIONAL, "320106") and sees(NATIONAL, "650000")
    assert (area_prefix(NATIONAL), area_prefix("320000"), area_prefix("320106")) == (
        "",
        "32",
        "320106",
    )
    with pytest.raises(ValueError):
        area_prefix("3201")


def test_a_step_is_on_codes_or_on_named_batches() -> None:
    base = {"org_uscc": MAKER, "document_no": "D", "business_time": WHEN}
    assert Step(bill_type="322", codes=("c",), **base).batch_nos == ()
    batch = Step(bill_type="902", mah_uscc=MAKER, batch_nos=("B1",), **base)
    assert batch.codes == ()
    for broken in (
        {"bill_type": "322"},  # on nothing
        {"bill_type": "902", "batch_nos": ("B1",)},  # batches of no MAKER
        {"bill_type": "999", "codes": ("c",)},  # no such step
    ):
        with pytest.raises(ValidationError):
            Step(**base, **broken)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):  # national is a regulator's area, not a place
        SupervisedStep(bill_type="322", codes=("c",), division_code=NATIONAL, **base)
    assert {"101", "201", "205", "901", "902", "911", "913", "931"} <= BILL_TYPES


def test_a_trace_fact_is_production_or_a_batch_fact() -> None:
    fact = TraceFact(bill_type="902", document_no="PQ", business_time=WHEN, batch_nos=("B1",))
    step = fact.step(MAKER)
    assert (step.org_uscc, step.mah_uscc, step.batch_nos) == (MAKER, MAKER, ("B1",))
    with pytest.raises(ValidationError):
        TraceFact(bill_type="322", document_no="JZ", business_time=WHEN, codes=("c",))
    with pytest.raises(ValidationError):
        TraceFact(bill_type="101", document_no="RK", business_time=WHEN)
    excursion = ExcursionReport(org_uscc=MAKER, document_no="W", business_time=WHEN, codes=("c",))
    assert excursion.step().bill_type == "931"


def test_a_mahs_signal_is_kept_as_a_step() -> None:
    lock = SafetySignal(
        kind=SignalKind.LOCK,
        mah_uscc=MAKER,
        document_no="SD1",
        business_time=WHEN,
        batch_nos=("B1",),
        lock_kind="pending",  # type: ignore[arg-type]
        reason="稳定性考察",
    )
    step = signal_step(lock)
    assert step is not None and step.bill_type == "911" and step.codes == ()
    assert step.detail == {"kind": "lock", "lock_kind": "pending", "reason": "稳定性考察"}
    recall = lock.model_copy(update={"kind": SignalKind.RECALL, "recall_no": "R1"})
    assert signal_step(recall).bill_type == "913"  # type: ignore[union-attr]
    batch = lock.model_copy(update={"kind": SignalKind.BATCH})
    assert signal_step(batch) is None  # batch data only repeats what notes carry
