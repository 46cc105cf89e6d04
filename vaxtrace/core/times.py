"""业务时间 business times: when a step happened, as its sender says. One rule bounds them on
every node, so a time one node accepts is one every node downstream accepts.

A business time

- carries its timezone (any: +08:00 China Standard Time, Z, …);
- lies in the years 2000–2199, in its own timezone and in UTC (so no node's arithmetic on it
  can overflow, whatever it converts it to);
- is not in the future beyond the clock skew tolerated between systems (default 5 minutes);
- is not before the previous step of the codes it moves (their last step in the chain), nor
  before the production date of their batch, nor (a sale) before the batch's lot release.

The range is part of the types (:data:`BusinessTime`, :data:`BusinessDate`), so every model
refuses it while parsing; the rest needs the clock and what is recorded, and runs in the
services through :func:`check_business_time`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

FIRST_YEAR = 2000
LAST_YEAR = 2199
DEFAULT_SKEW = timedelta(minutes=5)
"""Clock skew tolerated between systems when a time is judged against "now"."""


def in_range(at: datetime, field: str = "business_time") -> datetime:
    """``at`` itself, if it has a timezone and lies in years 2000–2199 in it and in UTC."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise DomainError(
            Reason.TIMEZONE_MISSING, f"{field} needs a timezone offset (e.g. +08:00)", field=field
        )
    # the local year first: only then is the conversion to UTC safe (0001-01-01+14:00 is not)
    if FIRST_YEAR <= at.year <= LAST_YEAR and FIRST_YEAR <= at.astimezone(UTC).year <= LAST_YEAR:
        return at
    raise DomainError(
        Reason.OUT_OF_RANGE,
        f"{field} {at.isoformat()} is outside the years {FIRST_YEAR}–{LAST_YEAR}",
        field=field,
    )


def day_in_range(day: date, field: str = "date") -> date:
    """``day`` itself, if it lies in years 2000–2199."""
    if FIRST_YEAR <= day.year <= LAST_YEAR:
        return day
    raise DomainError(
        Reason.OUT_OF_RANGE,
        f"{field} {day.isoformat()} is outside the years {FIRST_YEAR}–{LAST_YEAR}",
        field=field,
    )


def _time_in_range(at: datetime) -> datetime:
    return in_range(at, "the time")


def _day_in_range(day: date) -> date:
    return day_in_range(day, "the date")


BusinessTime = Annotated[AwareDatetime, AfterValidator(_time_in_range)]
"""A time a step happened at (业务发生时间): timezone-aware, years 2000–2199."""

BusinessDate = Annotated[date, AfterValidator(_day_in_range)]
"""A business date (production, expiry): years 2000–2199."""


def _system_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Clock:
    """What "now" is to a node, and how far ahead of it a sender's clock may run."""

    skew: timedelta = DEFAULT_SKEW
    now: Callable[[], datetime] = field(default=_system_now)

    @classmethod
    def with_skew(cls, seconds: float) -> Clock:
        return cls(timedelta(seconds=seconds))


@dataclass(frozen=True, slots=True)
class Earliest:
    """What a step on some codes cannot precede, as recorded (None: nothing recorded)."""

    previous_step: datetime | None = None
    """The latest step of the codes (or of their containers) in the chain."""
    produced: date | None = None
    """The latest production date of their batches."""
    released: datetime | None = None
    """The latest lot release of their batches (counts for a sale only)."""


def check_business_time(
    at: datetime,
    *,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    earliest: Earliest | None = None,
    field: str = "business_time",
) -> None:
    """Refuse a business time outside 2000–2199 (``out_of_range``), later than ``now`` plus
    ``skew`` (``in_future``), or before what ``earliest`` records (see :func:`check_order`)."""
    in_range(at, field)
    if at > now + skew:
        raise DomainError(
            Reason.IN_FUTURE,
            f"{field} {at.isoformat()} is in the future (now {now.isoformat()}, "
            f"{int(skew.total_seconds())} s of clock skew allowed)",
            field=field,
        )
    if earliest is not None:
        check_order(at, earliest, field=field)


def check_order(at: datetime, earliest: Earliest, *, field: str = "business_time") -> None:
    """Refuse a step dated before its batch's production date (``before_production``, judged
    on the date in the time's own timezone), before its batch's lot release
    (``before_lot_release``) or before the codes' previous step (``before_previous_step``)."""
    produced, released, previous = earliest.produced, earliest.released, earliest.previous_step
    if produced is not None and at.date() < produced:
        raise _too_early(Reason.BEFORE_PRODUCTION, at, field, "the batch was produced", produced)
    if released is not None and at < released:
        raise _too_early(Reason.BEFORE_LOT_RELEASE, at, field, "the batch's lot release", released)
    if previous is not None and at < previous:
        raise _too_early(
            Reason.BEFORE_PREVIOUS_STEP,
            at,
            field,
            "the codes' previous step",
            previous,
            "; steps cannot be back-dated past it",
        )


def _too_early(
    reason: Reason, at: datetime, field: str, what: str, bound: date, then: str = ""
) -> DomainError:
    return DomainError(
        reason,
        f"{field} {at.isoformat()} is before {what} ({bound.isoformat()}){then}",
        field=field,
    )


def as_stored(value: datetime) -> datetime:
    """A stored time with its offset: UTC where the database gave none (SQLite), else as the
    database gave it (PostgreSQL may give another offset, kept as it is shown)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands UTC times back without an offset)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
