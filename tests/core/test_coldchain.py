"""Cold-chain rules as data and what a temperature series says against them: continuous and
cumulative rules both evaluated, tiers, the frozen class, series that cannot be believed, a
logger's CSV, and the receipt's decision on the journey's temperature record."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from vaxtrace.core.coldchain.decisions import (
    ExcursionDecision,
    ReceiptTemperature,
    receipt_temperature_decision,
)
from vaxtrace.core.coldchain.excursions import evaluate
from vaxtrace.core.coldchain.logger_csv import parse_logger_csv
from vaxtrace.core.coldchain.readings import Reading, ReadingIn, TemperatureUpload, check_series
from vaxtrace.core.coldchain.rules import RuleKind, RuleSet, Tier, load_rule_book, rule_book
from vaxtrace.core.errors import DomainError

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 4, 2, 0, 0, tzinfo=CST)
NOW = datetime(2024, 5, 1, tzinfo=UTC)
FREEZE_SENSITIVE = rule_book().in_force("freeze_sensitive_2_8", T0)
NOT_FREEZE_SENSITIVE = rule_book().in_force("not_freeze_sensitive_2_8", T0)
FROZEN = rule_book().in_force("frozen_minus_20", T0)


def series(*stretches: tuple[float, int], every: int = 10, start: datetime = T0) -> list[Reading]:
    """Readings every ``every`` minutes: each stretch is (celsius, minutes it lasts), then one
    closing reading at 5 °C."""
    readings, t = [], start
    for celsius, minutes in stretches:
        for _ in range(minutes // every):
            readings.append(Reading(t, celsius))
            t += timedelta(minutes=every)
    readings.append(Reading(t, 5.0))
    return readings


def found(
    readings: Iterable[Reading], rules: RuleSet = FREEZE_SENSITIVE
) -> list[tuple[str, str, float]]:
    """(rule, tier, minutes) of every excursion, oldest first."""
    return [
        (e.rule_id, e.tier.value, e.minutes) for e in evaluate(list(readings), rules).excursions
    ]


# --- rules as data -----------------------------------------------------------------------


def test_the_shipped_rules_carry_the_published_figures_with_their_sources() -> None:
    book = rule_book()
    assert book.classes == ["freeze_sensitive_2_8", "frozen_minus_20", "not_freeze_sensitive_2_8"]
    rules = {r.id: r for r in FREEZE_SENSITIVE.rules}
    assert (rules["freeze"].op, rules["freeze"].celsius, rules["freeze"].minutes) == (
        "<=",
        -0.5,
        60,
    )
    assert (rules["heat"].op, rules["heat"].celsius, rules["heat"].minutes) == (">", 8.0, 600)
    assert rules["heat_30_cumulative"].kind is RuleKind.CUMULATIVE
    assert (rules["heat_30_cumulative"].celsius, rules["heat_30_cumulative"].minutes) == (30, 600)
    type_two = {r.id: r for r in NOT_FREEZE_SENSITIVE.rules}
    assert (type_two["heat_10_cumulative"].celsius, type_two["heat_10_cumulative"].minutes) == (
        10,
        1200,
    )
    assert "freeze" not in type_two
    assert FREEZE_SENSITIVE.freeze_sensitive and not NOT_FREEZE_SENSITIVE.freeze_sensitive
    assert "HepB" in FREEZE_SENSITIVE.products and "MMR" in NOT_FREEZE_SENSITIVE.products
    assert FROZEN.storage == (None, -20.0)
    assert all(r.source in book.sources for s in book.rule_sets for r in s.rules)
    assert FREEZE_SENSITIVE.key == "freeze_sensitive_2_8@1"


RULES_V1_V2 = """
[sources]
x = "a source"
[[rule_set]]
product_class = "c"
version = 1
effective_from = "2020-01-01"
name = "c v1"
freeze_sensitive = true
storage_min = 2.0
storage_max = 8.0
  [[rule_set.rule]]
  id = "freeze"
  kind = "continuous"
  op = "<="
  celsius = -0.5
  minutes = 60
  tier = "severe"
  source = "x"
  description = "d"
[[rule_set]]
product_class = "c"
version = 2
effective_from = "2025-01-01"
name = "c v2"
freeze_sensitive = true
storage_min = 2.0
storage_max = 8.0
  [[rule_set.rule]]
  id = "freeze"
  kind = "continuous"
  op = "<="
  celsius = 0.0
  minutes = 30
  tier = "severe"
  source = "x"
  description = "d"
