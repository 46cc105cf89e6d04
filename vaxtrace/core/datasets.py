"""Data sets of NMPAB/T 1004 that a trace system (疫苗追溯系统) keeps, as typed models.

Field names are English; each field's description carries the standard's Chinese label. These
models are the validation layer for the API, the CLI import and the simulator alike.
"""

from __future__ import annotations

from datetime import date
from enum import IntEnum, StrEnum
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from vaxtrace.core.identifiers import DivisionCode, validate_drug_standard_code, validate_uscc
from vaxtrace.core.times import BusinessDate, BusinessTime

MAX_QUANTITY = 2**31 - 1
"""The most a quantity (doses, units) may be: what a 32-bit INTEGER column holds."""
MAX_ID = 2**63 - 1
"""The largest id, sequence number or cursor: what a BIGINT column holds."""

Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY)]
"""A positive count of doses or units."""
Count = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
"""A count of doses or units, zero allowed."""
RecordId = Annotated[int, Field(gt=0, le=MAX_ID)]
"""An id a node gave a record (an event id, a log index)."""

Uscc = Annotated[
    str,
    AfterValidator(validate_uscc),
    Field(description="统一社会信用代码 unified social credit code (GB 32100 check)"),
]
DocumentId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="client document id (客户端单据标识): a retry with the same id is applied once",
    ),
]
NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]
DivisionText = Annotated[str, AfterValidator(lambda value: DivisionCode(value).value)]
"""A GB/T 2260 division code (行政区划代码), checked."""
DocumentNo = Annotated[
    str, Field(min_length=1, max_length=60, description="单据号 document number")
]
"""A business document's number, as every role stores it (60 characters at most)."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


# --- basic information (基础信息) ---------------------------------------------------------


class OrgKind(StrEnum):
    MAH = "mah"  # 疫苗上市许可持有人
    DISTRIBUTOR = "distributor"  # 配送单位
    CDC = "cdc"  # 疾病预防控制机构
    POV = "pov"  # 接种单位
    REGULATOR = "regulator"  # 药品监督管理部门


class Licence(Model):
    kind: NonEmpty = Field(description="许可证类型 licence type")
    number: NonEmpty = Field(description="许可证编号 licence number")
    valid_until: date = Field(description="有效期至 valid until")


class Organisation(Model):
    """企业/机构基本信息 enterprise or institution."""

    uscc: Uscc
    name: str = Field(min_length=4, max_length=200, description="单位名称 full legal name")
    kind: OrgKind = Field(description="单位类型 kind")
    division_code: DivisionText = Field(description="行政区划代码 GB/T 2260 division code")
    address: str = Field(default="", max_length=300, description="地址 address")
    licences: tuple[Licence, ...] = Field(default=(), description="许可证 licences")


class CodeFamilyName(StrEnum):
    NMPA20 = "nmpa20"
    GS1 = "gs1"


class PackagingLevel(IntEnum):
    DOSE = 1  # 最小销售包装
    BOX = 2  # 中包装
    CASE = 3  # 外箱


class LevelSpec(Model):
    """One packaging level of a product: its identification code and how many units below."""

    level: PackagingLevel = Field(description="包装级别 packaging level (1 dose, 2 box, 3 case)")
    identification_code: str = Field(
        description="药品标识码: 7 digits (20-digit family) or a GTIN-14 (GS1), one per level"
    )
    children: int = Field(
        default=0, ge=0, le=100_000, description="每件含下级包装数 units of the level below"
    )


class VaccineProduct(Model):
    """疫苗产品基本信息 vaccine product."""

    product_code: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="产品编号 the MAH's product code",
    )
    mah_uscc: Uscc
    generic_name: NonEmpty = Field(description="通用名称 generic name")
    trade_name: str = Field(default="", max_length=200, description="商品名称 trade name")
    english_name: str = Field(default="", max_length=200, description="英文名称 English name")
    drug_standard_code: str | None = Field(default=None, description="药品本位码")
    dosage_form: NonEmpty = Field(description="剂型 dosage form")
    strength: NonEmpty = Field(description="规格 strength")
    pack_spec: NonEmpty = Field(description="包装规格 pack specification")
    shelf_life_months: int = Field(ge=1, le=120, description="有效期(月) shelf life in months")
    approval_number: NonEmpty = Field(description="批准文号 approval number")
    nip: bool = Field(description="是否免疫规划疫苗 in the national immunization programme")
    manufacturer: NonEmpty = Field(description="生产企业 manufacturer")
    storage_condition: str = Field(default="2-8°C", description="贮藏条件 storage condition")
    imported: bool = Field(default=False, description="是否进口 imported")
    family: CodeFamilyName = Field(description="追溯码类型 code family of this product")
    levels: tuple[LevelSpec, ...] = Field(min_length=1, max_length=3)

    @field_validator("drug_standard_code")
    @classmethod
    def _standard_code(cls, value: str | None) -> str | None:
        return None if value is None else validate_drug_standard_code(value)

    @model_validator(mode="after")
    def _levels_consistent(self) -> Self:
        numbers = [spec.level for spec in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("levels must be 1, 1–2 or 1–3, in order")
        for spec in self.levels:
            if spec.level > 1 and spec.children < 1:
                raise ValueError(f"level {spec.level} must say how many units it holds")
            if spec.level == 1 and spec.children != 0:
                raise ValueError("a dose (level 1) holds no units")
            _check_identification_code(self.family, spec.identification_code)
        if len({s.identification_code for s in self.levels}) != len(self.levels):
            raise ValueError("each packaging level needs its own identification code")
        return self

    def doses_per(self, level: int) -> int:
        """Doses in one unit of ``level`` when packed full (e.g. a case = 50 × 10 = 500)."""
        doses = 1
        for spec in self.levels:
            if spec.level > level:
                break
            doses *= max(spec.children, 1)
        return doses


def _check_identification_code(family: CodeFamilyName, value: str) -> None:
    from stdnum import ean

    if family is CodeFamilyName.NMPA20:
        if len(value) != 7 or not value.isdigit() or not value.startswith("8"):
            raise ValueError(f"identification code {value!r}: 7 digits beginning with 8")
    elif len(value) != 14 or not ean.is_valid(value):
        raise ValueError(f"identification code {value!r}: a GTIN-14 with a valid check digit")


class CodingRule(Model):
    """编码规则: how a MAH's codes are built, registered so codes stay unique and resolvable."""

    family: CodeFamilyName = Field(description="追溯码类型")
    identification_codes: tuple[str, ...] = Field(min_length=1, description="药品标识码")
    serial_format: str = Field(
        min_length=1, max_length=60, description="序列号格式 e.g. 'N9' or 'X..20'"
    )
    check_algorithm: str = Field(
        min_length=1, max_length=40, description="校验算法 e.g. VT-MOD97-10x2, GS1-MOD10"
    )


