"""出入库 movements of codes into and out of an organisation's stock: shipping notes (发货单),
alone or uploaded several at once, sales returns and destruction."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from vaxtrace.core.datasets.elements import CodesWrite, Model, NonEmpty, Quantity, Uscc


class ShippingNote(CodesWrite):
    """201 销售出库 / 发货单: a MAH ships to a CDC."""

    consignee_uscc: Uscc = Field(description="收货单位 consignee")
    consignee_address: str = Field(default="", max_length=300, description="收货地址")
    shipper: NonEmpty = Field(description="发货人 shipper")
    distributor_uscc: Uscc | None = Field(default=None, description="配送单位 distributor")
    expected_quantity: Quantity = Field(description="应发数量(剂) doses on the note")


MAX_UPLOAD_CODES = 100_000
"""Codes one upload may list in all: as many as one document may."""


class ShippingNoteUpload(Model):
    """Several shipping notes (发货单) uploaded at once, e.g. by a MAH's ERP at the end of a
    picking wave: applied all or none, each note as if posted alone."""

    shipping_notes: list[ShippingNote] = Field(min_length=1, max_length=1_000)

    @field_validator("shipping_notes")
    @classmethod
    def _bounded(cls, notes: list[ShippingNote]) -> list[ShippingNote]:
        listed = sum(len(note.codes) for note in notes)
        if listed > MAX_UPLOAD_CODES:
            raise ValueError(
                f"the notes list {listed} codes; an upload may list {MAX_UPLOAD_CODES}"
            )
        ids = [note.client_document_id for note in notes]
        if len(set(ids)) != len(ids):
            raise ValueError("two notes share a client_document_id; each note needs its own")
        return notes


class ReturnReason(StrEnum):
    QUALITY = "quality"  # 质量问题
    DAMAGED = "damaged"  # 破损
    EXPIRED = "expired"  # 近效期/过期
    EXCESS = "excess"  # 多发/错发
    RECALL = "recall"  # 召回
    OTHER = "other"


class SalesReturn(CodesWrite):
    """103 销售退回入库: a CDC sends goods back to the MAH."""

    from_uscc: Uscc = Field(description="退货单位 returning organisation")
    reason_code: ReturnReason = Field(description="退货原因 reason code")


class Destruction(CodesWrite):
    """205 销毁出库 destruction: reason, executor and supervisor are mandatory."""

    reason: NonEmpty = Field(description="销毁原因")
    executor: NonEmpty = Field(description="执行人 executor")
    supervisor: NonEmpty = Field(description="监督人 supervisor")
    place: str = Field(default="", max_length=200, description="销毁地点")
