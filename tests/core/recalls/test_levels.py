"""Recall levels' time limits (DOMAIN.md §10) and the milestones they set: stop within the
limit, report a plan, show progress every period until complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vaxtrace.core.datasets.recalls import RecallLevel
from vaxtrace.core.recalls import (
    SEVERITY,
    TIME_LIMITS,
    MilestoneKind,
    RecallFacts,
    milestones,
    overdue,
)
from vaxtrace.core.validation.findings import Severity

START = datetime(2026, 11, 10, 8, tzinfo=UTC)
DAY = timedelta(days=1)


def facts(level: RecallLevel = RecallLevel.ONE, **more: object) -> RecallFacts:
    base: dict[str, object] = {
        "started_at": START,
        "level": level,
        "last_onward_at": None,
        "complete_at": None,
        "recovered_at": (),
    }
    return RecallFacts(**(base | more))  # type: ignore[arg-type]


def test_the_time_limits_are_those_of_the_recall_measures() -> None:
    assert {
        level: (t.stop_within, t.plan_within, t.report_every) for level, t in TIME_LIMITS.items()
    } == {
        RecallLevel.ONE: (timedelta(hours=24), DAY, DAY),
        RecallLevel.TWO: (timedelta(hours=48), 3 * DAY, 3 * DAY),
        RecallLevel.THREE: (timedelta(hours=72), 7 * DAY, 7 * DAY),
    }
    assert [SEVERITY[level] for level in RecallLevel] == [
        Severity.SEVERE,
        Severity.WARNING,
        Severity.NOTICE,
    ]


def test_a_unit_used_after_the_stop_limit_misses_the_stop_milestone() -> None:
    in_time = milestones(facts(last_onward_at=START + timedelta(hours=23)), START + 2 * DAY)
    assert in_time[0].kind is MilestoneKind.STOP and in_time[0].met and not in_time[0].overdue
    late = milestones(facts(last_onward_at=START + timedelta(hours=25)), START + 2 * DAY)
    assert late[0].due_at == START + DAY and late[0].met is False and late[0].overdue
    level_three = milestones(
        facts(RecallLevel.THREE, last_onward_at=START + timedelta(hours=25)), START + 2 * DAY
    )
    assert level_three[0].met and level_three[0].due_at == START + timedelta(hours=72)


def test_the_plan_is_not_known_here_so_never_overdue() -> None:
    plan = milestones(facts(), START + 30 * DAY)[1]
    assert plan.kind is MilestoneKind.PLAN and plan.met is None and not plan.overdue


def test_each_period_without_a_unit_coming_back_is_overdue_until_complete() -> None:
    back = ((START + timedelta(hours=5), 10), (START + timedelta(hours=50), 3))
    found = milestones(facts(recovered_at=back), START + 3 * DAY + timedelta(hours=1))
    progress = [(m.period, m.met, m.overdue) for m in found if m.kind is MilestoneKind.PROGRESS]
    assert progress == [(1, True, False), (2, False, True), (3, True, False)]
    assert [m.period for m in overdue(found)] == [2]
    # complete by the end of the third day: later periods need nothing
    done = facts(recovered_at=back, complete_at=START + timedelta(hours=50))
    later = milestones(done, START + 6 * DAY)
    assert [m.period for m in overdue(later)] == [2]
    # no period ends after the recall closed
    closed = milestones(facts(), START + 9 * DAY, closed_at=START + DAY + timedelta(hours=1))
    assert [m.period for m in closed if m.kind is MilestoneKind.PROGRESS] == [1]
