"""What the supervision system is told, and who may see it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from vaxtrace.core.supervision import SupervisedStep, sees

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
        ("bill_type", "101"),  # production warehousing is not a step of the chain told here
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
