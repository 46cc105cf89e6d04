"""What the CDCs and vaccination sites of a province write in its immunization system (省级免疫
规划信息系统), and the rules of the one-way chain between them.

Each write is a document with a client document id (a retry is applied once), a document number
and the business time; what it reports back to the codes' owners is a
:class:`vaxtrace.core.downstream.DownstreamEvent`. Who was vaccinated never leaves the province.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AliasChoices, Field

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.datasets.elements import CodesWrite, DocumentNo, Model, NonEmpty, Uscc, Write
from vaxtrace.core.datasets.movements import ReturnReason
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import DivisionCode
from vaxtrace.core.reasons import Reason

Scanned = Annotated[
    str,
    Field(
        min_length=1,
        max_length=300,
        description="追溯码 as scanned (GS1 element string, Digital Link) or typed",
    ),
]


ShipperUscc = Annotated[
    Uscc | None,
    Field(
        default=None,
        validation_alias=AliasChoices("shipper_uscc", "mah_uscc"),
        description="发货单位 the MAH of a shipping note or the CDC of a distribution; needed "
        "only when two shippers' notes to you share a number (``mah_uscc`` is read too)",
    ),
]


class ReceiptScan(Model):
    """扫码验收: one code scanned at the door against a shipping note or a distribution."""

    code: Scanned
    shipper_uscc: ShipperUscc = None


class ReceiptConfirmation(Write):
    """收货确认: confirm what was scanned of a note since its last confirmation."""

    shipper_uscc: ShipperUscc = None


class ReceivingNote(ReceiptConfirmation):
    """107 供应入库 / 收货单: a CDC receives the goods of a MAH's shipping note (发货单), a CDC
    or a vaccination site those of a CDC's distribution (209)."""

    shipping_note_no: str = Field(min_length=1, max_length=60, description="发货单号")


class Distribution(CodesWrite):
    """209 供应出库: a CDC supplies a lower CDC or a vaccination site (接种单位)."""

    receiver_uscc: Uscc = Field(description="收货单位 a lower CDC or a vaccination site")


VaccineeRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="受种者编码: an opaque reference into the site's own records; it stays in "
        "the province and is never reported",
    ),
]


class Vaccination(Write):
    """322 接种: one dose is used at a vaccination site. With the dose's product, MAH, batch and
    expiry (from the province's records) it is the vaccination record the law asks for
    (疫苗管理法 Art. 46)."""

    code: Scanned
    vaccinee_ref: VaccineeRef | None = None
    vaccinator: str = Field(
        min_length=1, max_length=100, description="接种人员: the site's staff member who gave it"
    )
    dose_number: int | None = Field(
        default=None, ge=1, le=10, description="剂次: the dose's number in its series"
    )


class VaccinationUndo(Write):
    """接种冲销: the user who recorded a vaccination takes it back within the undo window (a
    wrong scan); a new step that travels like the original, the dose in stock again."""

    vaccination_document_no: DocumentNo = Field(description="the vaccination's document number")
    reason: NonEmpty = Field(description="why the record was wrong")


class DoseCheck(Model):
    """接种前核验: a vaccination site asks whether a dose may be given here and now."""

    code: Scanned


class GoodsReturn(CodesWrite):
    """202 退货出库: goods go back up the chain."""

    counterparty_uscc: Uscc = Field(
        description="退货接收单位: a CDC above, or the MAH that supplied the goods"
    )
    reason_code: ReturnReason = Field(description="退货原因 reason code")


class DamageReport(CodesWrite):
    """215 损坏出库: broken, frozen or lost."""

    reason: NonEmpty = Field(description="损坏原因 e.g. broken vial, frozen, lost")


