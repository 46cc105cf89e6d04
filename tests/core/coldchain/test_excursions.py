"""What a temperature series says against the rules: continuous and cumulative rules both
evaluated, tiers, the frozen class, sparse readings held until the next one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest

from tests.core.coldchain.coldchain_world import (
    FREEZE_SENSITIVE,
    FROZEN,
    NOT_FREEZE_SENSITIVE,
    T0,
    series,
)
from vaxtrace.core.coldchain.excursions import evaluate
from vaxtrace.core.coldchain.readings import Reading
from vaxtrace.core.coldchain.rules import RuleSet, Tier


def found(
    readings: Iterable[Reading], rules: RuleSet = FREEZE_SENSITIVE
) -> list[tuple[str, str, float]]:
    """(rule, tier, minutes) of every excursion, oldest first."""
    return [
        (e.rule_id, e.tier.value, e.minutes) for e in evaluate(list(readings), rules).excursions
    ]


@pytest.mark.parametrize(
    ("case", "readings", "rules", "expected"),
    [
        ("all in range", series((5.0, 600)), FREEZE_SENSITIVE, []),
        (
            "one 70-min freeze: the continuous rule (the cumulative twin is not reported again)",
            series((5.0, 60), (-1.0, 70), (5.0, 60)),
            FREEZE_SENSITIVE,
            [("freeze", "severe", 70), ("out_of_range", "notice", 70)],
        ),
        (
            "a 50-min freeze: a notice, no alarm",
            series((5.0, 60), (-1.0, 50), (5.0, 60)),
            FREEZE_SENSITIVE,
            [("out_of_range", "notice", 50)],
        ),
        (
            "two 50-min freezes: no single alarm, caught by the cumulative rule",
            series((5.0, 60), (-1.0, 50), (5.0, 120), (-0.5, 50), (5.0, 60)),
            FREEZE_SENSITIVE,
            [
                ("freeze_cumulative", "severe", 100),
                ("out_of_range", "notice", 50),
                ("out_of_range", "notice", 50),
            ],
        ),
        (
            "-0.4 °C is not a freeze (the threshold -0.5 belongs to the alarm range)",
            series((5.0, 60), (-0.4, 120), (5.0, 60)),
            FREEZE_SENSITIVE,
            [("out_of_range", "notice", 120)],
        ),
        (
            "heat above 8 °C for 10 h: a warning",
            series((5.0, 60), (9.0, 600), (5.0, 60)),
            FREEZE_SENSITIVE,
            [("heat", "warning", 600), ("out_of_range", "notice", 600)],
        ),
        (
            "heat for 9 h 50 min: a notice only",
            series((5.0, 60), (9.0, 590), (5.0, 60)),
            FREEZE_SENSITIVE,
            [("out_of_range", "notice", 590)],
        ),
        (
            "30 °C or above for 10 h in all (WHO type I/II): severe",
            series((31.0, 300), (5.0, 60), (30.0, 300), (5.0, 60)),
            FREEZE_SENSITIVE,
            [
                ("heat_30_cumulative", "severe", 600),
                ("out_of_range", "notice", 300),
                ("out_of_range", "notice", 300),
            ],
        ),
        (
            "10 °C or above for 20 h in all: a warning for a type II vaccine",
            series((10.0, 540), (5.0, 60), (12.0, 540), (5.0, 60), (10.0, 120)),
            NOT_FREEZE_SENSITIVE,
            [
                ("heat_10_cumulative", "warning", 1200),
                ("out_of_range", "notice", 540),
                ("out_of_range", "notice", 540),
                ("out_of_range", "notice", 120),
            ],
        ),
        (
            "a freeze does not harm a type II vaccine: a notice only",
            series((5.0, 60), (-3.0, 180), (5.0, 60)),
            NOT_FREEZE_SENSITIVE,
            [("out_of_range", "notice", 180)],
        ),
        (
            "the frozen class: -25 °C is in range",
            series((-25.0, 600), (-22.0, 60)),
            FROZEN,
            [("out_of_range", "notice", 0)],  # the closing reading at 5 °C, held no time
        ),
        (
            "the frozen class: -10 °C for 2 h is a thaw warning",
            series((-25.0, 60), (-10.0, 120), (-25.0, 60)),
            FROZEN,
            [
                ("out_of_range", "notice", 120),
                ("thaw", "warning", 120),
                ("out_of_range", "notice", 0),
            ],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_excursions(
    case: str, readings: list[Reading], rules: RuleSet, expected: list[tuple[str, str, float]]
) -> None:
    got = found(readings, rules)
    key = {"severe": 0, "warning": 1, "notice": 2}
    assert sorted(got, key=lambda e: (key[e[1]], e[0])) == sorted(
        expected, key=lambda e: (key[e[1]], e[0])
    ), case


def test_an_excursion_says_when_how_long_and_how_cold() -> None:
    readings = series((5.0, 60), (-1.0, 30), (-2.5, 40), (5.0, 60))
    evaluation = evaluate(readings, FREEZE_SENSITIVE)
    freeze = next(e for e in evaluation.excursions if e.rule_id == "freeze")
    assert (freeze.start, freeze.end) == (T0 + timedelta(minutes=60), T0 + timedelta(minutes=130))
    assert (freeze.minutes, freeze.min_celsius, freeze.max_celsius) == (70, -2.5, -1.0)
    assert freeze.as_dict()["start"] == "2024-04-02T01:00:00+08:00"
    assert evaluation.tier is Tier.SEVERE and not evaluation.in_range
    assert [e.rule_id for e in evaluation.holding] == ["freeze"]


def test_the_tier_is_the_worst_found() -> None:
    assert evaluate(series((5.0, 60)), FREEZE_SENSITIVE).tier is None
    assert evaluate(series((5.0, 60)), FREEZE_SENSITIVE).in_range
    notice = evaluate(series((9.0, 60)), FREEZE_SENSITIVE)
    assert notice.tier is Tier.NOTICE and notice.in_range
    warning = evaluate(series((9.0, 600)), FREEZE_SENSITIVE)
    assert warning.tier is Tier.WARNING and not warning.in_range
    assert evaluate(series((9.0, 600), (-1.0, 60)), FREEZE_SENSITIVE).tier is Tier.SEVERE


def test_freezes_far_apart_do_not_add_up_beyond_the_window() -> None:
    apart = series((-1.0, 50), (5.0, 11 * 24 * 60), (-1.0, 50), every=10)
    assert [r for r, _, _ in found(apart)] == ["out_of_range", "out_of_range"]
    close = series((-1.0, 50), (5.0, 9 * 24 * 60), (-1.0, 50), every=10)
    assert "freeze_cumulative" in [r for r, _, _ in found(close)]


def test_sparse_readings_hold_until_the_next_one() -> None:
    """Two manual readings six hours apart: the freeze lasts until the reading back in range
    (the cautious reading of a gap)."""
    manual = [Reading(T0, -1.0), Reading(T0 + timedelta(hours=6), 4.0)]
    assert ("freeze", "severe", 360) in found(manual)
    assert found([Reading(T0, -1.0)]) == [("out_of_range", "notice", 0)]