# --- production (生产) ------------------------------------------------------------------


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


class Write(Model):
    """Every write carries a client document id and the business time it records."""

    client_document_id: DocumentId
    business_time: BusinessTime = Field(description="业务发生时间 business time")
    document_no: DocumentNo
    source_document: str | None = Field(
        default=None, max_length=120, description="来源单据 the document this step follows from"
    )


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
        if (self.cases is None) == (self.relations is None):
            raise ValueError("give either cases (generate codes) or relations (upload)")
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


class CodesWrite(Write):
    codes: tuple[str, ...] = Field(
        min_length=1, max_length=100_000, description="追溯码 codes of any level"
    )


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


class RecallLevel(IntEnum):
    ONE = 1
    TWO = 2
    THREE = 3


class Recall(Write):
    """召回 recall by batch."""

    recall_no: NonEmpty = Field(description="召回编号")
    batch_nos: tuple[str, ...] = Field(min_length=1, description="召回批号")
    reason: NonEmpty = Field(description="召回原因")
    level: RecallLevel = Field(description="召回级别 1/2/3")
    ordered: bool = Field(default=False, description="责令召回 (else 主动召回)")
    mock: bool = Field(default=False, description="模拟召回 (no status change)")
    range: Literal["national", "province", "city"] = Field(description="召回范围")
    public: bool = Field(default=True, description="是否公开")