class StockState(StrEnum):
    """Where a code the province received stands (库存状态)."""

    IN_STOCK = "in_stock"  # 在库 at its holder
    IN_TRANSIT = "in_transit"  # 在途 distributed to its holder, its receipt not confirmed yet
    USED = "used"  # 已接种
    DAMAGED = "damaged"  # 已损坏
    RETURNED = "returned"  # 已退回 to the MAH, out of the province
    SCRAPPED = "scrapped"  # 已报废 (216)
    DESTROYED = "destroyed"  # 已销毁 (205)


OUT_OF_STOCK_REASONS = {
    StockState.IN_TRANSIT: Reason.IN_TRANSIT,
    StockState.USED: Reason.ALREADY_USED,
    StockState.DAMAGED: Reason.DAMAGED,
    StockState.RETURNED: Reason.RETURNED,
    StockState.SCRAPPED: Reason.SCRAPPED,
    StockState.DESTROYED: Reason.DESTROYED,
}
"""Why a code not in stock cannot move, by its state."""

PROVINCE_KINDS = (OrgKind.CDC, OrgKind.POV)
"""The organisations a provincial immunization system serves."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A CDC or vaccination site of the province, as the chain's rules see it."""

    uscc: str
    kind: OrgKind
    division: DivisionCode


def check_supply(supplier: Unit, receiver: Unit) -> None:
    """Only a CDC supplies, and only a lower CDC or a vaccination site in its jurisdiction."""
    field = "receiver_uscc"
    if supplier.kind is not OrgKind.CDC:
        raise DomainError(Reason.SUPPLIER_NOT_CDC, "only a CDC (疾控机构) supplies others")
    if receiver.uscc == supplier.uscc:
        raise DomainError(Reason.SUPPLY_TO_SELF, "a CDC does not supply itself", field=field)
    if not receiver.division.is_within(supplier.division):
        raise DomainError(
            Reason.OUTSIDE_JURISDICTION,
            f"{receiver.uscc} ({receiver.division}) is outside the supplier's area "
            f"({supplier.division})",
            field=field,
        )
    if receiver.kind is OrgKind.CDC and receiver.division == supplier.division:
        raise DomainError(
            Reason.NOT_A_LOWER_CDC, "a CDC supplies only CDCs of a lower level", field=field
        )


def check_return_within(returner: Unit, receiver: Unit) -> None:
    """Goods returned inside the province go up the chain: to a CDC whose area holds the
    returner's (a vaccination site's CDC, a county CDC's city CDC, …)."""
    field = "counterparty_uscc"
    if receiver.uscc == returner.uscc:
        raise DomainError(Reason.RETURN_TO_SELF, "goods are returned to someone else", field=field)
    if receiver.kind is not OrgKind.CDC:
        raise DomainError(
            Reason.RETURN_NOT_TO_CDC, "goods go back to a CDC or to the MAH", field=field
        )
    above = returner.division.is_within(receiver.division) and (
        returner.kind is OrgKind.POV or receiver.division != returner.division
    )
    if not above:
        raise DomainError(
            Reason.NOT_UP_THE_CHAIN,
            f"{receiver.uscc} ({receiver.division}) is not above {returner.uscc} "
            f"({returner.division})",
            field=field,
        )


# --- disposal: 216 scrap and 205 destruction of what a unit holds -------------------------


class Scrap(CodesWrite):
    """216 报废出库: goods a CDC or vaccination site holds are written off (expired, locked
    abnormal, out of the cold chain…) and leave its stock for good."""

    reason: NonEmpty = Field(description="报废原因 e.g. expired, abnormal after an excursion")


DISPOSABLE_STATES = {
    DownstreamBill.SCRAP: frozenset({StockState.IN_STOCK}),
    DownstreamBill.DESTRUCTION: frozenset({StockState.IN_STOCK, StockState.DAMAGED}),
}
"""What a unit may scrap or destroy of what it holds: goods in stock; and, to destroy, goods
it reported damaged (215) too (the destruction 205 takes is the datasets'
:class:`vaxtrace.core.datasets.movements.Destruction`: reason, executor and supervisor)."""
