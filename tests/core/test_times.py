"""The one rule of business times: aware, 2000–2199 (in UTC too), not in the future beyond the
clock skew, not before the codes' previous step, their lot release or their production."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from vaxtrace.core.datasets.elements import Write
from vaxtrace.core.datasets.movements import ShippingNote
from vaxtrace.core.datasets.production import Batch
from vaxtrace.core.datasets.temperature import Reading
from vaxtrace.core.downstream import DownstreamEvent
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import Vaccination
from vaxtrace.core.supervision import Step
from vaxtrace.core.times import (
    DEFAULT_SKEW,
    BusinessDate,
    BusinessTime,
    Clock,
    Earliest,
    as_utc,
    check_business_time,
    check_order,
)

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in China
SKEW = timedelta(minutes=5)


def reason_of(at: datetime, **kwargs: Any) -> str | None:
    """The reason the rule refuses ``at`` for, None when it accepts it."""
    try:
        check_business_time(at, now=NOW, skew=SKEW, **kwargs)
    except DomainError as exc:
        assert exc.field == kwargs.get("field", "business_time")
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (NOW, None),
        (NOW - timedelta(days=3650), None),  # long ago, yet in range and nothing before it
        (NOW + SKEW, None),  # a sender's clock a little ahead
        (NOW + SKEW + timedelta(seconds=1), "in_future"),
        (NOW + timedelta(days=1), "in_future"),
        (datetime(2026, 11, 20, 9, 5, tzinfo=CST), None),  # the same instant as NOW + 5 min
        (datetime(2026, 11, 20, 9, 6, tzinfo=CST), "in_future"),
        (datetime(2026, 11, 19, 20, 0, tzinfo=timezone(timedelta(hours=-5))), None),  # 01:00Z
        (datetime(2026, 11, 20, 14, 0, tzinfo=timezone(timedelta(hours=14))), None),
        (datetime(2026, 11, 19, 15, 5, tzinfo=timezone(timedelta(hours=-10))), None),
        (datetime(2026, 11, 19, 15, 6, tzinfo=timezone(timedelta(hours=-10))), "in_future"),
        (datetime(2000, 1, 1, tzinfo=UTC), None),
        (datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), "out_of_range"),
        (datetime(1999, 6, 1, tzinfo=CST), "out_of_range"),
        (datetime(2000, 1, 1, 7, 59, tzinfo=CST), "out_of_range"),  # 1999 in UTC
        (datetime(2000, 1, 1, 8, 0, tzinfo=CST), None),
        (datetime(2200, 1, 1, tzinfo=UTC), "out_of_range"),
        (datetime(2199, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-2))), "out_of_range"),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), "out_of_range"),  # no overflow
        (datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))), "out_of_range"),
        (datetime(2026, 11, 20, 9, 0), "timezone_missing"),
    ],
)
def test_the_range_the_clock_and_the_timezone(at: datetime, reason: str | None) -> None:
    assert reason_of(at) == reason


def test_the_skew_is_configurable() -> None:
    ahead = NOW + timedelta(minutes=30)
    assert reason_of(ahead) == "in_future"
    check_business_time(ahead, now=NOW, skew=timedelta(hours=1))
    assert Clock().skew == DEFAULT_SKEW == timedelta(minutes=5)
    assert Clock.with_skew(90).skew == timedelta(seconds=90)
    assert Clock(now=lambda: NOW).now() == NOW
    assert abs(Clock().now() - datetime.now(UTC)) < timedelta(seconds=5)


PREVIOUS = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in China
RELEASED = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
EARLIEST = Earliest(previous_step=PREVIOUS, produced=date(2026, 9, 1), released=RELEASED)


@pytest.mark.parametrize(
    ("at", "earliest", "reason"),
    [
        (PREVIOUS, EARLIEST, None),  # the same instant as the previous step
        (datetime(2026, 11, 10, 10, 0, tzinfo=CST), EARLIEST, None),  # …in another timezone
        (PREVIOUS - timedelta(seconds=1), EARLIEST, "before_previous_step"),
        (datetime(2023, 5, 1, tzinfo=CST), EARLIEST, "before_production"),  # back-dated to 2023
        (datetime(2026, 9, 1, 0, 0, tzinfo=CST), Earliest(produced=date(2026, 9, 1)), None),
        (
            datetime(2026, 8, 31, 23, 59, tzinfo=CST),
            Earliest(produced=date(2026, 9, 1)),
            "before_production",
        ),
        (RELEASED - timedelta(minutes=1), Earliest(released=RELEASED), "before_lot_release"),
        (RELEASED, Earliest(released=RELEASED), None),
        (datetime(2001, 1, 1, tzinfo=UTC), Earliest(), None),  # nothing recorded yet
    ],
)
def test_a_step_is_not_dated_before_what_is_recorded(
    at: datetime, earliest: Earliest, reason: str | None
) -> None:
    assert reason_of(at, earliest=earliest) == reason


def test_the_order_alone_and_the_field_named() -> None:
    check_order(PREVIOUS, EARLIEST)
    with pytest.raises(DomainError) as caught:
        check_order(PREVIOUS - timedelta(days=1), EARLIEST, field="corrected.business_time")
    assert (caught.value.reason, caught.value.field) == (
        "before_previous_step",
        "corrected.business_time",
    )
    assert reason_of(NOW + timedelta(hours=1), field="end_time") == "in_future"


def test_stored_times_read_back_as_utc() -> None:
    naive = datetime(2026, 11, 20, 1, 0)
    assert as_utc(naive) == NOW and as_utc(naive).tzinfo is UTC
    assert as_utc(datetime(2026, 11, 20, 9, 0, tzinfo=CST)) == NOW


# --- the range is part of the types: every model refuses it while parsing -------------------


def refused_type(adapter: TypeAdapter[Any], value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value)
    error = caught.value.errors()[0]
    cause = error.get("ctx", {}).get("error")
    return cause.reason if isinstance(cause, DomainError) else str(error["type"])


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-11-20T09:00:00+08:00", None),
        ("2026-11-20T01:00:00Z", None),
        ("0001-01-01T00:00:00+14:00", "out_of_range"),
        ("9999-12-31T23:59:59-14:00", "out_of_range"),
        ("1999-12-31T23:59:59Z", "out_of_range"),
        ("2200-01-01T00:00:00Z", "out_of_range"),
        ("2026-11-20T09:00:00", "timezone_aware"),
    ],
)
def test_the_business_time_type(value: str, reason: str | None) -> None:
    adapter: TypeAdapter[datetime] = TypeAdapter(BusinessTime)
    if reason is None:
        assert adapter.validate_python(value) == NOW
    else:
        assert refused_type(adapter, value) == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [("2026-11-20", None), ("1999-12-31", "out_of_range"), ("2200-01-01", "out_of_range")],
)
def test_the_business_date_type(value: str, reason: str | None) -> None:
    adapter: TypeAdapter[date] = TypeAdapter(BusinessDate)
    if reason is None:
        assert adapter.validate_python(value) == date(2026, 11, 20)
    else:
        assert refused_type(adapter, value) == reason


FAR = "0001-01-01T00:00:00+14:00"
WRITE = {"client_document_id": "c1", "document_no": "D1", "business_time": FAR}
CODES = ["80000010000000017123"]


@pytest.mark.parametrize(
    ("model", "body", "where"),
    [
        (Write, WRITE, ("business_time",)),
        (
            ShippingNote,
            WRITE
            | {"codes": CODES, "consignee_uscc": "12320000MB0000001D", "shipper": "张三"}
            | {"expected_quantity": 1},
            ("business_time",),
        ),
        (Vaccination, WRITE | {"code": CODES[0], "vaccinator": "李护士"}, ("business_time",)),
        (
            DownstreamEvent,
            {"bill_type": "322", "document_no": "JZ1", "business_time": FAR}
            | {"org_uscc": "12320102MB0000011G", "codes": CODES},
            ("business_time",),
        ),
        (
            Step,
            {"bill_type": "201", "org_uscc": "12320000MB0000001D", "document_no": "F1"}
            | {"business_time": FAR, "codes": CODES},
            ("business_time",),
        ),
        (Reading, {"time": FAR, "celsius": 5}, ("time",)),
        (
            Batch,
            {"product_code": "P", "batch_no": "B1", "production_date": "0001-01-01"}
            | {"expiry_date": "2027-01-01", "quantity": 1},
            ("production_date",),
        ),
    ],
    ids=["write", "shipping-note", "vaccination", "downstream", "step", "reading", "batch"],
)
def test_every_model_refuses_a_far_time_at_parsing(
    model: type[BaseModel], body: dict[str, Any], where: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    error = caught.value.errors()[0]
    assert error["loc"] == where
    assert error["ctx"]["error"].reason == "out_of_range"


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", 2**31), ("quantity", 0), ("production_date", "2024-02-30")],
)
def test_a_batch_quantity_fits_the_database(field: str, value: Any) -> None:
    body = {"product_code": "P", "batch_no": "B1", "production_date": "2024-01-10"}
    body |= {"expiry_date": "2027-01-01", "quantity": 2**31 - 1}
    Batch.model_validate(body)
    with pytest.raises(ValidationError) as caught:
        Batch.model_validate(body | {field: value})
    assert caught.value.errors()[0]["loc"] == (field,)
