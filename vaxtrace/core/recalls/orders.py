"""What a regulator sends: a recall it orders (责令召回) and the closing of a recall."""

from __future__ import annotations

from pydantic import Field

from vaxtrace.core.datasets.elements import DivisionText, DocumentId, Model, Uscc
from vaxtrace.core.datasets.recalls import RecallLevel
from vaxtrace.core.supervision import BatchNo


class RecallOrder(Model):
    """责令召回: a regulator orders a MAH to recall batches."""

    client_document_id: DocumentId | None = Field(
        default=None,
        description="the caller's own id of the order: sent again (a retry), the recall opened "
        "the first time is answered and no second one is opened",
    )
    mah_uscc: Uscc = Field(description="持有人 whose batches are recalled")
    batch_nos: tuple[BatchNo, ...] = Field(min_length=1, max_length=1000, description="召回批号")
    level: RecallLevel = Field(description="召回级别 1/2/3")
    mock: bool = Field(default=False, description="模拟召回: a drill")
    reason: str = Field(min_length=1, max_length=2000, description="召回原因")
    divisions: tuple[DivisionText, ...] = Field(
        default=(),
        max_length=100,
        description="召回范围: only the units that went into these divisions (none: all)",
    )


class RecallClosing(Model):
    """召回完成: the closing of a recall, with its summary; a justification when units are
    still out."""

    summary: str = Field(min_length=1, max_length=4000, description="召回总结")
    justification: str | None = Field(
        default=None,
        min_length=1,
        max_length=4000,
        description="why the units still out will not come back (needed unless complete)",
    )
