"""基础信息 basic data: organisations (企业/机构), vaccine products with their packaging
levels, and the coding rules a MAH registers."""

from __future__ import annotations

from datetime import date
from enum import IntEnum, StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from vaxtrace.core.datasets.elements import Model, NonEmpty, Uscc
from vaxtrace.core.identifiers import (
    NATIONAL_DIVISION,
    DivisionCode,
    validate_drug_standard_code,
)


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


def _division_or_national(value: str) -> str:
    return value if value == NATIONAL_DIVISION else DivisionCode(value).value


class Organisation(Model):
    """企业/机构基本信息 enterprise or institution."""

    uscc: Uscc
    name: str = Field(min_length=4, max_length=200, description="单位名称 full legal name")
    kind: OrgKind = Field(description="单位类型 kind")
    division_code: Annotated[str, AfterValidator(_division_or_national)] = Field(
        description="行政区划代码 GB/T 2260 division code; 000000 for the national regulator "
        "(国家药品监督管理局), whose jurisdiction is the whole country"
    )
    address: str = Field(default="", max_length=300, description="地址 address")
    licences: tuple[Licence, ...] = Field(default=(), description="许可证 licences")

    @model_validator(mode="after")
    def _only_a_regulator_is_national(self) -> Self:
        if self.division_code == NATIONAL_DIVISION and self.kind is not OrgKind.REGULATOR:
            raise ValueError(
                f"division code 000000 (the whole country) is the national regulator's only: "
                f"a {self.kind.value} is in a province"
            )
        return self


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
