"""Temperature records and their readings."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from tests.core.datasets.datasets_world import T0, WRITE, refused
from vaxtrace.core.datasets.temperature import Reading, TemperatureRecord


def record(readings: list[tuple[timedelta, float]], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        **WRITE,
        "kind": "transport",
        "equipment_id": "冷藏车-01",
        "start_time": T0,
        "end_time": T0 + timedelta(hours=2),
        "readings": [{"time": T0 + offset, "celsius": c} for offset, c in readings],
    }
    data.update(changes)
    return data


def test_a_temperature_record() -> None:
    rec = TemperatureRecord.model_validate(
        record([(timedelta(0), 4.5), (timedelta(minutes=5), 7.9), (timedelta(hours=2), 2.1)])
    )
    assert rec.minimum == 2.1
    assert rec.maximum == 7.9


def test_readings_in_another_time_zone_are_compared_as_instants() -> None:
    beijing = timezone(timedelta(hours=8))
    data = record([])
    data["readings"] = [{"time": (T0 + timedelta(hours=1)).astimezone(beijing), "celsius": 5.0}]
    assert TemperatureRecord.model_validate(data).maximum == 5.0


@pytest.mark.parametrize(
    "offsets",
    [
        [timedelta(seconds=-1)],
        [timedelta(hours=2, seconds=1)],
        [timedelta(0), timedelta(hours=3)],
        [timedelta(days=-1), timedelta(minutes=5), timedelta(days=1)],
    ],
)
def test_readings_outside_the_span_are_refused(offsets: list[timedelta]) -> None:
    outside = sum(1 for o in offsets if not timedelta(0) <= o <= timedelta(hours=2))
    refused(
        TemperatureRecord,
        record([(o, 5.0) for o in offsets]),
        f"{outside} reading(s) fall outside start_time..end_time",
    )


def test_record_end_before_start() -> None:
    refused(
        TemperatureRecord,
        record([(timedelta(0), 5.0)], end_time=T0 - timedelta(minutes=1)),
        "end_time is before start_time",
    )


def test_record_needs_readings() -> None:
    refused(TemperatureRecord, record([]), "readings")


@pytest.mark.parametrize("celsius", [-90.1, 80.1, float("nan"), float("inf")])
def test_implausible_readings(celsius: float) -> None:
    with pytest.raises(ValidationError):
        Reading(time=T0, celsius=celsius)


def test_reading_time_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError):
        Reading(time=datetime(2026, 3, 1, 8, 0), celsius=5.0)
