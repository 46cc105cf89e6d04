"""Calendar arithmetic for the schedule: ages and intervals as days, months or years.

A month is a calendar month counted from the day of the start date, clamped to the end of a
shorter month: a child born on 31 January is 1 month old on 28 February (29 in a leap year)
and 2 months old on 31 March (counted from the birth date, never from the clamped date). A
year is 12 months: a child born on 29 February is 1 year old on 28 February of a common year.
(CDSi rolls a missing day forward to the 1st of the next month instead; the clamp is ours.)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason


@dataclass(frozen=True, slots=True)
class Duration:
    """A number of days or of calendar months (a year is stored as 12 months)."""

    days: int = 0
    months: int = 0
    delta: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta", timedelta(days=self.days))

    def after(self, start: date) -> date:
        """The date this long after ``start``."""
        if not self.months:
            return start + self.delta
        end = add_months(start, self.months)
        return end + self.delta if self.days else end

    def __str__(self) -> str:
        if self.months and self.months % 12 == 0 and not self.days:
            return f"{self.months // 12}y"
        if self.months and not self.days:
            return f"{self.months}m"
        return f"{self.days}d"


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, the day clamped to the month's last day."""
    if not months:
        return start
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    day = start.day
    if day > 28:
        last = _MONTH_DAYS[month0]
        if month0 == 1 and calendar.isleap(year):
            last = 29
        day = min(day, last)
    return date(year, month0 + 1, day)


def parse_duration(text: str) -> Duration:
    """``"28d"``, ``"6m"`` or ``"4y"``."""
    unit, number = text[-1:], text[:-1]
    if not number.isdigit() or unit not in ("d", "m", "y"):
        raise DomainError(
            Reason.MALFORMED_SCHEDULE, f"not a duration (<n>d, <n>m or <n>y): {text!r}"
        )
    n = int(number)
    if unit == "d":
        return Duration(days=n)
    return Duration(months=n if unit == "m" else 12 * n)


def age_on(birth: date, day: date) -> tuple[int, int]:
    """The age on ``day`` as (full months, days past the last full month)."""
    months = (day.year - birth.year) * 12 + day.month - birth.month
    if add_months(birth, months) > day:
        months -= 1
    return months, (day - add_months(birth, months)).days
