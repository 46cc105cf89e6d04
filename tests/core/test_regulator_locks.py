"""A regulator's lock order (监管锁定): what it names, how a pending lock resolves, and the
safety signals it sends down (the same kind as a MAH's, naming the regulator)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tests.refusals import refused_with
from vaxtrace.core.datasets.locks import LockKind
from vaxtrace.core.regulator_locks import (
    RESOLVED,
    LockOrder,
    LockResolution,
    lock_signal,
    resolution_signal,
    state_after,
)
from vaxtrace.core.signals import SafetySignal, SignalKind
from vaxtrace.sim.catalogue import make_uscc

MAH = make_uscc("91320100MA1X00001")
REGULATOR = make_uscc("11320000MB0X00001")
AT = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def _order(**more: object) -> LockOrder:
    body = {"mah_uscc": MAH, "batch_nos": ["B1"], "lock_kind": "pending", "reason": "复核"}
    return LockOrder.model_validate(body | more)


def _lock(order: LockOrder) -> SafetySignal:
    return lock_signal(
        order, regulator=REGULATOR, document_no="JGSD-1", at=AT, batch_nos=("B1",), codes=None
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"reason": ""},
        {"codes": ["8000001"]},  # and batches
        {"batch_nos": None},  # neither
        {"lock_kind": "recalled"},
        {"evidence": ["x" * 2001]},
        {"evidence": ["e"] * 21},
    ],
)
def test_an_order_names_its_goods_kind_and_reason(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _order(**bad)


@pytest.mark.parametrize(
    ("outcome", "state"),
    [("normal", RESOLVED), ("to_be_recalled", "to_be_recalled"), ("abnormal", "abnormal")],
)
def test_only_a_pending_lock_resolves(outcome: str, state: str) -> None:
    decision = LockResolution.model_validate({"outcome": outcome, "reason": "复检"})
    assert state_after("pending", decision) == state
    for final in ("to_be_recalled", "abnormal", RESOLVED, "refused"):
        with refused_with(409) as caught:
            state_after(final, decision)
        assert caught.value.reason == "lock_not_pending"


def test_the_signals_are_a_mahs_lock_and_unlock_naming_the_regulator() -> None:
    lock = _lock(_order(evidence=["检验报告 JY-1"]))
    assert (lock.kind, lock.lock_kind, lock.issued_by) == (
        SignalKind.LOCK,
        LockKind.PENDING,
        REGULATOR,
    )
    assert (lock.mah_uscc, lock.batch_nos, lock.reason) == (MAH, ("B1",), "复核")
    normal = LockResolution.model_validate({"outcome": "normal", "reason": "合格"})
    unlock = resolution_signal(lock, normal, AT)
    assert (unlock.kind, unlock.lock_kind, unlock.document_no) == (
        SignalKind.UNLOCK,
        None,
        "JGSD-1-R",
    )
    assert (unlock.issued_by, unlock.batch_nos, unlock.reason) == (REGULATOR, ("B1",), "合格")
    worse = LockResolution.model_validate({"outcome": "abnormal", "reason": "不合格"})
    relock = resolution_signal(lock, worse, AT)
    assert (relock.kind, relock.lock_kind) == (SignalKind.LOCK, LockKind.ABNORMAL)


def test_a_regulator_signals_locks_and_unlocks_only() -> None:
    recall = {
        "kind": "recall",
        "mah_uscc": MAH,
        "document_no": "ZH1",
        "business_time": AT,
        "batch_nos": ["B1"],
        "recall_no": "ZH1",
        "issued_by": REGULATOR,
    }
    with pytest.raises(ValidationError, match="lock or an unlock"):
        SafetySignal.model_validate(recall)
