"""数据元: the data elements every data set of NMPAB/T 1004 is built from (checked codes,
document ids and numbers, bounded counts), the base model of every data set, and the header
every write carries (单据头)."""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails

from vaxtrace.core.errors import DomainError
from vaxtrace.core.identifiers import DivisionCode, validate_uscc
from vaxtrace.core.reasons import Reason
from vaxtrace.core.times import BusinessTime

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


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1c\x1e\x1f\x7f-\x9f]")
"""What no text field takes: C0 controls but tab, line breaks and GS (the GS1 separator a
scanner sends inside a code), DEL and C1 controls."""


def _number_type(annotation: Any) -> str | None:
    """The pydantic error type of a field that takes a number and not a boolean
    (``float_type`` for ``float`` or ``float | None``, ``int_type`` for an annotated ``int``);
    None for any other field."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _number_type(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        args = get_args(annotation)
        kinds = [kind for arg in args if (kind := _number_type(arg))]
        return kinds[0] if kinds and bool not in args else None
    return {int: "int_type", float: "float_type"}.get(annotation)


def _refusal(reason: Reason, message: str, loc: tuple[str | int, ...], value: Any) -> Any:
    error = DomainError(reason, message, field=".".join(str(part) for part in loc))
    return InitErrorDetails(type="value_error", loc=loc, input=value, ctx={"error": error})


def _not_a_number(error_type: str, key: str, value: Any) -> Any:
    """A boolean refused as pydantic's strict mode refuses it where a number is due."""
    return InitErrorDetails(type=error_type, loc=(key,), input=value)


def _texts(key: str, value: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """The text of a field, or each text of a list, where it sits."""
    if isinstance(value, str):
        return [((key,), value)]
    if isinstance(value, list | tuple):
        return [((key, i), item) for i, item in enumerate(value) if isinstance(item, str)]
    return []


def _text_refusals(key: str, value: Any) -> list[Any]:
    """A refusal of each text of a field (or of a list) that holds a control character."""
    texts = _texts(key, value)
    if not CONTROL_CHARACTERS.search("".join(text for _, text in texts)):
        return []  # one pass over a list of 100,000 codes, not 100,000
    return [
        _refusal(Reason.CONTROL_CHARACTER, "text may not hold control characters", loc, text)
        for loc, text in texts
        if CONTROL_CHARACTERS.search(text)
    ]


class Model(BaseModel):
    """The base of every data set: unknown fields refused, text stripped, frozen once read; a
    number is a number (never ``true`` or ``false``), text holds no control characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    _numbers: ClassVar[dict[str, str]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._numbers = {
            field.alias or name: kind
            for name, field in cls.model_fields.items()
            if (kind := _number_type(field.annotation))
        }

    @model_validator(mode="before")
    @classmethod
    def _plain_input(cls, data: Any) -> Any:
        """Refuse, naming the field, a boolean sent as a number and text with a control
        character, which pydantic would take (``false`` as 0.0, a NUL as any character)."""
        if not isinstance(data, dict):
            return data
        refusals = [
            _not_a_number(kind, key, value)
            for key, kind in cls._numbers.items()
            if isinstance(value := data.get(key), bool)
        ]
        for key, value in data.items():
            refusals += _text_refusals(key, value)
        if refusals:
            raise ValidationError.from_exception_data(cls.__name__, refusals)
        return data


class Write(Model):
    """Every write carries a client document id and the business time it records."""

    client_document_id: DocumentId
    business_time: BusinessTime = Field(description="业务发生时间 business time")
    document_no: DocumentNo
    source_document: str | None = Field(
        default=None, max_length=120, description="来源单据 the document this step follows from"
    )


class CodesWrite(Write):
    """A write on a list of trace codes (追溯码) of any level."""

    codes: tuple[str, ...] = Field(
        min_length=1, max_length=100_000, description="追溯码 codes of any level"
    )


def either(first: object, second: object, rule: str) -> None:
    """Refuse (as a validation error saying ``rule``) both or neither of two fields given."""
    if (first is None) == (second is None):
        raise ValueError(rule)
