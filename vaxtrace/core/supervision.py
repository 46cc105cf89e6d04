"""What the supervision system (监管系统) is told: every step of the chain in its area, as the
platform copies it, and who may see it (a regulator sees what happened inside its division)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from vaxtrace.core.datasets.elements import DivisionText, DocumentNo, Model, Uscc
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.times import BusinessTime

SHIPPING_NOTE = "201"
"""销售出库: a MAH's shipping note; the province's steps carry their own bill types."""

BILL_TYPES = frozenset({SHIPPING_NOTE, *(bill.value for bill in DownstreamBill)})
"""The steps a supervision system is told of."""


def _known_bill(value: str) -> str:
    if value not in BILL_TYPES:
        raise ValueError(f"bill_type is one of {', '.join(sorted(BILL_TYPES))}")
    return value


class Step(Model):
    """One step of the chain on a set of codes: what, who, when."""

    bill_type: Annotated[str, AfterValidator(_known_bill)] = Field(
        description="单据类型 bill type: 201, or a province's 107, 209, 322, 202, 215"
    )
    org_uscc: Uscc = Field(description="业务单位 who did it: the MAH, the CDC or the site")
    document_no: DocumentNo
    business_time: BusinessTime = Field(description="业务发生时间")
    codes: tuple[str, ...] = Field(min_length=1, max_length=100_000, description="追溯码")


class SupervisedStep(Step):
    """A step and where it happened (the division code a regulator's jurisdiction is judged
    by): a shipping note where its consignee CDC is, a province's step where the CDC or site
    that did it is."""

    division_code: DivisionText = Field(description="行政区划 where it happened")


def sees(regulator_division: str, step_division: str) -> bool:
    """A regulator sees the steps done inside its own division (province, city or county)."""
    return DivisionCode(step_division).is_within(DivisionCode(regulator_division))
