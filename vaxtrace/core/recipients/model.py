"""What a request about a child carries, and the rules it must keep (pure).

A child (受种者) is registered by the vaccination site that manages it: name, sex, birth date,
birth place (a GB/T 2260 division code), one to four guardians with a phone each, the
vaccination card number (接种证号) and, optionally, the resident id (居民身份证号码), checked
with ``stdnum.cn.ric`` and required to agree with the birth date and sex. A child's id is its
pseudonymous reference: ``ch-`` and 16 hex digits, random, naming no personal data.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from vaxtrace.core.datasets.elements import DivisionText, Model, NonEmpty, Uscc
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

CHILD_ID_PREFIX = "ch-"
CHILD_ID = re.compile(r"^ch-[0-9a-f]{16}$")


def new_child_id() -> str:
    """A fresh pseudonymous reference: random, so it says nothing of the child."""
    return CHILD_ID_PREFIX + secrets.token_hex(8)


def is_child_id(value: str | None) -> bool:
    """Whether ``value`` has the form of a child's id (a vaccinee reference that names one)."""
    return value is not None and CHILD_ID.match(value) is not None


def _phone(value: str) -> str:
    """A mainland mobile (11 digits from 1) or a fixed line with its area code (0 and 9 to 11
    digits), separators dropped."""
    digits = re.sub(r"[\s\-()+]", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if re.fullmatch(r"1[3-9]\d{9}", digits) or re.fullmatch(r"0\d{9,11}", digits):
        return digits
    raise DomainError(Reason.INVALID_PHONE, f"not a phone number: {value!r}", field="phone")


def _resident_id(value: str) -> str:
    try:
        return str(ric.validate(value))
    except ValidationError as exc:
        raise DomainError(
            Reason.INVALID_RESIDENT_ID,
            f"not a valid resident id (GB 11643): {exc}",
            field="resident_id",
        ) from exc


def _card_no(value: str) -> str:
    if not re.fullmatch(r"[0-9A-Za-z\-]{6,30}", value):
        raise DomainError(
            Reason.INVALID_CARD_NUMBER,
            "a vaccination card number is 6 to 30 letters, digits or '-'",
            field="card_no",
        )
    return value.upper()


def _name(value: str) -> str:
    """A person's name, inner spaces dropped (张 三 is 张三); a middle dot kept (维吾尔族)."""
    joined = re.sub(r"\s+", "", value)
    if not joined:
        raise DomainError(Reason.MALFORMED_PAYLOAD, "a name is required", field="name")
    return joined


Phone = Annotated[str, AfterValidator(_phone), Field(description="手机或固定电话")]
PersonName = Annotated[
    str, Field(min_length=1, max_length=50, description="姓名"), AfterValidator(_name)
]
ResidentId = Annotated[
    str,
    Field(min_length=18, max_length=18, description="居民身份证号码 (optional)"),
    AfterValidator(_resident_id),
]
CardNo = Annotated[str, Field(max_length=30, description="接种证号"), AfterValidator(_card_no)]


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class Guardian(Model):
    """监护人: a parent or other guardian, with the phone a reminder reaches."""

    name: PersonName
    relation: str = Field(
        min_length=1, max_length=20, description="关系: mother, father, grandparent, …"
    )
    phone: Phone


class ChildRegistration(Model):
    """建档: a vaccination site registers a child it manages (its own; ``site_uscc`` may only
    name the registering site). When duplicate candidates are found the registration is
    refused with them (409 ``possible_duplicate``) unless ``confirm_not_duplicate`` says the
    staff checked them and the child is another."""

    name: PersonName
    sex: Sex = Field(description="M or F")
    birth_date: date = Field(description="出生日期")
    birth_division: DivisionText = Field(description="出生地 行政区划代码 (GB/T 2260)")
    guardians: tuple[Guardian, ...] = Field(min_length=1, max_length=4)
    card_no: CardNo
    resident_id: ResidentId | None = None
    site_uscc: Uscc | None = Field(
        default=None, description="接种单位 managing the child: yours (the default)"
    )
    confirm_not_duplicate: bool = Field(
        default=False, description="register even though duplicate candidates were answered"
    )

    def personal(self) -> dict[str, Any]:
        """The personal data, as kept and digested (no flags, no site)."""
        return personal_data(self.model_dump(mode="json"))


PERSONAL_FIELDS = ("name", "sex", "birth_date", "birth_division", "guardians", "card_no")


def personal_data(values: dict[str, Any]) -> dict[str, Any]:
    """The personal fields of a child (JSON-shaped), the resident id only when there is one."""
    kept = {name: values[name] for name in PERSONAL_FIELDS}
    kept["guardians"] = [
        {"name": g["name"], "relation": g["relation"], "phone": g["phone"]}
        for g in values["guardians"]
    ]
    if values.get("resident_id"):
        kept["resident_id"] = values["resident_id"]
    return kept


def personal_digest(personal: dict[str, Any]) -> str:
    """SHA-256 of the personal data in one canonical form (keys sorted, UTF-8): what the
    province's journal keeps instead of the data."""
    text = json.dumps(personal, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def check_registration(request: ChildRegistration, today: date) -> None:
    """The rules that need more than one field, or the date: a birth date not after today
    (China date) and a resident id that agrees with the birth date and sex."""
    if request.birth_date > today:
        raise DomainError(
            Reason.BIRTH_IN_FUTURE,
            f"birth date {request.birth_date} is after today ({today})",
            field="birth_date",
        )
    if request.resident_id is None:
        return
    if ric.get_birth_date(request.resident_id) != request.birth_date:
        raise DomainError(
            Reason.RESIDENT_ID_MISMATCH,
            "the resident id's birth date is not the child's",
            field="resident_id",
        )
    odd = int(request.resident_id[16]) % 2 == 1
    if odd != (request.sex is Sex.MALE):
        raise DomainError(
            Reason.RESIDENT_ID_MISMATCH,
            "the resident id's sex is not the child's",
            field="resident_id",
        )


class ConsentMethod(StrEnum):
    SIGNED_FORM = "signed_form"  # 书面同意
    IN_PERSON = "in_person"  # 现场口头同意, recorded by the staff
    ONLINE = "online"  # 线上确认


class Consent(Model):
    """知情同意: who agreed that the child's record moves, how and when."""

    given_by: PersonName
    relation: str = Field(min_length=1, max_length=20)
    method: ConsentMethod
    given_at: datetime = Field(description="with its timezone")
    reference: str | None = Field(
        default=None, max_length=100, description="the signed form's number, if any"
    )


class ChildMove(Model):
    """迁出 within the province: the managing site hands the child's record to another
    vaccination site of the province, with the guardian's consent."""

    to_site_uscc: Uscc = Field(description="the vaccination site that will manage the child")
    consent: Consent
    reason: NonEmpty | None = None


class ChildExport(Model):
    """迁出 to another province: the managing site exports the child's record as a document
    for the receiving province (carried by the guardian or the official channel, never by
    the traceability exchange); the child is then moved out here."""

    to_province: DivisionText = Field(description="the receiving province's division code")
    consent: Consent
    reason: NonEmpty | None = None


class ChildMerge(Model):
    """合并: a duplicate record of the same child is merged into the record kept, explicitly,
    by the staff of the site managing both."""

    duplicate_id: str = Field(pattern=CHILD_ID.pattern, description="the record merged away")
    reason: NonEmpty = Field(description="why they are the same child")
