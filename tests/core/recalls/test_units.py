"""Where a recalled unit is, from its latest movement; the completion rate; when a recall may
close and what its summary keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recalls import (
    LatestStep,
    UnitState,
    check_closing,
    closing_summary,
    completion,
    placed,
)

MAH, CDC, SITE = "91320100MA1X0000XX", "12320100MB0X0000XX", "12320106MB0X0000XX"
START = datetime(2026, 11, 10, tzinfo=UTC)


def latest(
    bill: str, org: str = CDC, day: int = 5, to: str | None = None, n: int = 1
) -> LatestStep:
    return LatestStep(
        bill, org, "320100", f"{bill}-{day}", datetime(2026, 11, day, tzinfo=UTC), to, n
    )


@pytest.mark.parametrize(
    ("step", "state", "holder"),
    [
        (latest("101", MAH), UnitState.AT_MAH, MAH),
        (latest("201", MAH), UnitState.IN_TRANSIT, MAH),
        (latest("209", CDC, to=SITE), UnitState.IN_TRANSIT, CDC),
        (latest("107", SITE), UnitState.IN_STOCK, SITE),
        (latest("323", SITE), UnitState.IN_STOCK, SITE),
        (latest("202", SITE, to=CDC), UnitState.IN_STOCK, CDC),
        (latest("202", CDC, to=MAH), UnitState.RETURNED, MAH),
        (latest("202", CDC), UnitState.RETURNED, MAH),
        (latest("215", CDC), UnitState.DAMAGED, CDC),
        (latest("216", CDC), UnitState.DESTROYED, CDC),
        (latest("205", CDC), UnitState.DESTROYED, CDC),
        (latest("322", SITE, day=9), UnitState.VACCINATED, SITE),
        (latest("322", SITE, day=10), UnitState.USED_DURING_RECALL, SITE),
    ],
)
def test_a_units_state_is_its_latest_movements(
    step: LatestStep, state: UnitState, holder: str
) -> None:
    where = placed(step, MAH, START)
    assert (where.state, where.holder_uscc) == (state, holder)


def test_completion_counts_what_needs_nothing_more() -> None:
    units = [
        placed(latest("101", MAH, n=10), MAH, START),
        placed(latest("202", CDC, to=MAH, n=20), MAH, START),
        placed(latest("205", CDC, n=5), MAH, START),
        placed(latest("322", SITE, day=9, n=3), MAH, START),
        placed(latest("322", SITE, day=11, n=2), MAH, START),  # used while recalled
        placed(latest("107", SITE, n=7), MAH, START),
        placed(latest("215", CDC, n=3), MAH, START),
    ]
    done = completion(units)
    assert (done.total, done.accounted_for, done.outstanding) == (50, 38, 12)
    assert done.rate == pytest.approx(0.76) and not done.complete
    assert done.as_dict()["by_state"] == {
        "at_mah": 10,
        "in_transit": 0,
        "in_stock": 7,
        "returned": 20,
        "damaged": 3,
        "destroyed": 5,
        "vaccinated": 3,
        "used_during_recall": 2,
    }
    assert completion([]).rate == 1.0 and completion([]).complete


def test_a_recall_closes_before_completion_only_with_a_justification() -> None:
    out = completion([placed(latest("107", SITE, n=4), MAH, START)])
    with pytest.raises(DomainError) as refused:
        check_closing(out, None)
    assert refused.value.reason is Reason.RECALL_INCOMPLETE
    assert refused.value.field == "justification"
    with pytest.raises(DomainError):
        check_closing(out, "   ")
    check_closing(out, "the four doses were lost in a fire at the site; police report 12")
    check_closing(completion([placed(latest("205", CDC), MAH, START)]), None)
    at = datetime(2026, 11, 20, tzinfo=UTC)
    summary = closing_summary(out, "recalled", "lost", at)
    assert summary["summary"] == "recalled" and summary["justification"] == "lost"
    assert summary["closed_at"] == at.isoformat() and summary["outstanding"] == 4
