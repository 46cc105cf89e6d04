"""数据元: the data elements every data set of NMPAB/T 1004 is built from (checked codes,
document ids and numbers, bounded counts), the base model of every data set, and the header
every write carries (单据头)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from vaxtrace.core.identifiers import DivisionCode, validate_uscc
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


class Model(BaseModel):
    """The base of every data set: unknown fields refused, text stripped, frozen once read."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


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