"""


def test_the_rule_set_in_force_is_the_latest_effective_at_the_time() -> None:
    book = load_rule_book(RULES_V1_V2)
    assert book.in_force("c", datetime(2024, 12, 31, tzinfo=UTC)).version == 1
    assert book.in_force("c", datetime(2025, 1, 1, tzinfo=UTC)).version == 2
    with pytest.raises(DomainError) as early:
        book.in_force("c", datetime(2019, 1, 1, tzinfo=UTC))
    assert (early.value.reason, early.value.field) == ("no_rules_in_force", "product_class")
    with pytest.raises(DomainError) as unknown:
        book.in_force("vaccine", T0)
    assert (unknown.value.reason, unknown.value.field) == ("unknown_product_class", "product_class")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('source = "x"', "unknown source"),
        ('op = "<="', "unknown op"),
        ("celsius = -0.5", "give celsius"),
    ],
)
def test_a_malformed_rule_book_is_refused(change: str, message: str) -> None:
    broken = {
        'source = "x"': RULES_V1_V2.replace('source = "x"', 'source = "y"', 1),
        'op = "<="': RULES_V1_V2.replace('op = "<="', 'op = "=="', 1),
        "celsius = -0.5": RULES_V1_V2.replace("celsius = -0.5\n", "", 1),
    }[change]
    with pytest.raises(ValueError, match=message):
        load_rule_book(broken)


# --- evaluation --------------------------------------------------------------------------


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


# --- series that cannot be believed -------------------------------------------------------


def reading(minutes: int, celsius: float = 5.0) -> Reading:
    return Reading(T0 + timedelta(minutes=minutes), celsius)


@pytest.mark.parametrize(
    ("readings", "reason", "field"),
    [
        ([], "no_readings", "readings"),
        ([reading(0), reading(20), reading(10)], "readings_out_of_order", "readings[2].time"),
        ([reading(0), reading(10), reading(10)], "duplicate_reading_time", "readings[2].time"),
        (
            [reading(0), Reading(NOW + timedelta(minutes=6), 5.0)],
            "reading_in_the_future",
            "readings[1].time",
        ),
        (
            [Reading(datetime(1999, 12, 31, tzinfo=UTC), 5.0)],
            "time_out_of_range",
            "readings[0].time",
        ),
        ([Reading(datetime(2024, 4, 2), 5.0)], "time_without_timezone", "readings[0].time"),
        ([reading(0), reading(10, 120.0)], "implausible_temperature", "readings[1].celsius"),
        ([reading(0, float("nan"))], "implausible_temperature", "readings[0].celsius"),
    ],
)
def test_a_series_that_cannot_be_believed_is_refused(
    readings: list[Reading], reason: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        check_series(readings, now=NOW)
    assert (refused.value.reason, refused.value.field) == (reason, field)


def test_a_clock_a_little_ahead_is_believed() -> None:
    check_series([reading(0), Reading(NOW + timedelta(minutes=4), 5.0)], now=NOW)
    check_series(
        [Reading(NOW + timedelta(minutes=9), 5.0)], now=NOW, clock_skew=timedelta(minutes=10)
    )


@pytest.mark.parametrize("celsius", [False, True, "4.5", None, 100.0, -91.0])
def test_celsius_must_be_a_plausible_number(celsius: object) -> None:
    """``false`` is not 0 °C, nor is a string a temperature."""
    with pytest.raises(ValidationError) as refused:
        ReadingIn.model_validate({"time": T0.isoformat(), "celsius": celsius})
    assert refused.value.errors()[0]["loc"] == ("celsius",)


def test_an_upload_takes_integers_and_floats() -> None:
    upload = TemperatureUpload.model_validate(
        {
            "client_document_id": "t-1",
            "equipment_id": "FRIDGE-1",
            "kind": "storage",
            "product_class": "freeze_sensitive_2_8",
            "readings": [
                {"time": "2024-04-02T08:00:00+08:00", "celsius": 4},
                {"time": "2024-04-02T08:10:00Z", "celsius": 4.5},
            ],
        }
    )
    assert [r.celsius for r in upload.series()] == [4.0, 4.5]
    with pytest.raises(ValidationError):
        ReadingIn.model_validate({"time": "2024-04-02T08:00:00", "celsius": 4.0})  # no timezone


# --- a logger's CSV ------------------------------------------------------------------------


def test_a_logger_csv_is_read_with_its_lines() -> None:
    text = (
        "\ufefftime,celsius\r\n2024-04-02T08:00:00+08:00,4.5\r\n\r\n2024-04-02T00:10:00Z, -0.5\r\n"
    )
    parsed = parse_logger_csv(text)
    assert parsed.readings == [
        Reading(datetime(2024, 4, 2, 8, tzinfo=CST), 4.5),
        Reading(datetime(2024, 4, 2, 0, 10, tzinfo=UTC), -0.5),
    ]
    assert parsed.lines == [2, 4]
    assert parsed.where(1, "time") == ("file", "line 4")


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("", "csv_header", 1),
        ("when,temp\n2024-04-02T08:00:00+08:00,4.5\n", "csv_header", 1),
        ("time,celsius\n", "no_readings", None),
        ("time,celsius\n2024-04-02T08:00:00+08:00,4.5,x\n", "csv_columns", 2),
        ("time,celsius\n2024-04-02T08:00:00+08:00,4.5\nyesterday,4.5\n", "invalid_time", 3),
        ("time,celsius\n2024-04-02T08:00:00,4.5\n", "time_without_timezone", 2),
        ("time,celsius\n2024-04-02T08:00:00+08:00,false\n", "invalid_celsius", 2),
        ('time,celsius\n2024-04-02T08:00:00+08:00,"4,5"\n', "invalid_celsius", 2),
        ("time,celsius\n2024-04-02T08:00:00+08:00,nan\n", "implausible_temperature", 2),
        ("time,celsius\n2024-04-02T08:00:00+08:00,95\n", "implausible_temperature", 2),
    ],
)
def test_a_bad_csv_is_refused_naming_the_line(text: str, reason: str, line: int | None) -> None:
    with pytest.raises(DomainError) as refused:
        parse_logger_csv(text)
    assert (refused.value.reason, refused.value.field) == (reason, "file")
    if line is not None:
        assert refused.value.message.startswith(f"line {line}: ")


def test_a_csv_with_too_many_readings_is_refused() -> None:
    text = "time,celsius\n" + "".join(f"2024-04-02T08:{m:02d}:00+08:00,4\n" for m in range(4))
    with pytest.raises(DomainError) as refused:
        parse_logger_csv(text, max_readings=3)
    assert refused.value.reason == "too_many_readings"
    assert refused.value.message.startswith("line 5: ")


def test_the_series_checks_name_the_csv_line() -> None:
    parsed = parse_logger_csv(
        "time,celsius\n2024-04-02T08:10:00+08:00,4\n2024-04-02T08:00:00+08:00,4\n"
    )
    with pytest.raises(DomainError) as refused:
        check_series(parsed.readings, now=NOW, where=parsed.where)
    assert (refused.value.reason, refused.value.field) == ("readings_out_of_order", "file")
    assert refused.value.message.startswith("line 3: ")


# --- receipt and decisions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_present", "in_range", "papers_present", "expected"),
    [
        (True, True, True, ReceiptTemperature.RECEIVE),
        (True, True, False, ReceiptTemperature.QUARANTINE),
        (True, None, True, ReceiptTemperature.QUARANTINE),
        (True, False, True, ReceiptTemperature.REFUSE),
        (True, False, False, ReceiptTemperature.REFUSE),
        (False, None, True, ReceiptTemperature.REFUSE),
        (False, None, False, ReceiptTemperature.REFUSE),
        (False, True, True, ReceiptTemperature.REFUSE),
    ],
)
def test_receipt_demands_the_whole_journey_record(
    record_present: bool, in_range: bool | None, papers_present: bool, expected: ReceiptTemperature
) -> None:
    assert receipt_temperature_decision(record_present, in_range, papers_present) is expected


def test_a_journey_with_only_notices_is_received() -> None:
    journey = evaluate(series((5.0, 60), (9.0, 30), (5.0, 60)), FREEZE_SENSITIVE)
    assert receipt_temperature_decision(True, journey.in_range, True) is ReceiptTemperature.RECEIVE
    frozen = evaluate(series((5.0, 60), (-1.0, 90)), FREEZE_SENSITIVE)
    assert receipt_temperature_decision(True, frozen.in_range, True) is ReceiptTemperature.REFUSE


def test_a_decision_names_a_person_and_a_reason() -> None:
    ExcursionDecision(decision="usable", decided_by="张三", reason="stability data allow it")
    for bad in (
        {"decision": "maybe", "decided_by": "张三", "reason": "r"},
        {"decision": "usable", "decided_by": "", "reason": "r"},
        {"decision": "usable", "decided_by": "张三"},
    ):
        with pytest.raises(ValidationError):
            ExcursionDecision.model_validate(bad)


def test_effective_dates_are_dates() -> None:
    assert FREEZE_SENSITIVE.effective_from == date(2000, 1, 1)
