"""What the supervision system (监管系统) is told: every step of the chain in its area, as the
platform copies it, and who may see it (a regulator sees what happened inside its division;
national, ``000000``, sees every area).

Steps are of three sorts, all kept the same way so a code's chain is one query:

- movements on codes, with the ecosystem's bill types: a MAH's 101 production warehousing
  (生产入库) and 201 shipping note, a province's 107, 209, 322, 323, 202, 215, 216, 205;
- a MAH's batch facts (whole batches, no codes): 901 self-inspection (自检), 902 lot release
  (批签发);
- a MAH's control steps (its safety signals, on codes or whole batches): 911 lock, 912 unlock,
  913 recall, 914 recall closed, 915 status set (damaged / destroyed / suspended);
- a province's 931 cold-chain excursion (温度超标) on the codes it affected.

9xx are VaxTrace's own (as 323 is): the ecosystem has no bill type for them.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, model_validator

from vaxtrace.core.datasets.elements import DocumentNo, Model, Uscc
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.identifiers import NATIONAL_DIVISION, DivisionCode
from vaxtrace.core.signals import SafetySignal, SignalKind
from vaxtrace.core.times import BusinessTime

PRODUCTION = "101"
"""生产入库: a MAH's production warehousing of its codes."""

SHIPPING_NOTE = "201"
"""销售出库: a MAH's shipping note; the province's steps carry their own bill types."""

SELF_INSPECTION = "901"
"""自检: a MAH's self-inspection of whole batches."""

LOT_RELEASE = "902"
"""批签发: the lot release of whole batches."""

SIGNAL_BILLS: dict[SignalKind, str] = {
    SignalKind.LOCK: "911",
    SignalKind.UNLOCK: "912",
    SignalKind.RECALL: "913",
    SignalKind.RECALL_CLOSED: "914",
    SignalKind.STATUS: "915",
}
"""The step a MAH's safety signal is kept as (a BATCH signal only repeats batch data)."""

EXCURSION = "931"
"""温度超标: a cold-chain excursion a province recorded, on the codes it affected."""

BATCH_FACTS = frozenset({SELF_INSPECTION, LOT_RELEASE})
"""Steps on whole batches only."""

BILL_TYPES = frozenset(
    {
        PRODUCTION,
        SHIPPING_NOTE,
        *(bill.value for bill in DownstreamBill),
        *BATCH_FACTS,
        *SIGNAL_BILLS.values(),
        EXCURSION,
    }
)
"""The steps a supervision system is told of."""

NATIONAL = NATIONAL_DIVISION
"""The division code of a national regulator (国家药品监督管理局): it sees every area."""


def _known_bill(value: str) -> str:
    if value not in BILL_TYPES:
        raise ValueError(f"bill_type is one of {', '.join(sorted(BILL_TYPES))}")
    return value


def _division(value: str) -> str:
    return value if value == NATIONAL else DivisionCode(value).value


Jurisdiction = Annotated[str, AfterValidator(_division)]
"""A division code or ``000000`` (national)."""

BatchNo = Annotated[str, Field(min_length=1, max_length=20, description="批号")]


class Step(Model):
    """One step of the chain on a set of codes or whole batches: what, who, when."""

    bill_type: Annotated[str, AfterValidator(_known_bill)] = Field(
        description="单据类型 bill type: 101, 201, a province's 107, 209, 322, 202, 215, 205 …, "
        "or VaxTrace's 9xx (batch facts, a MAH's control steps, cold-chain excursions)"
    )
    org_uscc: Uscc = Field(description="业务单位 who did it: the MAH, the CDC or the site")
    document_no: DocumentNo
    business_time: BusinessTime = Field(description="业务发生时间")
    codes: tuple[str, ...] = Field(default=(), max_length=100_000, description="追溯码")
    mah_uscc: Uscc | None = Field(default=None, description="持有人 of the batches named")
    batch_nos: tuple[BatchNo, ...] = Field(
        default=(), max_length=1000, description="批号 whole batches the step concerns"
    )
    counterparty_uscc: Uscc | None = Field(
        default=None,
        description="对方单位: the consignee of a note, the receiver of a distribution or "
        "return, the shipper a receipt names",
    )
    source_document_no: DocumentNo | None = Field(
        default=None, description="来源单据号: the shipping note a receipt answers"
    )
    detail: dict[str, Any] | None = Field(
        default=None,
        description="the rest of the document (lot release certificate, lock kind, reason, "
        "excursion …); never personal data: a vaccination names a pseudonymous reference at most",
    )
    contents: dict[str, tuple[str, ...]] | None = Field(
        default=None,
        max_length=100_000,
        description="what each container of the step holds directly (a note's, a production's "
        "packing): a step on a container is a step on everything inside it",
    )

    @model_validator(mode="after")
    def _on_something(self) -> Self:
        if not self.codes and not self.batch_nos:
            raise ValueError("a step names its codes or its batches")
        if self.batch_nos and self.mah_uscc is None:
            raise ValueError("a step on batches names their mah_uscc")
        return self


