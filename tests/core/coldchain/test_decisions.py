"""The receipt's decision on the journey's temperature record, and a person's decision on
an excursion."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.core.coldchain.coldchain_world import FREEZE_SENSITIVE, series
from vaxtrace.core.coldchain.decisions import (
    ExcursionDecision,
    ReceiptTemperature,
    receipt_temperature_decision,
)
from vaxtrace.core.coldchain.excursions import evaluate


@pytest.mark.parametrize(
    ("record_present", "in_range", "papers_present", "expected"),
    [
        (True, True, True, ReceiptTemperature.RECEIVE),
        (True, True, False, ReceiptTemperature.QUARANTINE),
        (True, None, True, ReceiptTemperature.QUARANTINE),
        (True, False, True, ReceiptTemperature.REFUSE),
        (True, False, False, ReceiptTemperature.REFUSE),
        (False, None, True, ReceiptTemperature.REFUSE),
        (False, None, False, ReceiptTemperature.REFUSE),
        (False, True, True, ReceiptTemperature.REFUSE),
    ],
)
def test_receipt_demands_the_whole_journey_record(
    record_present: bool, in_range: bool | None, papers_present: bool, expected: ReceiptTemperature
) -> None:
    assert receipt_temperature_decision(record_present, in_range, papers_present) is expected


def test_a_journey_with_only_notices_is_received() -> None:
    journey = evaluate(series((5.0, 60), (9.0, 30), (5.0, 60)), FREEZE_SENSITIVE)
    assert receipt_temperature_decision(True, journey.in_range, True) is ReceiptTemperature.RECEIVE
    frozen = evaluate(series((5.0, 60), (-1.0, 90)), FREEZE_SENSITIVE)
    assert receipt_temperature_decision(True, frozen.in_range, True) is ReceiptTemperature.REFUSE


def test_a_decision_names_a_person_and_a_reason() -> None:
    ExcursionDecision(decision="usable", decided_by="张三", reason="stability data allow it")
    for bad in (
        {"decision": "maybe", "decided_by": "张三", "reason": "r"},
        {"decision": "usable", "decided_by": "", "reason": "r"},
        {"decision": "usable", "decided_by": "张三"},
    ):
        with pytest.raises(ValidationError):
            ExcursionDecision.model_validate(bad)
