"""温度超标: what a series says against a rule set, every excursion under every rule.

A reading holds its value until the next one (sample-and-hold, as loggers count time out of
range), so sparse readings widen an excursion rather than hide it; the last reading holds for
no time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from vaxtrace.core.coldchain.readings import Reading
from vaxtrace.core.coldchain.rules import Rule, RuleKind, RuleSet, Tier


@dataclass(frozen=True, slots=True)
class Excursion:
    """温度超标: a rule breached, from ``start`` to ``end``, for ``minutes`` out of range in all
    (the whole run for a continuous rule; the added-up runs for a cumulative one)."""

    rule_id: str
    kind: RuleKind
    tier: Tier
    start: datetime
    end: datetime
    minutes: float
    min_celsius: float
    max_celsius: float

    @property
    def holds(self) -> bool:
        return self.tier.holds

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "kind": self.kind.value,
            "tier": self.tier.value,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "minutes": round(self.minutes, 2),
            "min_celsius": self.min_celsius,
            "max_celsius": self.max_celsius,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a series says against a rule set."""

    rule_set: RuleSet
    excursions: tuple[Excursion, ...]

    @property
    def tier(self) -> Tier | None:
        """The worst tier found; None when every reading was in range."""
        return max((e.tier for e in self.excursions), key=lambda t: t.rank, default=None)

    @property
    def holding(self) -> tuple[Excursion, ...]:
        """The excursions that hold codes (warning and severe)."""
        return tuple(e for e in self.excursions if e.holds)

    @property
    def in_range(self) -> bool:
        """No alarm: at most notices (a reading briefly out of the storage range)."""
        return not self.holding


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive readings in a rule's alarm range: [start, end) with their extremes."""

    start: datetime
    end: datetime
    low: float
    high: float

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def evaluate(readings: Sequence[Reading], rule_set: RuleSet) -> Evaluation:
    """Every excursion the series shows under every rule of the set, oldest first.

    ``readings`` must be checked (:func:`check_series`) and in time order. A cumulative
    excursion lying wholly inside a continuous one of the same threshold is not reported
    twice.
    """
    found: list[Excursion] = []
    for rule in rule_set.rules:
        runs = _runs(readings, partial(rule.breached_by, storage=rule_set.storage))
        if rule.kind is RuleKind.CONTINUOUS:
            found.extend(_continuous(rule, runs))
        else:
            found.extend(_cumulative(rule, runs))
    kept = [e for e in found if not _inside_continuous_twin(e, found, rule_set)]
    kept.sort(key=lambda e: (e.start, -e.tier.rank, e.rule_id))
    return Evaluation(rule_set, tuple(kept))


def _runs(readings: Sequence[Reading], breached: Callable[[float], bool]) -> list[_Run]:
    runs: list[_Run] = []
    current: list[Reading] = []

    def close(end: datetime) -> None:
        temps = [r.celsius for r in current]
        runs.append(_Run(current[0].time, end, min(temps), max(temps)))
        current.clear()

    for reading in readings:
        if breached(reading.celsius):
            current.append(reading)
        elif current:
            close(reading.time)  # the run holds until this reading, back in range
    if current:
        close(current[-1].time)  # the last reading holds for no time
    return runs


def _continuous(rule: Rule, runs: list[_Run]) -> list[Excursion]:
    return [
        _excursion(rule, run.start, run.end, run.span, [run])
        for run in runs
        if run.span >= rule.duration
    ]


def _cumulative(rule: Rule, runs: list[_Run]) -> list[Excursion]:
    """Windows of ``rule.window`` (the whole series when None) in which the runs add up to
    the rule's duration. A window holding the most exposure can always be made to start
    where a run starts, so only those windows are tried; after an excursion, the search goes
    on from the first run after it."""
    found: list[Excursion] = []
    j = 0
    while j < len(runs):
        opened = runs[j].start
        closes = None if rule.window is None else opened + rule.window
        inside: list[_Run] = []
        total = timedelta(0)
        for run in runs[j:]:
            if closes is not None and run.start >= closes:
                break
            inside.append(run)
            total += (run.end if closes is None else min(run.end, closes)) - run.start
        if total >= rule.duration and rule.duration > timedelta(0):
            end = inside[-1].end if closes is None else min(inside[-1].end, closes)
            found.append(_excursion(rule, opened, end, total, inside))
            j += len(inside)
        elif closes is None:
            break  # the whole series does not add up: no later part of it will
        else:
            j += 1
    return found


def _excursion(
    rule: Rule, start: datetime, end: datetime, exposure: timedelta, runs: list[_Run]
) -> Excursion:
    return Excursion(
        rule_id=rule.id,
        kind=rule.kind,
        tier=rule.tier,
        start=start,
        end=end,
        minutes=exposure.total_seconds() / 60,
        min_celsius=min(r.low for r in runs),
        max_celsius=max(r.high for r in runs),
    )


def _inside_continuous_twin(
    excursion: Excursion, found: list[Excursion], rule_set: RuleSet
) -> bool:
    if excursion.kind is not RuleKind.CUMULATIVE:
        return False
    rules = {r.id: r for r in rule_set.rules}
    mine = rules[excursion.rule_id]
    return any(
        other.kind is RuleKind.CONTINUOUS
        and (rules[other.rule_id].op, rules[other.rule_id].celsius) == (mine.op, mine.celsius)
        and other.start <= excursion.start
        and excursion.end <= other.end
        for other in found
    )
