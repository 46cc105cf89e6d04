"""Basic data the collaborative platform (协同服务平台) keeps: organisations' legal names,
connected systems, and coding rules (编码规则) that say which system holds which codes."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, HttpUrl, field_validator, model_validator

from vaxtrace.core.datasets.basic_data import CodeFamilyName, Organisation, OrgKind
from vaxtrace.core.datasets.elements import Model
from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import validate_uscc
from vaxtrace.core.reasons import Reason

LEGAL_FORMS = (
    "有限责任公司",
    "股份有限公司",
    "有限公司",
    "公司",
    "集团",
    "中心",
    "医院",
    "卫生院",
    "卫生服务站",
    "卫生室",
    "门诊部",
    "诊所",
    "研究所",
    "研究院",
    "所",
    "院",
    "局",
    "委员会",
    "站",
    "厂",
    "合作社",
)
"""Endings of full legal names (全称); a name without one is taken for an abbreviation (简称),
a known cause of failed docking between systems."""

Uscc = Annotated[str, AfterValidator(validate_uscc)]


def check_legal_name(name: str) -> str:
    """Refuse an abbreviated organisation name, saying why."""
    if not name.endswith(LEGAL_FORMS):
        raise DomainError(
            Reason.NAME_ABBREVIATED,
            f"{name!r} does not end in a legal form (…公司, …中心, …医院, …局 …): "
            "register the full legal name (全称), not an abbreviation",
            field="name",
        )
    return name


class RegisteredOrganisation(Organisation):
    """An organisation as the platform registers it: full legal name required."""

    @field_validator("name")
    @classmethod
    def _full_name(cls, value: str) -> str:
        return check_legal_name(value)


class SystemRole(StrEnum):
    TRACE = "trace"
    IMMUNIZATION = "immunization"
    SUPERVISION = "supervision"


class ConnectedSystem(Model):
    """A system connected to the platform (接入系统)."""

    system_id: str = Field(
        min_length=3,
        max_length=60,
        pattern=r"^[a-z0-9][a-z0-9\-]+$",
        description="系统标识 platform-assigned id",
    )
    name: str = Field(min_length=2, max_length=200, description="系统名称")
    role: SystemRole
    operator_uscc: Uscc = Field(description="运营单位 organisation running the system")
    endpoint: HttpUrl = Field(description="接口地址 base URL of its API")
    represents: tuple[Uscc, ...] = Field(
        min_length=1, description="organisations it may submit data for (e.g. the MAHs it serves)"
    )
    exchange_key: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9+/]{43}=$",
        description="base64 of the raw Ed25519 public key its exchange envelopes are signed with",
    )
    log_key: str | None = Field(
        default=None,
        max_length=300,
        pattern=r"^[^+\s]{1,200}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44,}={0,2}$",
        description="its tamper-evident log's verifier key (`vaxtrace ledger key` prints it): "
        "the platform witnesses that log and lists its cosigned checkpoints",
    )

    @classmethod
    def named_by_id(
        cls,
        system_id: str,
        role: SystemRole | str,
        operator_uscc: str,
        endpoint: str,
        represents: tuple[str, ...],
        exchange_key: str | None = None,
        log_key: str | None = None,
    ) -> ConnectedSystem:
        """A system whose name is its id (as the CLI and the simulator register them)."""
        return cls(
            system_id=system_id,
            name=system_id,
            role=role,
            operator_uscc=operator_uscc,
            endpoint=endpoint,
            represents=represents,
            exchange_key=exchange_key,
            log_key=log_key,
        )


class FeedKind(StrEnum):
    """What an entry of the registry's change feed (基础数据变更) is about."""

    ORGANISATION = "organisation"
    SYSTEM = "system"
    PRODUCT = "product"


class RuleEntryKind(StrEnum):
    IDENTIFICATION_CODE = "identification_code"  # one 7-digit code or one GTIN-14
    GS1_COMPANY_PREFIX = "gs1_company_prefix"  # every GTIN under a company prefix


class RegisteredCodingRule(Model):
    """编码规则 as registered with the platform: what a MAH's codes look like, held where."""

    mah_uscc: Uscc
    family: CodeFamilyName
    kind: RuleEntryKind = RuleEntryKind.IDENTIFICATION_CODE
    entries: tuple[str, ...] = Field(
        min_length=1, max_length=10_000, description="identification codes or GS1 company prefixes"
    )
    serial_format: str = Field(min_length=1, max_length=60)
    check_algorithm: str = Field(min_length=1, max_length=40)

    @model_validator(mode="after")
    def _entries_fit(self) -> Self:
        for entry in self.entries:
            if not entry.isdigit():
                raise ValueError(f"{entry!r}: digits only")
            if self.kind is RuleEntryKind.GS1_COMPANY_PREFIX:
                if self.family is not CodeFamilyName.GS1 or not 6 <= len(entry) <= 12:
                    raise ValueError(f"{entry!r}: a GS1 company prefix has 6–12 digits")
            elif self.family is CodeFamilyName.NMPA20 and (len(entry) != 7 or entry[0] != "8"):
                raise ValueError(
                    f"{entry!r}: a 20-digit family identification code is 7 digits beginning with 8"
                )
            elif self.family is CodeFamilyName.GS1 and len(entry) != 14:
                raise ValueError(f"{entry!r}: a GS1 identification code is a GTIN-14")
        if len(set(self.entries)) != len(self.entries):
            raise ValueError("an entry is listed twice")
        return self


def gtin_prefixes(gtin14: str) -> list[str]:
    """The company-prefix candidates of a GTIN-14: its GS1 key without indicator and check
    digit, cut at 6 to 12 digits, longest first."""
    body = gtin14[1:13]
    return [body[:n] for n in range(12, 5, -1)]


def check_served(
    org: Organisation, kinds: Collection[OrgKind], reason: Reason, serves: str
) -> None:
    """Refuse to register an organisation of a kind the node does not serve (``serves``: whom
    it does, in words)."""
    if org.kind not in kinds:
        raise DomainError(reason, f"{serves}, not a {org.kind.value}", field="kind")
