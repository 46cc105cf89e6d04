"""更正 corrections: a new event that corrects the header of an earlier one."""

from __future__ import annotations

from pydantic import Field, field_validator

from vaxtrace.core.datasets.elements import NonEmpty, RecordId, Write

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
