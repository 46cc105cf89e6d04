"""召回级别 and their time limits (DOMAIN.md §10, after the drug recall measures, 2007 text),
kept as data, and the milestones a recall must meet by them: stop the goods, report a plan,
report progress every period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vaxtrace.core.datasets.recalls import RecallLevel
from vaxtrace.core.validation.findings import Severity


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """What a recall of one level must do, counted from its start: tell distributors and
    users to stop selling and using the goods (``stop_within``), report the investigation
    and the recall plan (``plan_within``), and report progress every ``report_every``."""

    stop_within: timedelta
    plan_within: timedelta
    report_every: timedelta


TIME_LIMITS: dict[RecallLevel, TimeLimits] = {
    RecallLevel.ONE: TimeLimits(timedelta(hours=24), timedelta(days=1), timedelta(days=1)),
    RecallLevel.TWO: TimeLimits(timedelta(hours=48), timedelta(days=3), timedelta(days=3)),
    RecallLevel.THREE: TimeLimits(timedelta(hours=72), timedelta(days=7), timedelta(days=7)),
}
"""DOMAIN.md §10: level 1 stop within 24 h, report and plan within 1 day, progress daily;
level 2: 48 h, 3 days, every 3 days; level 3: 72 h, 7 days, every 7 days (the 2022
revision reportedly gives 1 / 3 / 7 days for the notice: the stop limits are these)."""

SEVERITY: dict[RecallLevel, Severity] = {
    RecallLevel.ONE: Severity.SEVERE,
    RecallLevel.TWO: Severity.WARNING,
    RecallLevel.THREE: Severity.NOTICE,
}
"""How serious a missed milestone of a recall of each level is."""


class MilestoneKind(StrEnum):
    STOP = "stop"  # 停止销售使用: no recalled unit shipped or used after the limit
    PLAN = "plan"  # 调查评估报告和召回计划: reaches the regulator outside this system
    PROGRESS = "progress"  # 进展报告: units came back in every period until complete


@dataclass(frozen=True, slots=True)
class Milestone:
    """One milestone of a recall: when it is due, whether it was met (None: this node
    cannot tell), and whether it is overdue at the time asked."""

    kind: MilestoneKind
    due_at: datetime
    met: bool | None
    overdue: bool
    period: int | None = None
    """The period a progress milestone ends (1, 2, …)."""


@dataclass(frozen=True, slots=True)
class RecallFacts:
    """What the data say of a recall, for its milestones: when the last recalled unit was
    shipped or used after the recall started (None: none was), when it was complete, and
    when the units that came back did (for progress per period)."""

    started_at: datetime
    level: RecallLevel
    last_onward_at: datetime | None
    complete_at: datetime | None
    """When the last unit came back, if none is still out."""
    recovered_at: tuple[tuple[datetime, int], ...]
    """(when, how many units) that reached a recovered state after the start."""


def milestones(
    facts: RecallFacts, now: datetime, closed_at: datetime | None = None
) -> list[Milestone]:
    """The milestones of a recall up to ``now`` (or its closing): stop, plan, and one
    progress milestone per period that has ended."""
    limits = TIME_LIMITS[facts.level]
    until = now if closed_at is None else min(now, closed_at)
    stop_due = facts.started_at + limits.stop_within
    stopped = facts.last_onward_at is None or facts.last_onward_at <= stop_due
    found = [
        Milestone(MilestoneKind.STOP, stop_due, stopped, not stopped and until > stop_due),
        Milestone(MilestoneKind.PLAN, facts.started_at + limits.plan_within, None, False),
    ]
    period = 1
    while (end := facts.started_at + period * limits.report_every) <= until:
        start = end - limits.report_every
        came_back = sum(n for at, n in facts.recovered_at if start < at <= end)
        met = came_back > 0 or (facts.complete_at is not None and facts.complete_at <= start)
        found.append(Milestone(MilestoneKind.PROGRESS, end, met, not met, period))
        period += 1
    return found


def overdue(found: list[Milestone]) -> list[Milestone]:
    """The milestones missed."""
    return [m for m in found if m.overdue]
