"""An alert's lifecycle: open → acknowledged → resolved, or open → resolved; resolved is
final; resolving needs a reason."""

from __future__ import annotations

import pytest

from vaxtrace.core.alerts.states import (
    MAX_REASON,
    MOVES,
    AlertState,
    check_move,
    note,
    resolution_reason,
)
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

OPEN, ACK, DONE = AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.RESOLVED


@pytest.mark.parametrize(("current", "target"), [(OPEN, ACK), (OPEN, DONE), (ACK, DONE)])
def test_the_allowed_moves(current: AlertState, target: AlertState) -> None:
    check_move(1, current, target)


@pytest.mark.parametrize(
    ("current", "target"), [(ACK, OPEN), (DONE, OPEN), (DONE, ACK), (DONE, DONE), (OPEN, OPEN)]
)
def test_every_other_move_is_refused(current: AlertState, target: AlertState) -> None:
    with pytest.raises(DomainError) as refused:
        check_move(7, current, target)
    assert refused.value.reason == Reason.ILLEGAL_TRANSITION
    assert refused.value.field == "alert_id"


def test_resolved_is_final_and_only_open_climbs() -> None:
    assert MOVES[DONE] == frozenset()
    assert [s for s in AlertState if not s.handled] == [OPEN]


@pytest.mark.parametrize("blank", [None, "", "   \n"])
def test_resolving_needs_a_reason(blank: str | None) -> None:
    with pytest.raises(DomainError) as refused:
        resolution_reason(blank)
    assert (refused.value.reason, refused.value.field) == (Reason.REASON_REQUIRED, "reason")


def test_a_reason_is_trimmed_and_bounded() -> None:
    assert resolution_reason("  补录了缺失的收货记录 ") == "补录了缺失的收货记录"
    with pytest.raises(DomainError) as refused:
        resolution_reason("x" * (MAX_REASON + 1))
    assert refused.value.reason == Reason.OUT_OF_RANGE
    assert note("  ") is None and note(" seen ") == "seen"
