"""Slots and their rules (pure): an opening must be a schedule vaccine, not started, within
180 days and within the site's hours when published; a slot is bookable until it starts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from vaxtrace.core.appointments import SiteHours, SlotOpening, check_bookable, check_opening
from vaxtrace.core.appointments.slots import remaining
from vaxtrace.core.dose_gate import CHINA_TIME
from vaxtrace.core.errors import DomainError

TUESDAY = date(2026, 12, 1)
NOW = datetime.combine(TUESDAY - timedelta(days=1), time(12), CHINA_TIME)
VACCINES = ("HepB", "DTaP", "MMR")
HOURS = SiteHours.model_validate({
    "address": "示例路1号",
    "week": [{"weekday": 2, "windows": [{"opens": "08:00", "closes": "11:30"}]}],
})  # fmt: skip


def opening(**extra: Any) -> SlotOpening:
    values = {"vaccine": "HepB", "day": TUESDAY, "start": "08:00", "end": "09:00", "capacity": 5}
    return SlotOpening.model_validate(values | extra)


def test_an_opening_within_the_hours() -> None:
    slot = opening()
    check_opening(slot, VACCINES, HOURS, NOW)
    check_opening(slot, VACCINES, None, NOW)
    assert slot.starts_at == datetime.combine(TUESDAY, time(8), CHINA_TIME)
    assert slot.ends_at - slot.starts_at == timedelta(hours=1)


@pytest.mark.parametrize(
    ("extra", "hours", "reason", "field"),
    [
        ({"vaccine": "COVID"}, HOURS, "unknown_vaccine", "vaccine"),
        ({"day": TUESDAY - timedelta(days=7)}, HOURS, "slot_in_past", "day"),
        ({"day": NOW.date(), "start": "11:00", "end": "12:00"}, None, "slot_in_past", "day"),
        ({"day": NOW.date() + timedelta(days=181)}, None, "out_of_range", "day"),
        ({"start": "11:00", "end": "12:00"}, HOURS, "outside_opening_hours", "start"),
        ({"day": TUESDAY + timedelta(days=1)}, HOURS, "outside_opening_hours", "start"),
    ],
)
def test_refused_openings(
    extra: dict[str, Any], hours: SiteHours | None, reason: str, field: str
) -> None:
    with pytest.raises(DomainError) as caught:
        check_opening(opening(**extra), VACCINES, hours, NOW)
    assert (caught.value.reason, caught.value.field) == (reason, field)


@pytest.mark.parametrize(
    ("extra", "kind"),
    [({"end": "08:00"}, "invalid_time"), ({"capacity": 0}, "greater_than_equal"),
     ({"capacity": 501}, "less_than_equal"), ({"vaccine": ""}, "string_too_short")],
)  # fmt: skip
def test_malformed_openings(extra: dict[str, Any], kind: str) -> None:
    with pytest.raises(ValidationError) as caught:
        opening(**extra)
    error = caught.value.errors()[0]
    assert getattr(error.get("ctx", {}).get("error"), "reason", error["type"]) == kind


def test_bookable_until_it_starts() -> None:
    starts = datetime.combine(TUESDAY, time(8), CHINA_TIME)
    check_bookable(starts, starts - timedelta(seconds=1))
    for now in (starts, starts + timedelta(minutes=1)):
        with pytest.raises(DomainError) as caught:
            check_bookable(starts, now)
        assert (caught.value.reason, caught.value.field) == ("slot_in_past", "slot_id")
    assert (remaining(5, 3), remaining(5, 5), remaining(5, 7)) == (2, 0, 0)
