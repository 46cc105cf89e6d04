"""预约: appointment slots and the rules of booking them (pure).

A site's staff open a slot: a vaccine (the schedule's short name, ``HepB``), a day, a time
window and a capacity. A guardian books a place in it for a child of theirs; a place is taken
or freed in the same transaction that writes the booking (the store's conditional update: a
slot is never over capacity, whatever runs concurrently). A slot that has started cannot be
booked; one child holds at most one live booking per vaccine.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from vaxtrace.core.appointments.hours import SiteHours, china, moment
from vaxtrace.core.datasets.elements import Model
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

MAX_CAPACITY = 500
"""The most places one slot offers."""

OPEN_AHEAD_DAYS = 180
"""How far ahead a site may open slots."""

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
"""The days a slot or a listing of slots may name at all."""


class State(StrEnum):
    """An appointment's state: booked (a place is held), cancelled (freed, by the guardian
    or by rescheduling), attended (checked in at the site: the place stays taken)."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    ATTENDED = "attended"


LIVE = (State.BOOKED.value, State.ATTENDED.value)
"""The states that hold a place."""


class SlotOpening(Model):
    """号源: what a site's staff open."""

    vaccine: str = Field(min_length=1, max_length=20, description="the schedule's short name")
    day: date = Field(ge=FIRST_DAY, le=LAST_DAY)
    start: time = Field(description="China time, HH:MM")
    end: time = Field(description="China time, HH:MM")
    capacity: int = Field(ge=1, le=MAX_CAPACITY)

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise DomainError(Reason.INVALID_TIME, "a slot ends after it starts", field="end")
        return end

    @property
    def starts_at(self) -> datetime:
        return moment(self.day, self.start)

    @property
    def ends_at(self) -> datetime:
        return moment(self.day, self.end)


class Booking(Model):
    """A guardian books a place for a child of theirs."""

    slot_id: int = Field(ge=1, le=2**63 - 1)
    child_id: str = Field(pattern=r"^ch-[0-9a-f]{16}$")


class Reschedule(Model):
    """Move a booking to another slot of the same vaccine."""

    slot_id: int = Field(ge=1, le=2**63 - 1)


def check_opening(
    opening: SlotOpening, vaccines: Collection[str], hours: SiteHours | None, now: datetime
) -> None:
    """A slot may be opened: a schedule vaccine, not started, not too far ahead, within the
    site's opening hours when it published them."""
    if opening.vaccine not in vaccines:
        raise DomainError(
            Reason.UNKNOWN_VACCINE,
            f"{opening.vaccine!r} is no vaccine of the schedule ({', '.join(sorted(vaccines))})",
            field="vaccine",
        )
    if opening.starts_at <= now:
        raise DomainError(Reason.SLOT_IN_PAST, "the slot would start in the past", field="day")
    if opening.day > china(now).date() + timedelta(days=OPEN_AHEAD_DAYS):
        raise DomainError(
            Reason.OUT_OF_RANGE, f"slots open at most {OPEN_AHEAD_DAYS} days ahead", field="day"
        )
    if hours is not None and not hours.fits(opening.day, opening.start, opening.end):
        raise DomainError(
            Reason.OUTSIDE_OPENING_HOURS,
            "the slot is not within one of the site's opening windows that day",
            field="start",
        )


def check_bookable(starts_at: datetime, now: datetime, field: str | None = "slot_id") -> None:
    """A slot may be booked (or a booking in it cancelled or moved) until it starts."""
    if starts_at <= now:
        raise DomainError(Reason.SLOT_IN_PAST, "the slot has started or is over", field=field)


def remaining(capacity: int, booked: int) -> int:
    """Places left in a slot."""
    return max(capacity - booked, 0)


def check_due(vaccine: str, day: date, series: Mapping[str, Any] | None) -> None:
    """A booking of ``vaccine`` on ``day`` for a child whose forecast of that vaccine's
    series is ``series`` (a child's record's series, None for a vaccine outside the
    schedule): refused ``dose_not_due`` when the series needs no more doses, its next dose
    takes another product, or the day is before the next dose's earliest date — the site
    would turn the child away."""
    if series is None:
        return
    upcoming = series.get("next")
    if upcoming is None:
        raise DomainError(
            Reason.DOSE_NOT_DUE,
            f"the child's {series['vaccine']} series needs no further dose ({series['status']})",
            field="slot_id",
        )
    if vaccine not in upcoming["products"]:
        raise DomainError(
            Reason.DOSE_NOT_DUE,
            f"dose {upcoming['dose']} of {series['vaccine']} takes "
            f"{' or '.join(upcoming['products'])}, not {vaccine}",
            field="slot_id",
        )
    if day.isoformat() < upcoming["earliest"]:
        raise DomainError(
            Reason.DOSE_NOT_DUE,
            f"dose {upcoming['dose']} of {series['vaccine']} may be given from "
            f"{upcoming['earliest']}: choose a slot on or after that day",
            field="slot_id",
            details={"earliest": upcoming["earliest"], "dose": upcoming["dose"]},
        )
