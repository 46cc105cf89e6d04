"""生产 production: batches, commissioning (赋码), packing and unpacking, replacing a code,
production warehousing, self-inspection and lot release."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from vaxtrace.core.datasets.basic_data import PackagingLevel
from vaxtrace.core.datasets.elements import (
    CodesWrite,
    Model,
    NonEmpty,
    Quantity,
    Write,
    either,
)
from vaxtrace.core.times import BusinessDate


class Batch(Model):
    """生产批次 production batch."""

    product_code: str
    batch_no: str = Field(
        min_length=1, max_length=20, pattern=r"^[A-Za-z0-9\-]+$", description="批号 batch number"
    )
    production_date: BusinessDate = Field(description="生产日期 production date")
    expiry_date: BusinessDate = Field(description="有效期至 expiry date")
    quantity: Quantity = Field(description="批量(剂) batch size in doses")
    customs_clearance_no: str | None = Field(
        default=None, max_length=60, description="进口药品通关单号 customs clearance (imports)"
    )

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.expiry_date <= self.production_date:
            raise ValueError("expiry_date must be after production_date")
        return self


class CodeRelation(Model):
    """One row of an uploaded packaging relation file (包装关联关系)."""

    code: str = Field(min_length=1, max_length=200, description="追溯码")
    level: PackagingLevel = Field(description="包装级别")
    parent: str | None = Field(default=None, description="上级包装追溯码")


class Commission(Write):
    """赋码: issue codes for a batch, generated here (``counts``) or uploaded (``relations``)."""

    batch_no: str
    cases: int | None = Field(
        default=None, ge=1, le=100_000, description="number of full top-level units to generate"
    )
    relations: tuple[CodeRelation, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        either(
            self.cases, self.relations, "give either cases (generate codes) or relations (upload)"
        )
        return self


class Pack(Write):
    parent: str = Field(description="上级包装追溯码 container code")
    children: tuple[str, ...] = Field(min_length=1, max_length=100_000)


class Unpack(Write):
    parent: str
    children: tuple[str, ...] | None = Field(
        default=None, description="codes to take out; all when omitted"
    )


class Replace(Write):
    old_code: str = Field(description="原追溯码")
    new_code: str = Field(description="新追溯码")
    reason: NonEmpty = Field(description="替换原因 reason (e.g. damaged label)")


class Warehousing(CodesWrite):
    """101 生产入库 production warehousing."""

    warehouse: NonEmpty = Field(description="仓库 warehouse")


class Conclusion(StrEnum):
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格


class SelfInspection(Write):
    """自检 self-inspection of a batch."""

    batch_no: str
    report_no: NonEmpty = Field(description="自检报告编号 report number")
    conclusion: Conclusion = Field(description="自检结论 conclusion")


class LotRelease(Write):
    """批签发 lot release; the certificate file is sent with the request."""

    batch_no: str
    certificate_no: NonEmpty = Field(description="批签发证明编号 certificate number")
    conclusion: Conclusion = Field(description="签发结论 conclusion")
    authority: NonEmpty = Field(description="签发机构 issuing authority")
    quantity: Quantity = Field(description="签发量(剂) doses released")
