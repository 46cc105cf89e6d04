"""A logger's CSV: read with its lines, refused naming the line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.core.coldchain.coldchain_world import CST, NOW
from vaxtrace.core.coldchain.logger_csv import parse_logger_csv
from vaxtrace.core.coldchain.readings import Reading, check_series
from vaxtrace.core.errors import DomainError


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