class RecallClosure(Write):
    """召回完成: the MAH closes a recall with its summary (召回总结). Goods of the batches still
    in the field stay stopped: a closed recall frees nothing."""

    recall_no: NonEmpty = Field(description="召回编号")
    summary: NonEmpty = Field(description="召回总结 what was recalled, returned and destroyed")


class RecallReceipt(CodesWrite):
    """108 召回入库: recalled goods come back."""

    recall_no: NonEmpty
    from_uscc: Uscc


class Destruction(CodesWrite):
    """205 销毁出库 destruction: reason, executor and supervisor are mandatory."""

    reason: NonEmpty = Field(description="销毁原因")
    executor: NonEmpty = Field(description="执行人 executor")
    supervisor: NonEmpty = Field(description="监督人 supervisor")
    place: str = Field(default="", max_length=200, description="销毁地点")


class LockKind(StrEnum):
    PENDING = "pending"  # 待定: quality under review
    TO_BE_RECALLED = "to_be_recalled"  # 待召回: the MAH will recall
    ABNORMAL = "abnormal"  # 异常: may only be returned and destroyed


class _CodesOrBatches(Write):
    codes: tuple[str, ...] | None = Field(
        default=None, min_length=1, max_length=100_000, description="追溯码 codes of any level"
    )
    batch_nos: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="批号 whole batches"
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.codes is None) == (self.batch_nos is None):
            raise ValueError("give either codes or batch_nos")
        return self


class Lock(_CodesOrBatches):
    """锁定: hold codes or whole batches while quality is in doubt, with the evidence."""

    kind: LockKind = Field(description="锁定类型 pending / to_be_recalled / abnormal")
    reason: NonEmpty = Field(description="锁定原因 reason (mandatory)")
    evidence: str | None = Field(
        default=None,
        max_length=2000,
        description="证据 e.g. the temperature record or inspection report it rests on",
    )


class Unlock(_CodesOrBatches):
    """解锁: a pending (待定) review cleared; other locks resolve by recall or destruction."""

    reason: NonEmpty = Field(description="解锁原因 reason")


CORRECTABLE_FIELDS = frozenset({"document_no", "business_time", "source_document"})


class Correction(Write):
    """更正: a new event that corrects the header of an earlier one (history is never edited).

    Only the document header can be corrected this way; a wrong movement of codes is undone
    by the business step that reverses it (a return, an unpack), which the status table checks.
    """

    corrects_event_id: RecordId = Field(description="被更正事件 the event corrected")
    reason: NonEmpty = Field(description="更正原因")
    corrected: dict[str, str] = Field(
        min_length=1,
        description="corrected header fields: document_no, business_time, source_document",
    )

    @field_validator("corrected")
    @classmethod
    def _fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - CORRECTABLE_FIELDS
        if unknown:
            raise ValueError(
                f"cannot correct {', '.join(sorted(unknown))}; "
                f"correctable: {', '.join(sorted(CORRECTABLE_FIELDS))}"
            )
        return value


class Reading(Model):
    time: BusinessTime
    celsius: float = Field(ge=-90, le=80)


class TemperatureRecord(Write):
    """温度记录 storage or transport temperature record."""

    kind: Literal["storage", "transport"] = Field(description="储存/运输")
    equipment_id: NonEmpty = Field(description="设备编号 fridge, cold room or vehicle")
    related_document_no: str | None = Field(default=None, description="关联单据 e.g. 发货单号")
    start_time: BusinessTime
    end_time: BusinessTime
    readings: tuple[Reading, ...] = Field(min_length=1, max_length=200_000)

    @model_validator(mode="after")
    def _span(self) -> Self:
        if self.end_time < self.start_time:
            raise ValueError("end_time is before start_time")
        outside = [r for r in self.readings if not self.start_time <= r.time <= self.end_time]
        if outside:
            raise ValueError(f"{len(outside)} reading(s) fall outside start_time..end_time")
        return self

    @property
    def minimum(self) -> float:
        return min(r.celsius for r in self.readings)

    @property
    def maximum(self) -> float:
        return max(r.celsius for r in self.readings)
