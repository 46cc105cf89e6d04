"""Opening hours (pure): windows by ISO weekday, closed days, open now and the next opening on
China's wall clock whatever the caller's time zone, and malformed hours refused by field."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from vaxtrace.core.appointments import SiteHours, next_opening, open_now, status
from vaxtrace.core.appointments.hours import LOOK_AHEAD_DAYS
from vaxtrace.core.dose_gate import CHINA_TIME

TUESDAY = date(2026, 12, 1)
MONDAY = TUESDAY - timedelta(days=1)


def hours(**extra: Any) -> SiteHours:
    week = [
        {"weekday": d, "windows": [{"opens": "08:00", "closes": "11:30"},
                                   {"opens": "13:30", "closes": "17:00"}]}
        for d in (1, 2, 3, 4, 5)
    ] + [{"weekday": 6, "windows": [{"opens": "08:00", "closes": "11:00"}]}]  # fmt: skip
    return SiteHours.model_validate({"address": "示例路1号", "week": week} | extra)


def china(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CHINA_TIME)


@pytest.mark.parametrize(
    ("moment", "open_", "next_"),
    [
        (china(TUESDAY, 7, 59), False, china(TUESDAY, 8)),
        (china(TUESDAY, 8), True, china(TUESDAY, 13, 30)),  # the window opens on the minute
        (china(TUESDAY, 11, 30), False, china(TUESDAY, 13, 30)),  # and closes on it
        (china(TUESDAY, 16, 59), True, china(TUESDAY + timedelta(days=1), 8)),
        (china(TUESDAY + timedelta(days=3), 17), False, china(TUESDAY + timedelta(days=4), 8)),
        (china(TUESDAY + timedelta(days=4), 11), False, china(TUESDAY + timedelta(days=6), 8)),
    ],
)
def test_open_now_and_next(moment: datetime, open_: bool, next_: datetime) -> None:
    found = hours()
    assert (open_now(found, moment) is not None) == open_
    assert next_opening(found, moment) == next_


def test_china_time_whatever_the_callers_zone() -> None:
    utc = china(TUESDAY, 9).astimezone(UTC)  # 01:00 UTC
    assert open_now(hours(), utc) is not None
    new_york = utc.astimezone(timezone(timedelta(hours=-5)))  # still Monday there
    assert open_now(hours(), new_york) is not None
    card = status(hours(), utc)
    assert card == {
        "open_now": True,
        "closes_at": china(TUESDAY, 11, 30).isoformat(),
        "next_open": china(TUESDAY, 13, 30).isoformat(),
    }
    assert status(None, utc) == {"open_now": None, "closes_at": None, "next_open": None}


def test_a_closed_day_and_a_site_that_never_opens() -> None:
    closed = hours(closed=[{"date": TUESDAY.isoformat(), "note": "培训"}])
    assert closed.windows_on(TUESDAY) == [] and open_now(closed, china(TUESDAY, 9)) is None
    assert next_opening(closed, china(MONDAY, 18)) == china(TUESDAY + timedelta(days=1), 8)
    assert not closed.fits(TUESDAY, time(8), time(9))
    assert closed.fits(MONDAY, time(13, 30), time(17)) and not closed.fits(
        MONDAY, time(11), time(14)
    )
    never = SiteHours.model_validate({"address": "示例路1号", "week": []})
    assert next_opening(never, china(TUESDAY, 9)) is None
    every_day_closed = hours(closed=[
        {"date": (TUESDAY + timedelta(days=n)).isoformat()} for n in range(LOOK_AHEAD_DAYS + 1)
    ])  # fmt: skip
    assert next_opening(every_day_closed, china(TUESDAY, 0)) is None


@pytest.mark.parametrize(
    ("extra", "reason", "field"),
    [
        ({"week": [{"weekday": 8, "windows": [{"opens": "08:00", "closes": "09:00"}]}]},
         "less_than_equal", ("week", 0, "weekday")),
        ({"week": [{"weekday": 1, "windows": [{"opens": "09:00", "closes": "09:00"}]}]},
         "invalid_time", ("week", 0, "windows", 0, "closes")),
        ({"week": [{"weekday": 1, "windows": [{"opens": "08:00", "closes": "10:00"},
                                              {"opens": "09:59", "closes": "11:00"}]}]},
         "invalid_time", ("week", 0, "windows")),
        ({"week": [{"weekday": 1, "windows": [{"opens": "08:00", "closes": "10:00"}]}] * 2},
         "listed_twice", ("week",)),
        ({"closed": [{"date": "2026-12-01"}, {"date": "2026-12-01"}]}, "listed_twice",
         ("closed",)),
        ({"phone": "12345"}, "invalid_phone", ("phone",)),
        ({"address": "短"}, "string_too_short", ("address",)),
    ],
)  # fmt: skip
def test_malformed_hours_are_refused_by_field(
    extra: dict[str, Any], reason: str, field: tuple[Any, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        hours(**extra)
    error = caught.value.errors()[0]
    cause = error.get("ctx", {}).get("error")
    assert (getattr(cause, "reason", error["type"]), error["loc"]) == (reason, field)
