"""A province's report as it travels: complete for its bill type, read with a clear refusal."""

from __future__ import annotations

from typing import Any

import pytest

from vaxtrace.core.downstream import ACTIONS, DownstreamBill, read_event
from vaxtrace.core.errors import DomainError
from vaxtrace.core.status import Action

CDC = "12320000MB0000001D"
POV = "12320102MB0000011G"


def event(**changes: Any) -> dict[str, Any]:
    return {
        "bill_type": "209",
        "document_no": "GY1",
        "business_time": "2026-11-20T09:00:00+08:00",
        "org_uscc": CDC,
        "counterparty_uscc": POV,
        "codes": ["80000010000000017123", "80000010000000027456"],
    } | changes


def refusal(payload: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as caught:
        read_event(payload)
    return caught.value.reason, caught.value.field


def test_a_complete_report_reads_and_splits() -> None:
    read = read_event({"downstream_event": event()})
    assert read.bill_type is DownstreamBill.DISTRIBUTION and ACTIONS[read.bill_type] is Action.SHIP
    part = read.only(read.codes[:1])
    assert part.codes == read.codes[:1] and part.counterparty_uscc == POV


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"counterparty_uscc": None}, "payload.downstream_event"),
        ({"bill_type": "107"}, "payload.downstream_event"),  # no note, no verification
        ({"bill_type": "202"}, "payload.downstream_event"),  # no return reason
        ({"bill_type": "215", "counterparty_uscc": None}, "payload.downstream_event"),
        ({"codes": []}, "payload.downstream_event.codes"),
        ({"org_uscc": "12320000MB0000001X"}, "payload.downstream_event.org_uscc"),
        ({"business_time": "2026-11-20T09:00:00"}, "payload.downstream_event.business_time"),
        ({"document_no": "G" * 61}, "payload.downstream_event.document_no"),  # stored in 60
    ],
)
def test_an_incomplete_report_is_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    assert refusal({"downstream_event": event(**changes)}) == ("malformed_document", field)


def test_a_payload_without_a_report() -> None:
    assert refusal({"shipping_note": {}}) == ("unknown_document", "payload")
    assert refusal(["not", "a", "payload"]) == ("unknown_document", "payload")
