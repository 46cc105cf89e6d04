"""召回公告: the public notice of a real recall, which a supervision system sends the platform
and the platform's public entry serves (a mock recall is never announced). The payload of an
exchange envelope with ``event_type`` "20" and ``event_subtype`` "recall_notice" is
``{"recall_notice": RecallNotice}``; sent again when the recall closes, the later one
replaces the earlier (one notice per MAH and recall number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from vaxtrace.core.datasets.elements import Model, Uscc
from vaxtrace.core.datasets.recalls import RecallLevel
from vaxtrace.core.documents import read_document
from vaxtrace.core.supervision import BatchNo
from vaxtrace.core.times import as_utc

NOTICE = "recall_notice"
"""The document key and the envelope's subtype."""


class RecallNotice(Model):
    """What the public is told of a recall: whose batches, how urgent, why, since when, and
    whether it is over. Nothing of who holds or used the goods."""

    mah_uscc: Uscc = Field(description="持有人")
    recall_no: str = Field(min_length=1, max_length=200, description="召回编号")
    level: RecallLevel = Field(description="召回级别")
    batch_nos: tuple[BatchNo, ...] = Field(min_length=1, max_length=1000, description="召回批号")
    reason: str | None = Field(default=None, max_length=2000, description="召回原因")
    ordered: bool = Field(description="责令召回 (else the MAH's own, 主动召回)")
    started_at: AwareDatetime = Field(description="召回开始")
    state: Literal["open", "closed"]
    closed_at: AwareDatetime | None = None


def read_notice(payload: Any) -> RecallNotice:
    """The notice an envelope's payload carries, or a refusal naming the field at fault."""
    return read_document(payload, NOTICE, RecallNotice)


def notice_of(recall: Any, batch_nos: list[str]) -> RecallNotice:
    """The notice of a kept recall (a row: its number, MAH, level, reason, times, state)."""
    closed: datetime | None = recall["closed_at"]
    return RecallNotice(
        mah_uscc=recall["mah_uscc"],
        recall_no=recall["recall_no"],
        level=RecallLevel(recall["level"]),
        batch_nos=tuple(batch_nos),
        reason=recall["reason"],
        ordered=recall["initiator"] == "regulator",
        started_at=as_utc(recall["started_at"]),
        state=recall["state"],
        closed_at=None if closed is None else as_utc(closed),
    )
