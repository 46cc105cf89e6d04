"""Series that cannot be believed, and readings as they are sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.core.coldchain.coldchain_world import NOW, T0
from vaxtrace.core.coldchain.readings import Reading, ReadingIn, TemperatureUpload, check_series
from vaxtrace.core.errors import DomainError


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
