"""Identifiers around a trace code: organisation, person, drug and place numbers.

* 统一社会信用代码 (unified social credit code, GB 32100): 18 characters, mod-31 check character;
* 居民身份证号码 (resident identity number, GB 11643): 18 characters, ISO 7064 MOD 11-2 check;
* 药品本位码 (drug standard code): 14 digits beginning ``86``, GS1-style mod-10 check;
* 行政区划代码 (administrative division code, GB/T 2260): 6 digits, province 2 + city 2 + county 2.

Check algorithms come from ``python-stdnum``; this module only adds the domain's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stdnum import ean
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from vaxtrace.core.errors import DomainError


class IdentifierError(DomainError):
    """An identifier that fails its format or check; ``reason`` is machine-readable."""


def _check(module: object, value: str, what: str, reason_prefix: str) -> str:
    try:
        return str(module.validate(value))  # type: ignore[attr-defined]
    except ValidationError as exc:
        kind = type(exc).__name__.removeprefix("Invalid").lower()  # checksum/length/format
        raise IdentifierError(f"{reason_prefix}_{kind}", f"{what} {value!r}: {exc}") from exc


def validate_uscc(value: str) -> str:
    """Return the compact USCC or raise; the last character is the GB 32100 check character."""
    return _check(uscc, value, "unified social credit code", "uscc")


def validate_resident_id(value: str) -> str:
    """Return the compact resident identity number or raise (birth date and check are verified)."""
    return _check(ric, value, "resident identity number", "resident_id")


def validate_drug_standard_code(value: str) -> str:
    """Return a 14-digit 药品本位码 (``86`` + 12 digits, mod-10 check) or raise."""
    compact = value.strip()
    if len(compact) != 14 or not compact.isdigit():
        raise IdentifierError(
            "drug_standard_code_length", f"drug standard code {value!r}: 14 digits expected"
        )
    if not compact.startswith("86"):
        raise IdentifierError(
            "drug_standard_code_format", f"drug standard code {value!r}: must begin with 86"
        )
    return _check(ean, compact, "drug standard code", "drug_standard_code")


class DivisionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


NATIONAL_DIVISION = "000000"
"""The jurisdiction of a national regulator (国家药品监督管理局): the whole country. Not a
GB/T 2260 code: no place has it."""


@dataclass(frozen=True, slots=True, order=True)
class DivisionCode:
    """A GB/T 2260 administrative division code (行政区划代码)."""

    value: str

    def __post_init__(self) -> None:
        if len(self.value) != 6 or not (self.value.isascii() and self.value.isdigit()):
            raise IdentifierError("division_code_format", f"division code {self.value!r}: 6 digits")
        if self.value[:2] == "00":
            raise IdentifierError(
                "division_code_format", f"division code {self.value!r}: no province"
            )
        if self.value[2:4] == "00" and self.value[4:] != "00":
            raise IdentifierError(
                "division_code_format", f"division code {self.value!r}: county without a city"
            )

    @property
    def level(self) -> DivisionLevel:
        if self.value[2:] == "0000":
            return DivisionLevel.PROVINCE
        if self.value[4:] == "00":
            return DivisionLevel.CITY
        return DivisionLevel.COUNTY

    @property
    def province(self) -> DivisionCode:
        return DivisionCode(self.value[:2] + "0000")

    @property
    def city(self) -> DivisionCode | None:
        return None if self.level is DivisionLevel.PROVINCE else DivisionCode(self.value[:4] + "00")

    @property
    def county(self) -> DivisionCode | None:
        return self if self.level is DivisionLevel.COUNTY else None

    @property
    def area_prefix(self) -> str:
        """The digits that name this place, which every place inside it starts with: 2 for a
        province, 4 for a city, 6 for a county (for ``LIKE 'prefix%'`` too)."""
        width = {DivisionLevel.PROVINCE: 2, DivisionLevel.CITY: 4, DivisionLevel.COUNTY: 6}
        return self.value[: width[self.level]]

    def is_within(self, area: DivisionCode) -> bool:
        """True when this place lies inside ``area`` (a place is within itself)."""
        return self.value.startswith(area.area_prefix)

    def __str__(self) -> str:
        return self.value
