"""锁定 locks: codes or whole batches held while quality is in doubt, and unlocks."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from vaxtrace.core.datasets.elements import NonEmpty, Write, either


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
        either(self.codes, self.batch_nos, "give either codes or batch_nos")
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
