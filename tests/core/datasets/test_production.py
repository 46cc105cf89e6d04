"""Production data sets: batches and commissioning."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from tests.core.datasets.datasets_world import WRITE, refused
from vaxtrace.core.datasets.basic_data import PackagingLevel
from vaxtrace.core.datasets.production import Batch, CodeRelation, Commission

# --- batches ----------------------------------------------------------------------------------


def batch(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "product_code": "HEPB-10",
        "batch_no": "20260301-1",
        "production_date": date(2026, 3, 1),
        "expiry_date": date(2029, 2, 28),
        "quantity": 100_000,
    }
    data.update(changes)
    return data


def test_a_batch() -> None:
    assert Batch.model_validate(batch()).expiry_date == date(2029, 2, 28)
    assert Batch.model_validate(batch(expiry_date=date(2026, 3, 2))).quantity == 100_000


@pytest.mark.parametrize("expiry", [date(2026, 2, 28), date(2026, 3, 1)])
def test_batch_expiry_must_follow_production(expiry: date) -> None:
    refused(Batch, batch(expiry_date=expiry), "expiry_date must be after production_date")


@pytest.mark.parametrize("batch_no", ["", "B 1", "B/1", "X" * 21])
def test_batch_number_format(batch_no: str) -> None:
    refused(Batch, batch(batch_no=batch_no), "batch_no")


def test_batch_quantity_is_positive() -> None:
    refused(Batch, batch(quantity=0), "quantity")


# --- commissioning ----------------------------------------------------------------------------


def test_commission_by_generation_or_by_upload() -> None:
    assert Commission.model_validate({**WRITE, "batch_no": "B1", "cases": 10}).cases == 10
    relations = [
        {"code": "CASE1", "level": 3},
        {"code": "BOX1", "level": 2, "parent": "CASE1"},
        {"code": "DOSE1", "level": 1, "parent": "BOX1"},
    ]
    upload = Commission.model_validate({**WRITE, "batch_no": "B1", "relations": relations})
    assert upload.relations is not None
    assert upload.relations[2] == CodeRelation(
        code="DOSE1", level=PackagingLevel.DOSE, parent="BOX1"
    )


def test_commission_needs_exactly_one_source() -> None:
    refused(Commission, {**WRITE, "batch_no": "B1"}, "give either cases")
    refused(
        Commission,
        {**WRITE, "batch_no": "B1", "cases": 1, "relations": [{"code": "C", "level": 1}]},
        "give either cases",
    )


def test_commission_refuses_an_empty_upload() -> None:
    with pytest.raises(ValidationError):
        Commission.model_validate({**WRITE, "batch_no": "B1", "relations": []})


@pytest.mark.parametrize("cases", [0, 100_001])
def test_commission_case_bounds(cases: int) -> None:
    refused(Commission, {**WRITE, "batch_no": "B1", "cases": cases}, "cases")
