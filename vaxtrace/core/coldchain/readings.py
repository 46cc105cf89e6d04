"""温度读数: a series, the time-ordered readings of one fridge, cold room or shipment (a
logger's upload or manual readings), as it is sent, and the checks it must pass before it is
believed (order, duplicates, the future, plausible temperatures)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StrictFloat

from vaxtrace.core.datasets.elements import DocumentId, DocumentNo, Model, NonEmpty
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

PLAUSIBLE_CELSIUS = (-90.0, 80.0)
"""A reading outside this is a broken sensor or a typo, not a temperature (ultra-low freezers
run at −80 °C; a car in the sun reaches 70 °C)."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No reading before this is believed (the chain's business times live in 2000–2199)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a reading may lie: a logger's clock runs a little ahead."""
MAX_READINGS = 200_000
"""Readings in one upload: 30 days at one a minute is 43,200; this is over four months."""


def plausible(celsius: float) -> float:
    """``celsius`` if it is a finite reading within :data:`PLAUSIBLE_CELSIUS`; refused
    (``implausible_temperature``) otherwise."""
    low, high = PLAUSIBLE_CELSIUS
    if not math.isfinite(celsius) or not low <= celsius <= high:
        raise DomainError(
            Reason.IMPLAUSIBLE_TEMPERATURE,
            f"{celsius} °C is not a plausible reading ({low} to {high} °C)",
            field="celsius",
        )
    return celsius


Celsius = Annotated[
    StrictFloat,
    AfterValidator(plausible),
    Field(description="温度 °C, a JSON number (true/false or a string are refused)"),
]


class ReadingIn(Model):
    """One reading as sent: an ISO-8601 time with its timezone, and degrees Celsius."""

    time: AwareDatetime = Field(description="测量时间, with its timezone")
    celsius: Celsius


@dataclass(frozen=True, slots=True)
class Reading:
    time: datetime
    celsius: float


StorageOrTransport = Literal["storage", "transport"]


class TemperatureHeader(Model):
    """温度记录: what a record of one fridge, cold room or vehicle says besides its readings
    (a logger's CSV upload sends these as form fields)."""

    client_document_id: DocumentId
    document_no: DocumentNo | None = None
    equipment_id: NonEmpty = Field(description="设备编号 the fridge, cold room or vehicle")
    kind: StorageOrTransport = Field(description="储存 storage or 运输 transport")
    product_class: str = Field(
        min_length=1, max_length=60, description="产品温控类别, e.g. freeze_sensitive_2_8"
    )
    related_document_no: str | None = Field(
        default=None, max_length=60, description="关联单据 e.g. the shipping note"
    )


class TemperatureUpload(TemperatureHeader):
    """温度记录 with its readings, oldest first (a logger's or manual readings)."""

    readings: tuple[ReadingIn, ...] = Field(min_length=1, max_length=MAX_READINGS)

    def series(self) -> list[Reading]:
        return [Reading(r.time, r.celsius) for r in self.readings]


Where = Callable[[int, str], tuple[str, str]]
"""Names reading ``i``'s ``part`` (time / celsius) for a refusal: (field, label for the
message)."""


def in_json(i: int, part: str) -> tuple[str, str]:
    return f"readings[{i}].{part}", f"readings[{i}]"


def check_series(
    readings: Sequence[Reading],
    *,
    now: datetime,
    clock_skew: timedelta = CLOCK_SKEW,
    where: Where = in_json,
) -> None:
    """Refuse a series that cannot be believed: no readings; a time without its timezone,
    before 2000 or in the future beyond ``clock_skew``; readings out of time order or two at
    one time; a temperature that is not a finite, plausible number."""
    if not readings:
        raise DomainError(
            Reason.NO_READINGS, "a temperature record needs readings", field="readings"
        )
    latest = now + clock_skew
    previous: datetime | None = None
    for i, reading in enumerate(readings):
        field, label = where(i, "time")
        time = reading.time
        if time.tzinfo is None or time.utcoffset() is None:
            raise DomainError(
                Reason.TIME_WITHOUT_TIMEZONE, f"{label}: {time} has no timezone", field=field
            )
        if time < EARLIEST:
            raise DomainError(
                Reason.TIME_OUT_OF_RANGE,
                f"{label}: {time} is before {EARLIEST.date()}",
                field=field,
            )
        if time > latest:
            raise DomainError(
                Reason.READING_IN_THE_FUTURE,
                f"{label}: {time.isoformat()} is in the future (now {now.isoformat()})",
                field=field,
            )
        if previous is not None and time == previous:
            raise DomainError(
                Reason.DUPLICATE_READING_TIME,
                f"{label}: a second reading at {time.isoformat()}",
                field=field,
            )
        if previous is not None and time < previous:
            raise DomainError(
                Reason.READINGS_OUT_OF_ORDER,
                f"{label}: {time.isoformat()} comes before the reading above it "
                f"({previous.isoformat()}); send readings oldest first",
                field=field,
            )
        previous = time
        try:
            plausible(reading.celsius)
        except DomainError as exc:
            exc.field, exc.message = where(i, "celsius")[0], f"{label}: {exc.message}"
            exc.args = (exc.message,)
            raise
