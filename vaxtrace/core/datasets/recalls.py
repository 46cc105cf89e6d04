"""召回 recalls by batch: a recall, its closure, and the recalled goods coming back."""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

from pydantic import Field

from vaxtrace.core.datasets.elements import CodesWrite, NonEmpty, Uscc, Write


class RecallLevel(IntEnum):
    ONE = 1
    TWO = 2
    THREE = 3


class Recall(Write):
    """召回 recall by batch."""

    recall_no: NonEmpty = Field(description="召回编号")
    batch_nos: tuple[str, ...] = Field(min_length=1, description="召回批号")
    reason: NonEmpty = Field(description="召回原因")
    level: RecallLevel = Field(description="召回级别 1/2/3")
    ordered: bool = Field(default=False, description="责令召回 (else 主动召回)")
    mock: bool = Field(default=False, description="模拟召回 (no status change)")
    range: Literal["national", "province", "city"] = Field(description="召回范围")
    public: bool = Field(default=True, description="是否公开")


class RecallClosure(Write):
    """召回完成: the MAH closes a recall with its summary (召回总结). Goods of the batches still
    in the field stay stopped: a closed recall frees nothing."""

    recall_no: NonEmpty = Field(description="召回编号")
    summary: NonEmpty = Field(description="召回总结 what was recalled, returned and destroyed")


class RecallReceipt(CodesWrite):
    """108 召回入库: recalled goods come back."""

    recall_no: NonEmpty
    from_uscc: Uscc
