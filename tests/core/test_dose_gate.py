"""The dose gate (接种前核验): every reason a dose may not be given, alone and together."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from vaxtrace.core.dose_gate import (
    CHINA_TIME,
    BatchRecord,
    DoseDecision,
    DoseFacts,
    Label,
    StockPlace,
    decide_dose,
    local_date,
    stop_reasons,
)
from vaxtrace.core.reasons import DoseReason, DoseWarning
from vaxtrace.core.status import Status

R, W = DoseReason, DoseWarning
SITE = "12320102MB0000011G"  # the gate only compares it
OTHER_SITE = "12320102MB0000029X"
DOSE = "80000010000000017123"
BATCH_NO = "B2026001"
EXPIRY = date(2027, 6, 30)
AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 2026-11-20 10:00 in China
GOOD_BATCH = BatchRecord(batch_no=BATCH_NO, expiry_date=EXPIRY, lot_release_no="LR-2026-0001")
GOOD = DoseFacts(
    code=DOSE,
    holder_uscc=SITE,
    place=StockPlace.IN_STOCK,
    holds_codes=False,
    status=Status.NORMAL,
    batch=GOOD_BATCH,
)


def facts(batch: dict[str, Any] | None = None, **changes: Any) -> DoseFacts:
    """The good dose with ``changes`` to its facts and ``batch`` changes to its batch."""
    return replace(GOOD, **changes, batch=replace(GOOD_BATCH, **(batch or {})))


def decide(
    dose: DoseFacts | None = GOOD, label: Label | None = None, at: datetime = AT
) -> DoseDecision:
    return decide_dose(dose, SITE, label or Label(), at)


def test_a_good_dose_is_allowed() -> None:
    decision = decide()
    assert decision == DoseDecision(allowed=True, reasons=(), warnings=(), messages=())
    assert decision.as_dict() == {"allowed": True, "reasons": [], "warnings": [], "messages": []}


# --- each reason alone --------------------------------------------------------------------

EXPIRED_BATCH = {"expiry_date": date(2026, 11, 19)}
ALONE: list[tuple[DoseReason, DoseFacts | None, Label, str]] = [
    (R.UNKNOWN_CODE, None, Label(), "never received"),
    (R.NOT_HELD, facts(holder_uscc=OTHER_SITE), Label(), OTHER_SITE),
    (R.NOT_A_DOSE, facts(holds_codes=True), Label(), "scan the dose"),
    (R.ALREADY_USED, facts(place=StockPlace.USED), Label(), "used already"),
    (R.OUT_OF_STOCK, facts(place=StockPlace.DAMAGED), Label(), "damaged"),
    (R.IN_TRANSIT, facts(place=StockPlace.IN_TRANSIT), Label(), "receipt was never confirmed"),
    (R.STATUS_NOT_NORMAL, facts(status=Status.SUSPENDED), Label(), "suspended"),
    (R.LOCKED, facts(status=Status.PENDING), Label(), "pending"),
    (R.RECALLED, facts(batch={"recall_no": "RC-2026-7"}), Label(), "RC-2026-7"),
    (R.EXPIRED, facts(batch=EXPIRED_BATCH), Label(), "expired on 2026-11-19"),
    (R.NO_BATCH_DATA, replace(GOOD, batch=None), Label(), "no batch record"),
    (R.NO_LOT_RELEASE, facts(batch={"lot_release_no": None}), Label(), "no lot release"),
    (R.LOT_MISMATCH, GOOD, Label(batch_no="B2026999"), "label says batch B2026999"),
    (R.EXPIRY_MISMATCH, GOOD, Label(expiry=date(2027, 7, 31)), "label says expiry 2027-07-31"),
    (R.COLD_CHAIN_EXCURSION, facts(excursion="EX-42"), Label(), "EX-42"),
]


def test_every_reason_has_a_case_alone() -> None:
    assert [reason for reason, *_ in ALONE] == list(DoseReason)


@pytest.mark.parametrize(
    ("reason", "dose", "label", "says"), ALONE, ids=[reason.value for reason, *_ in ALONE]
)
def test_each_reason_alone_stops_the_dose(
    reason: DoseReason, dose: DoseFacts | None, label: Label, says: str
) -> None:
    decision = decide(dose, label)
    assert not decision.allowed
    assert decision.reasons == (reason,)
    assert decision.warnings == ()
    assert len(decision.messages) == 1 and says in decision.messages[0]
    assert decision.as_dict() == {
        "allowed": False,
        "reasons": [reason.value],
        "warnings": [],
        "messages": list(decision.messages),
    }


def test_the_reasons_keep_their_wire_names() -> None:
    assert R.IN_TRANSIT.value == "receipt_not_confirmed"
    assert decide(facts(place=StockPlace.IN_TRANSIT)).as_dict()["reasons"] == [
        "receipt_not_confirmed"
    ]


# --- several reasons together -------------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "label", "reasons"),
    [
        (
            facts(status=Status.PENDING, batch={**EXPIRED_BATCH, "recall_no": "RC-1"}),
            Label(batch_no="B2026999"),
            (R.LOCKED, R.RECALLED, R.EXPIRED, R.LOT_MISMATCH),
        ),
        (
            facts(
                holder_uscc=OTHER_SITE,
                holds_codes=True,
                place=StockPlace.USED,
                status=Status.DAMAGED,
                excursion="EX-1",
                batch={
                    **EXPIRED_BATCH,
                    "lock": Status.ABNORMAL,
                    "recall_no": "RC-1",
                    "lot_release_no": None,
                },
            ),
            Label(batch_no="B2026999", expiry=date(2027, 1, 1)),
            (
                R.NOT_HELD,
                R.NOT_A_DOSE,
                R.ALREADY_USED,
                R.LOCKED,
                R.RECALLED,
                R.STATUS_NOT_NORMAL,
                R.EXPIRED,
                R.NO_LOT_RELEASE,
                R.LOT_MISMATCH,
                R.EXPIRY_MISMATCH,
                R.COLD_CHAIN_EXCURSION,
            ),
        ),
        (
            replace(GOOD, place=StockPlace.RETURNED, batch=None, excursion="EX-2"),
            Label(batch_no="B2026999"),
            (R.OUT_OF_STOCK, R.NO_BATCH_DATA, R.COLD_CHAIN_EXCURSION),
        ),
    ],
    ids=["locked-recalled-expired-mismatch", "everything-at-once", "returned-no-batch-excursion"],
)
def test_every_reason_is_reported_in_a_stable_order(
    dose: DoseFacts, label: Label, reasons: tuple[DoseReason, ...]
) -> None:
    decision = decide(dose, label)
    assert not decision.allowed
    assert decision.reasons == reasons
    assert len(decision.messages) == len(reasons)
    assert decide(dose, label) == decision  # the same facts, the same answer
    assert decision.as_dict()["reasons"] == [r.value for r in reasons]


# --- expiry and the calendar day in China -------------------------------------------------


@pytest.mark.parametrize(
    ("expiry", "allowed", "reasons", "warnings"),
    [
        (date(2026, 11, 21), True, (), ()),
        (date(2026, 11, 20), True, (), (W.EXPIRES_TODAY,)),
        (date(2026, 11, 19), False, (R.EXPIRED,), ()),
    ],
    ids=["expires-tomorrow", "expires-today", "expired-yesterday"],
)
def test_expiry_is_inclusive_with_a_warning_on_the_last_day(
    expiry: date,
    allowed: bool,
    reasons: tuple[DoseReason, ...],
    warnings: tuple[DoseWarning, ...],
) -> None:
    decision = decide(facts(batch={"expiry_date": expiry}))
    assert (decision.allowed, decision.reasons, decision.warnings) == (allowed, reasons, warnings)
    assert decision.as_dict()["warnings"] == [w.value for w in warnings]


@pytest.mark.parametrize(
    ("at", "day"),
    [
        (datetime(2026, 11, 29, 15, 59, 59, tzinfo=UTC), date(2026, 11, 29)),
        (datetime(2026, 11, 29, 16, 0, tzinfo=UTC), date(2026, 11, 30)),
        (datetime(2026, 11, 29, 16, 30, tzinfo=UTC), date(2026, 11, 30)),
        (datetime(2026, 11, 30, 0, 30, tzinfo=CHINA_TIME), date(2026, 11, 30)),
        (datetime(2026, 11, 29, 11, 30, tzinfo=timezone(timedelta(hours=-5))), date(2026, 11, 30)),
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),
    ],
    ids=[
        "utc-before-midnight-cst",
        "utc-at-midnight-cst",
        "utc-after-midnight-cst",
        "cst",
        "utc-5",
        "new-year",
    ],
)
def test_local_date_is_the_calendar_day_in_china(at: datetime, day: date) -> None:
    assert local_date(at) == day


@pytest.mark.parametrize(
    ("at", "allowed", "reasons", "warnings"),
    [
        (datetime(2026, 11, 29, 15, 59, tzinfo=UTC), True, (), (W.EXPIRES_TODAY,)),
        (datetime(2026, 11, 29, 16, 30, tzinfo=UTC), False, (R.EXPIRED,), ()),
    ],
    ids=["23:59-cst-last-day", "00:30-cst-next-day"],
)
def test_a_batch_expires_at_midnight_china_time(
    at: datetime,
    allowed: bool,
    reasons: tuple[DoseReason, ...],
    warnings: tuple[DoseWarning, ...],
) -> None:
    decision = decide(facts(batch={"expiry_date": date(2026, 11, 29)}), at=at)
    assert (decision.allowed, decision.reasons, decision.warnings) == (allowed, reasons, warnings)


# --- locks, recalls and the MAH's status --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "lock", "named"),
    [
        (Status.PENDING, None, "pending"),
        (Status.TO_BE_RECALLED, None, "to_be_recalled"),
        (Status.ABNORMAL, None, "abnormal"),
        (Status.NORMAL, Status.PENDING, "pending"),
        (None, Status.TO_BE_RECALLED, "to_be_recalled"),
        (Status.NORMAL, Status.ABNORMAL, "abnormal"),
        (Status.ABNORMAL, Status.PENDING, "abnormal"),  # the code's own lock is named
    ],
    ids=[
        "code-pending",
        "code-to-be-recalled",
        "code-abnormal",
        "batch-pending",
        "batch-to-be-recalled-no-code-status",
        "batch-abnormal",
        "code-and-batch",
    ],
)
def test_a_lock_on_the_code_or_the_whole_batch(
    status: Status | None, lock: Status | None, named: str
) -> None:
    decision = decide(facts(status=status, batch={"lock": lock}))
    assert decision.reasons == (R.LOCKED,)
    assert decision.messages == (f"locked by its MAH or a regulator ({named})",)


@pytest.mark.parametrize(
    ("status", "recall_no", "named"),
    [
        (Status.RECALLING, None, "by code"),
        (Status.RECALLED, None, "by code"),
        (Status.NORMAL, "RC-2026-7", "RC-2026-7"),
        (Status.RECALLING, "RC-2026-7", "RC-2026-7"),
    ],
    ids=["code-recalling", "code-recalled", "batch-recall-no", "code-and-batch"],
)
def test_a_recall_by_code_status_or_of_the_batch(
    status: Status, recall_no: str | None, named: str
) -> None:
    decision = decide(facts(status=status, batch={"recall_no": recall_no}))
    assert decision.reasons == (R.RECALLED,)
    assert decision.messages == (f"under recall ({named})",)


@pytest.mark.parametrize("status", [Status.DAMAGED, Status.DESTROYED, Status.SUSPENDED])
def test_a_status_the_mah_set_stops_the_dose(status: Status) -> None:
    decision = decide(facts(status=status))
    assert decision.reasons == (R.STATUS_NOT_NORMAL,)
    assert decision.messages == (f"the MAH marked it {status.value}",)


@pytest.mark.parametrize("status", [Status.NORMAL, None], ids=["normal", "no-status"])
def test_a_normal_or_unset_status_lets_the_dose_through(status: Status | None) -> None:
    assert decide(facts(status=status)).allowed


# --- the batch record and the label -------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "label"),
    [
        (replace(GOOD, batch=None), Label()),
        (replace(GOOD, batch=None), Label(batch_no=BATCH_NO, expiry=EXPIRY)),
        (facts(batch={"expiry_date": None}), Label()),
        (facts(batch={"expiry_date": None}), Label(batch_no="B2026999")),
    ],
    ids=["no-batch", "no-batch-label-carries-all", "no-expiry", "no-expiry-label-other-batch"],
)
def test_without_a_batch_record_to_check_the_dose_is_stopped(dose: DoseFacts, label: Label) -> None:
    decision = decide(dose, label)
    assert (decision.allowed, decision.reasons, decision.warnings) == (
        False,
        (R.NO_BATCH_DATA,),
        (),
    )


@pytest.mark.parametrize(
    ("label", "reasons"),
    [
        (Label(), ()),
        (Label(batch_no=BATCH_NO), ()),
        (Label(expiry=EXPIRY), ()),
        (Label(batch_no=BATCH_NO, expiry=EXPIRY), ()),
        (Label(batch_no="B2026999"), (R.LOT_MISMATCH,)),
        (Label(expiry=date(2027, 6, 29)), (R.EXPIRY_MISMATCH,)),
        (Label(batch_no="B2026999", expiry=EXPIRY), (R.LOT_MISMATCH,)),
        (Label(batch_no=BATCH_NO, expiry=date(2028, 1, 1)), (R.EXPIRY_MISMATCH,)),
        (Label(batch_no="B2026999", expiry=date(2028, 1, 1)), (R.LOT_MISMATCH, R.EXPIRY_MISMATCH)),
    ],
    ids=[
        "bare-code",
        "same-batch",
        "same-expiry",
        "same-both",
        "other-batch",
        "other-expiry",
        "other-batch-same-expiry",
        "same-batch-other-expiry",
        "other-both",
    ],
)
def test_the_label_is_checked_only_for_what_it_carries(
    label: Label, reasons: tuple[DoseReason, ...]
) -> None:
    decision = decide(GOOD, label)
    assert (decision.allowed, decision.reasons) == (not reasons, reasons)


# --- where the code stands ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "reasons"),
    [
        (StockPlace.IN_STOCK, ()),
        (StockPlace.IN_TRANSIT, (R.IN_TRANSIT,)),
        (StockPlace.USED, (R.ALREADY_USED,)),
        (StockPlace.DAMAGED, (R.OUT_OF_STOCK,)),
        (StockPlace.RETURNED, (R.OUT_OF_STOCK,)),
        (StockPlace.SCRAPPED, (R.OUT_OF_STOCK,)),
        (StockPlace.DESTROYED, (R.OUT_OF_STOCK,)),
    ],
    ids=[place.value for place in StockPlace],
)
def test_only_a_dose_in_stock_may_be_given(
    place: StockPlace, reasons: tuple[DoseReason, ...]
) -> None:
    decision = decide(facts(place=place))
    assert (decision.allowed, decision.reasons) == (not reasons, reasons)


# --- stop_reasons: the rules a CDC's receipt scans and distributions apply too --------------


@pytest.mark.parametrize(
    ("dose", "reasons"),
    [
        (GOOD, []),
        (
            facts(holder_uscc=OTHER_SITE, holds_codes=True, place=StockPlace.IN_TRANSIT),
            [],
        ),  # where it is, not what it is: no stop
        (facts(status=Status.TO_BE_RECALLED), [R.LOCKED]),
        (facts(status=Status.RECALLING, batch=EXPIRED_BATCH), [R.RECALLED, R.EXPIRED]),
        (
            facts(status=Status.DESTROYED, excursion="EX-3"),
            [R.STATUS_NOT_NORMAL, R.COLD_CHAIN_EXCURSION],
        ),
        (replace(GOOD, batch=None), [R.NO_BATCH_DATA]),
    ],
    ids=[
        "good",
        "held-elsewhere-box-in-transit",
        "locked",
        "recalled-expired",
        "destroyed-excursion",
        "no-batch",
    ],
)
def test_stop_reasons_leave_out_where_the_code_is(
    dose: DoseFacts, reasons: list[DoseReason]
) -> None:
    found = stop_reasons(dose, Label(), local_date(AT))
    assert [reason for reason, _ in found] == reasons
    assert all(message for _, message in found)


def test_stop_reasons_compare_with_the_day_given() -> None:
    dose = facts(batch={"expiry_date": date(2026, 11, 29)})
    assert stop_reasons(dose, Label(), date(2026, 11, 29)) == []
    assert [r for r, _ in stop_reasons(dose, Label(), date(2026, 11, 30))] == [R.EXPIRED]


def test_stop_reasons_check_the_label() -> None:
    found = stop_reasons(GOOD, Label(batch_no="B2026999"), local_date(AT))
    assert found == [(R.LOT_MISMATCH, f"label says batch B2026999, record {BATCH_NO}")]
