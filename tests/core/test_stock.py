"""Stock that people can use: a held dose's status is the dose gate's judgement, the weightiest
reason first; expiry windows; and what the owner's status table lets a unit dispose of."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from vaxtrace.core.dose_gate import BatchRecord, DoseFacts, StockPlace
from vaxtrace.core.reasons import DoseReason
from vaxtrace.core.status import Status
from vaxtrace.core.stock import (
    DoseStatus,
    OwnerSignals,
    StockStatus,
    classify,
    days_left,
    disposal_refusal,
    near_expiry,
    next_expiry_run,
    owner_statuses,
)

R, S = DoseReason, StockStatus
ON = date(2026, 11, 20)
BATCH = BatchRecord(batch_no="B2026001", expiry_date=date(2027, 6, 30), lot_release_no="LR-1")
GOOD = DoseFacts(
    code="80000010000000017123",
    holder_uscc="12320102MB0000011G",
    place=StockPlace.IN_STOCK,
    holds_codes=False,
    status=None,
    batch=BATCH,
)


def facts(batch: dict[str, Any] | None = None, **changes: Any) -> DoseFacts:
    return replace(GOOD, **changes, batch=replace(BATCH, **(batch or {})))


def test_a_good_dose_is_usable_through_its_expiry_day() -> None:
    assert classify(GOOD, ON) == DoseStatus(S.USABLE, ())
    assert classify(facts({"expiry_date": ON}), ON).status is S.USABLE
    assert classify(facts({"expiry_date": date(2026, 11, 19)}), ON) == DoseStatus(
        S.EXPIRED, (R.EXPIRED,)
    )


@pytest.mark.parametrize(
    ("changes", "batch", "status"),
    [
        ({"status": Status.PENDING}, {}, S.LOCKED),
        ({}, {"lock": Status.ABNORMAL}, S.LOCKED),
        ({}, {"recall_no": "RC-1"}, S.RECALLED),
        ({"status": Status.RECALLING}, {}, S.RECALLED),
        ({"excursion": "open"}, {}, S.EXCURSION),
        ({"status": Status.SUSPENDED}, {}, S.STOPPED),
        ({}, {"lot_release_no": None}, S.STOPPED),
        ({}, {"expiry_date": None}, S.STOPPED),
        ({"place": StockPlace.IN_TRANSIT}, {}, S.IN_TRANSIT),
    ],
)
def test_each_gate_reason_names_a_status(
    changes: dict[str, Any], batch: dict[str, Any], status: StockStatus
) -> None:
    assert classify(facts(batch, **changes), ON).status is status


def test_the_weightiest_status_wins_and_every_reason_is_kept() -> None:
    everything = facts(
        {"recall_no": "RC-1", "lock": Status.PENDING, "expiry_date": date(2026, 1, 1)},
        excursion="open",
        place=StockPlace.IN_TRANSIT,
    )
    judged = classify(everything, ON)
    assert judged.status is S.RECALLED
    assert set(judged.reasons) == {R.LOCKED, R.RECALLED, R.EXPIRED, R.COLD_CHAIN_EXCURSION}
    locked_and_expired = facts({"lock": Status.PENDING, "expiry_date": date(2026, 1, 1)})
    assert classify(locked_and_expired, ON).status is S.LOCKED
    no_batch = replace(GOOD, batch=None)
    assert classify(no_batch, ON) == DoseStatus(S.STOPPED, (R.NO_BATCH_DATA,))


def test_days_left_and_the_near_expiry_window() -> None:
    assert days_left(date(2026, 12, 20), ON) == 30
    assert days_left(date(2026, 11, 19), ON) == -1
    assert near_expiry(date(2026, 12, 20), ON, 30)
    assert not near_expiry(date(2026, 12, 21), ON, 30)
    assert near_expiry(ON, ON, 0)
    assert not near_expiry(date(2026, 11, 19), ON, 30)  # expired is not near expiry
    assert not near_expiry(None, ON, 30)


def test_the_nightly_run_is_just_after_midnight_in_china() -> None:
    late = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)  # 23:59 in China
    assert next_expiry_run(late).isoformat() == "2026-11-21T00:05:00+08:00"
    early = datetime(2026, 11, 20, 16, 1, tzinfo=UTC)  # 00:01 in China, before the run
    assert next_expiry_run(early).isoformat() == "2026-11-21T00:05:00+08:00"
    just_after = datetime(2026, 11, 20, 16, 5, tzinfo=UTC)
    assert next_expiry_run(just_after).isoformat() == "2026-11-22T00:05:00+08:00"


def signals(
    code: Status | None = None, lock: Status | None = None, recall: bool = False
) -> OwnerSignals:
    return OwnerSignals(code_status=code, batch_lock=lock, under_recall=recall)


def test_the_owner_status_known_to_the_province() -> None:
    assert owner_statuses(signals()) == [Status.NORMAL]
    assert owner_statuses(signals(Status.DAMAGED, Status.PENDING, True)) == [
        Status.DAMAGED,
        Status.PENDING,
        Status.RECALLING,
    ]


@pytest.mark.parametrize(
    "known",
    [
        signals(),
        signals(Status.ABNORMAL),
        signals(lock=Status.ABNORMAL),
        signals(Status.DAMAGED),
        signals(Status.SUSPENDED),
        signals(Status.EXPIRED),
    ],
)
def test_abnormal_damaged_and_plain_goods_may_be_disposed_of(known: OwnerSignals) -> None:
    assert disposal_refusal([known]) is None


@pytest.mark.parametrize(
    ("known", "reason"),
    [
        (signals(Status.PENDING), "locked"),
        (signals(lock=Status.TO_BE_RECALLED), "locked"),
        (signals(recall=True), "recalled"),
        (signals(Status.ABNORMAL, recall=True), "recalled"),
        (signals(Status.DESTROYED), "terminal_status"),
    ],
)
def test_what_the_owner_would_refuse_is_refused(known: OwnerSignals, reason: str) -> None:
    refused = disposal_refusal([signals(), known])
    assert refused is not None and refused.reason == reason