class SupervisedStep(Step):
    """A step and where it happened (the division code a regulator's jurisdiction is judged
    by): a MAH's steps where the MAH is (a shipping note where its consignee CDC is), a
    province's step where the CDC or site that did it is."""

    division_code: Annotated[str, AfterValidator(lambda v: DivisionCode(v).value)] = Field(
        description="行政区划 where it happened"
    )


class TraceFact(Model):
    """What a MAH's trace system reports to the platform for the supervision systems only:
    production warehousing (on codes), self-inspection and lot release (on batches). The
    payload of an envelope with ``event_type`` "20" and ``event_subtype`` the bill type is
    ``{"trace_fact": TraceFact}``."""

    bill_type: Annotated[str, AfterValidator(_known_bill)]
    document_no: DocumentNo
    business_time: BusinessTime
    codes: tuple[str, ...] = Field(default=(), max_length=100_000)
    batch_nos: tuple[BatchNo, ...] = Field(default=(), max_length=1000)
    detail: dict[str, Any] | None = None
    contents: dict[str, tuple[str, ...]] | None = None

    @model_validator(mode="after")
    def _a_fact(self) -> Self:
        if self.bill_type not in (PRODUCTION, *BATCH_FACTS):
            raise ValueError("a trace fact is a production (101), self-inspection or lot release")
        if not self.codes and not self.batch_nos:
            raise ValueError("a trace fact names its codes or its batches")
        return self

    def step(self, mah_uscc: str) -> Step:
        return Step.model_validate(self.model_dump() | {"org_uscc": mah_uscc, "mah_uscc": mah_uscc})


class ExcursionReport(Model):
    """A cold-chain excursion a province recorded, with the codes it affected, for the
    supervision systems only: ``{"excursion_report": ExcursionReport}``."""

    org_uscc: Uscc = Field(description="the CDC or site whose fridge or transport it was")
    document_no: DocumentNo
    business_time: BusinessTime
    codes: tuple[str, ...] = Field(min_length=1, max_length=100_000)
    detail: dict[str, Any] | None = None

    def step(self) -> Step:
        return Step.model_validate(self.model_dump() | {"bill_type": EXCURSION})


def signal_step(signal: SafetySignal) -> Step | None:
    """The step a MAH's safety signal is kept as (None for a BATCH signal); a regulator's
    lock or unlock is done by the regulator (``org_uscc``)."""
    bill = SIGNAL_BILLS.get(signal.kind)
    if bill is None:
        return None
    detail = signal.model_dump(
        mode="json",
        include={"kind", "lock_kind", "status", "recall_no", "recall_level", "reason", "issued_by"},
        exclude_none=True,
    )
    return Step.model_validate(
        {
            "bill_type": bill,
            "org_uscc": signal.issued_by or signal.mah_uscc,
            "document_no": signal.document_no,
            "business_time": signal.business_time,
            "codes": signal.codes or (),
            "mah_uscc": signal.mah_uscc,
            "batch_nos": signal.batch_nos,
            "detail": detail,
        }
    )


def area_prefix(division: str) -> str:
    """What every division code inside ``division`` starts with ("" for national)."""
    return "" if division == NATIONAL else DivisionCode(division).area_prefix


def sees(regulator_division: str, step_division: str) -> bool:
    """A regulator sees the steps done inside its own division (national: everywhere)."""
    return step_division.startswith(area_prefix(regulator_division))
