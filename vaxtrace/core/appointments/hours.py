"""开放时间: a vaccination site's opening hours as its staff publish them (pure).

A week of opening windows (Monday is 1, Sunday 7, as ISO 8601 counts; a day may have a morning
and an afternoon window), and the days the site is closed though the week says open (a public
holiday, a training day). Times are China's wall-clock times: the site is in China, so is
everyone who reads its hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from vaxtrace.core.datasets.elements import Model
from vaxtrace.core.dose_gate import CHINA_TIME
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.recipients.model import Phone

LOOK_AHEAD_DAYS = 60
"""How far ahead the next opening is looked for (past it, the site says nothing of when)."""

MAX_CLOSED_DAYS = 366


class Window(Model):
    """One opening window of a day, ``opens`` before ``closes`` (China time)."""

    opens: time = Field(description="开门 (China time, HH:MM)")
    closes: time = Field(description="关门 (China time, HH:MM)")

    @field_validator("closes")
    @classmethod
    def _ordered(cls, closes: time, info: ValidationInfo) -> time:
        opens = info.data.get("opens")
        if opens is not None and closes <= opens:
            raise DomainError(Reason.INVALID_TIME, "a window closes after it opens", field="closes")
        return closes


class DayHours(Model):
    """The windows of one weekday."""

    weekday: int = Field(ge=1, le=7, description="1 Monday … 7 Sunday (ISO 8601)")
    windows: Annotated[list[Window], Field(min_length=1, max_length=4)]

    @field_validator("windows")
    @classmethod
    def _apart(cls, windows: list[Window]) -> list[Window]:
        ordered = sorted(windows, key=lambda w: w.opens)
        for before, after in pairwise(ordered):
            if after.opens < before.closes:
                raise DomainError(Reason.INVALID_TIME, "a day's windows overlap", field="windows")
        return windows


class ClosedDay(Model):
    """A day the site is closed though its week says open."""

    date: date
    note: str | None = Field(default=None, max_length=100, description="e.g. 国庆节")


class SiteHours(Model):
    """What a site publishes for the public: where it is, how to call it, when it opens."""

    address: str = Field(min_length=4, max_length=300, description="地址")
    phone: Phone | None = Field(default=None, description="咨询电话")
    week: Annotated[list[DayHours], Field(max_length=7)]
    closed: Annotated[list[ClosedDay], Field(default_factory=list, max_length=MAX_CLOSED_DAYS)]

    @field_validator("week")
    @classmethod
    def _each_day_once(cls, week: list[DayHours]) -> list[DayHours]:
        days = [d.weekday for d in week]
        if len(set(days)) != len(days):
            raise DomainError(Reason.LISTED_TWICE, "a weekday is listed twice", field="week")
        return week

    @field_validator("closed")
    @classmethod
    def _each_date_once(cls, closed: list[ClosedDay]) -> list[ClosedDay]:
        dates = [c.date for c in closed]
        if len(set(dates)) != len(dates):
            raise DomainError(Reason.LISTED_TWICE, "a closed day is listed twice", field="closed")
        return closed

    def windows_on(self, day: date) -> list[Window]:
        """The windows the site is open on ``day`` (none on a closed day), earliest first."""
        if any(c.date == day for c in self.closed):
            return []
        for hours in self.week:
            if hours.weekday == day.isoweekday():
                return sorted(hours.windows, key=lambda w: w.opens)
        return []

    def fits(self, day: date, start: time, end: time) -> bool:
        """Whether ``start``–``end`` on ``day`` lies within one window of the site's."""
        return any(w.opens <= start and end <= w.closes for w in self.windows_on(day))


def china(at: datetime) -> datetime:
    """A moment on China's wall clock."""
    return at.astimezone(CHINA_TIME)


def moment(day: date, at: time) -> datetime:
    """A China wall-clock time of a day, as a moment."""
    return datetime.combine(day, at, tzinfo=CHINA_TIME)


def open_now(hours: SiteHours, at: datetime) -> Window | None:
    """The window the site is open in at ``at``, if it is open."""
    local = china(at)
    for window in hours.windows_on(local.date()):
        if window.opens <= local.time() < window.closes:
            return window
    return None


def next_opening(hours: SiteHours, at: datetime) -> datetime | None:
    """When the site next opens after ``at`` (within :data:`LOOK_AHEAD_DAYS`), None if the
    hours say it never does."""
    local = china(at)
    for offset in range(LOOK_AHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        for window in hours.windows_on(day):
            opens = moment(day, window.opens)
            if opens > local:
                return opens
    return None


def status(hours: SiteHours | None, at: datetime) -> dict[str, object]:
    """Open now or not, until when, and the next opening: what a site's card shows."""
    if hours is None:
        return {"open_now": None, "closes_at": None, "next_open": None}
    window = open_now(hours, at)
    local = china(at)
    nxt = next_opening(hours, at)
    return {
        "open_now": window is not None,
        "closes_at": None if window is None else moment(local.date(), window.closes).isoformat(),
        "next_open": None if nxt is None else nxt.isoformat(),
    }
