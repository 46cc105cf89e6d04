"""A batch's rules: expiry inclusive of its date; what a sale needs."""

from __future__ import annotations

from datetime import date

import pytest

from vaxtrace.core.batches import SaleFacts, check_sellable, expired
from vaxtrace.core.errors import DomainError

EXPIRY = date(2026, 3, 31)


def test_a_batch_is_usable_through_its_expiry_date() -> None:
    assert not expired(EXPIRY, date(2026, 3, 30))
    assert not expired(EXPIRY, EXPIRY)
    assert expired(EXPIRY, date(2026, 4, 1))


def _batch(**changes: object) -> SaleFacts:
    facts = {
        "batch_no": "B1",
        "lot_released": True,
        "imported": False,
        "customs_clearance_no": None,
        "expiry_date": EXPIRY,
    } | changes
    return SaleFacts(**facts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "day", "reason"),
    [
        ({"lot_released": False}, EXPIRY, "not_lot_released"),
        ({"imported": True}, EXPIRY, "missing_customs_clearance"),
        ({}, date(2026, 4, 1), "expired"),
    ],
)
def test_a_batch_that_may_not_be_sold(changes: dict[str, object], day: date, reason: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_sellable(_batch(**changes), day)
    assert (refused.value.reason, refused.value.field) == (reason, "codes")


def test_a_batch_that_may_be_sold() -> None:
    check_sellable(_batch(), EXPIRY)
    check_sellable(_batch(imported=True, customs_clearance_no="C-1"), EXPIRY)
