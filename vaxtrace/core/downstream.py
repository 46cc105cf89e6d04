"""What a province reports back about vaccines it received (下游数据回传): receipts, CDC
distributions, vaccinations, returns, damage, scrap and destruction, as one document type that
travels province → platform → the trace system owning each code (split by owner).

The payload of an exchange envelope with ``event_type`` "20" and ``event_subtype`` the bill
type is ``{"downstream_event": DownstreamEvent}``. It carries codes, organisations and times,
never a vaccinee's personal data: who was vaccinated stays in the province.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import Field, model_validator

from vaxtrace.core.datasets.elements import Count, DocumentNo, Model, Uscc
from vaxtrace.core.datasets.movements import ReturnReason
from vaxtrace.core.documents import read_document
from vaxtrace.core.status import Action
from vaxtrace.core.times import BusinessTime


class DownstreamBill(StrEnum):
    """Bill types (单据类型) of the steps a province reports."""

    RECEIPT = "107"  # 供应入库 a CDC receives a shipping note
    DISTRIBUTION = "209"  # 供应出库 a CDC supplies a lower CDC or a vaccination site
    VACCINATION = "322"  # 接种 a dose is used
    VACCINATION_UNDO = "323"  # 接种冲销 (VaxTrace's own): a 322 taken back in its undo window
    RETURN = "202"  # 退货出库 goods go back up the chain
    DAMAGE = "215"  # 损坏出库 broken, frozen, lost
    SCRAP = "216"  # 报废出库 written off: expired, abnormal, out of the cold chain
    DESTRUCTION = "205"  # 销毁出库 destroyed, with reason, executor and supervisor


ACTIONS: dict[DownstreamBill, Action] = {
    DownstreamBill.RECEIPT: Action.RECEIVE,
    DownstreamBill.DISTRIBUTION: Action.SHIP,
    DownstreamBill.VACCINATION: Action.USE,
    DownstreamBill.VACCINATION_UNDO: Action.UNDO_USE,
    DownstreamBill.RETURN: Action.RETURN,
    DownstreamBill.DAMAGE: Action.DAMAGE,
    DownstreamBill.SCRAP: Action.DESTROY,
    DownstreamBill.DESTRUCTION: Action.DESTROY,
}
"""How each step moves a code's status (one table, in vaxtrace.core.status)."""

NEEDS_COUNTERPARTY = frozenset(
    {DownstreamBill.RECEIPT, DownstreamBill.DISTRIBUTION, DownstreamBill.RETURN}
)

NEEDS_REASON = {
    DownstreamBill.DAMAGE: "damage report",
    DownstreamBill.SCRAP: "scrap",
    DownstreamBill.DESTRUCTION: "destruction",
}


class Verification(StrEnum):
    """收货核验状态 of a receiving note."""

    VERIFIED = "verified"
    FAILED = "failed"


class DownstreamEvent(Model):
    """One step of a province on a set of codes, as reported to the codes' owners."""

    bill_type: DownstreamBill = Field(description="单据类型 bill type")
    document_no: DocumentNo = Field(description="单据号 the province's document number")
    business_time: BusinessTime = Field(description="业务发生时间 business time")
    org_uscc: Uscc = Field(description="业务单位 the CDC or vaccination site that did it")
    counterparty_uscc: Uscc | None = Field(
        default=None,
        description="对方单位: the shipper of a receipt, the receiver of a distribution or return",
    )
    codes: tuple[str, ...] = Field(
        min_length=1, max_length=100_000, description="追溯码 codes of any level"
    )
    shipping_note_no: str | None = Field(
        default=None, max_length=60, description="发货单号 the note a receipt answers"
    )
    verification: Verification | None = Field(
        default=None, description="核验状态 of a receipt: verified, or failed with a reason"
    )
    expected_quantity: Count | None = Field(default=None, description="应收数量(剂)")
    actual_quantity: Count | None = Field(default=None, description="实收数量(剂)")
    return_reason: ReturnReason | None = Field(default=None, description="退货原因")
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="原因: why a receipt failed, what damaged, why scrapped or destroyed",
    )
    executor: str | None = Field(
        default=None, max_length=200, description="执行人 who destroyed the goods (205)"
    )
    supervisor: str | None = Field(
        default=None, max_length=200, description="监督人 who supervised the destruction (205)"
    )
    place: str | None = Field(default=None, max_length=200, description="销毁地点 (205)")
    undoes_document_no: DocumentNo | None = Field(
        default=None, description="the vaccination (322) an undo (323) takes back"
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        bill = self.bill_type
        if bill in NEEDS_COUNTERPARTY and self.counterparty_uscc is None:
            raise ValueError(f"a {bill.name.lower()} ({bill}) names its counterparty_uscc")
        if bill is DownstreamBill.RECEIPT and (
            self.shipping_note_no is None or self.verification is None
        ):
            raise ValueError("a receipt (107) names its shipping_note_no and verification")
        if bill is DownstreamBill.RETURN and self.return_reason is None:
            raise ValueError("a return (202) needs a return_reason")
        if bill in NEEDS_REASON and not self.reason:
            raise ValueError(f"a {NEEDS_REASON[bill]} ({bill}) needs a reason")
        if bill is DownstreamBill.DESTRUCTION and not (self.executor and self.supervisor):
            raise ValueError("a destruction (205) names its executor and supervisor")
        if bill is DownstreamBill.VACCINATION_UNDO and not (
            self.reason and self.undoes_document_no
        ):
            raise ValueError("an undo (323) names the vaccination it undoes and why")
        return self

    def only(self, codes: tuple[str, ...]) -> DownstreamEvent:
        """The same step for a subset of its codes: the part one owner receives."""
        return self.model_copy(update={"codes": codes})


def read_event(payload: Any) -> DownstreamEvent:
    """The report an envelope's payload carries, or a refusal naming the field at fault."""
    return read_document(payload, "downstream_event", DownstreamEvent)
