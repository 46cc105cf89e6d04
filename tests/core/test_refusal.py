"""The refusal notice: which message, whose step, which codes, why, and what to do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from vaxtrace.core.refusal import (
    ADVICE,
    MAX_CODES,
    RefusalFinding,
    advice_for,
    notice_of,
)

POV = "12320102MB0000007K"
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CODES = [f"8000001{n:09d}0000"[:20] for n in range(30)]


def forwarded(codes: list[str]) -> dict[str, object]:
    return {
        "downstream_event": {
            "bill_type": "322",
            "document_no": "JZ7",
            "business_time": "2026-11-23T08:00:00+08:00",
            "org_uscc": POV,
            "codes": codes,
        },
        "split": {"part": 1, "parts": 1, "codes_in_event": len(codes)},
        "forwarded_from": {"system_id": "province-32", "event_id": "e-origin"},
    }


def test_a_refused_report_names_its_origin_step_and_codes() -> None:
    notice = notice_of(
        forwarded(CODES),
        refused_event_id="e-forwarded",
        sender="platform",
        data_owner=POV,
        receiver="trace-a",
        refusal=(409, "locked", "codes", "30 code(s) e.g. …: the code is locked (pending)"),
        at=AT,
    )
    assert (notice.origin_system_id, notice.origin_event_id) == ("province-32", "e-origin")
    assert (notice.refused_event_id, notice.receiver_system_id) == ("e-forwarded", "trace-a")
    assert (notice.bill_type, notice.document_no, notice.org_uscc) == ("322", "JZ7", POV)
    assert notice.codes == tuple(CODES[:MAX_CODES]) and notice.code_count == 30
    assert notice.advice == ADVICE["locked"] and "do not use" in notice.advice
    assert (notice.status, notice.reason, notice.field) == (409, "locked", "codes")


def test_a_message_not_forwarded_is_its_own_origin() -> None:
    payload = forwarded(CODES[:1])
    del payload["forwarded_from"]
    notice = notice_of(
        payload,
        refused_event_id="e-own",
        sender="province-32",
        data_owner=POV,
        receiver="platform",
        refusal=(422, "owner_mismatch", "payload.downstream_event.org_uscc", ""),
        at=AT,
    )
    assert (notice.origin_system_id, notice.origin_event_id) == ("province-32", "e-own")
    assert notice.detail == "owner_mismatch"  # no words given: the reason stands for them
    assert "operator" in notice.advice  # a technical refusal: the operator mends it


def test_a_shipping_note_is_the_mahs_step_201() -> None:
    note = {
        "shipping_note": {"document_no": "FH1", "consignee_uscc": POV, "codes": CODES[:2]},
        "forwarded_from": {"system_id": "trace-a", "event_id": "e-note"},
    }
    notice = notice_of(
        note,
        refused_event_id="e-f",
        sender="platform",
        data_owner="91320100MA1X00001X",
        receiver="province-32",
        refusal=(599, "odd", None, "odd"),
        at=AT,
    )
    assert (notice.bill_type, notice.document_no) == ("201", "FH1")
    assert notice.org_uscc == "91320100MA1X00001X" and notice.status is None


def test_every_reason_gets_advice_and_a_finding_needs_its_division() -> None:
    assert advice_for("locked") != advice_for("gone") != advice_for("something_new")
    assert "something_new" in advice_for("something_new")
    notice = notice_of(
        forwarded(CODES[:1]),
        refused_event_id="e",
        sender="platform",
        data_owner=POV,
        receiver="trace-a",
        refusal=(409, "gone", "codes", "held by another"),
        at=AT,
    )
    finding = RefusalFinding.model_validate(
        notice.model_dump(mode="json") | {"division_code": "320102"}
    )
    assert finding.division_code == "320102"
    with pytest.raises(ValidationError):
        RefusalFinding.model_validate(notice.model_dump(mode="json") | {"division_code": "32"})
