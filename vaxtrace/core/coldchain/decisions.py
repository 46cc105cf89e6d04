"""处置: what is decided on a temperature record: a receipt by its journey's record
(:func:`receipt_temperature_decision`), and a named person on an excursion."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from vaxtrace.core.datasets.elements import Model, NonEmpty


class ReceiptTemperature(StrEnum):
    """What a receiver does with goods by their journey's temperature record (DOMAIN.md §7)."""

    RECEIVE = "receive"  # 收货
    QUARANTINE = "quarantine"  # 暂存待处理: held apart until the papers come
    REFUSE = "refuse"  # 拒收


def receipt_temperature_decision(
    record_present: bool, in_range: bool | None, papers_present: bool
) -> ReceiptTemperature:
    """收货温度判定: no whole-journey temperature record, or one out of range → refuse; a record
    in range but papers missing (lot release certificate, customs form…) → receive into
    quarantine; a record in range with the papers → receive.

    ``in_range`` is what :attr:`.excursions.Evaluation.in_range` says of the journey's record
    (no alarm); None when a record is present but could not be judged, which holds the goods
    apart (quarantine) until someone has judged it.
    """
    if not record_present or in_range is False:
        return ReceiptTemperature.REFUSE
    if in_range is None or not papers_present:
        return ReceiptTemperature.QUARANTINE
    return ReceiptTemperature.RECEIVE


class ExcursionState(StrEnum):
    """Where an excursion stands: open holds its codes; usable releases them; abnormal keeps
    them out for good (异常: may only be returned and destroyed)."""

    OPEN = "open"  # 待定 pending
    USABLE = "usable"  # 可用 released, with a reason
    ABNORMAL = "abnormal"  # 异常

    @property
    def holds(self) -> bool:
        return self is not ExcursionState.USABLE


class ExcursionDecision(Model):
    """A named person's decision on an excursion (温度超标处置)."""

    decision: Literal["usable", "abnormal"] = Field(
        description="usable (可用: release the codes) or abnormal (异常: keep them out)"
    )
    decided_by: str = Field(
        min_length=1, max_length=100, description="处置人 the person's name, not a role"
    )
    reason: NonEmpty = Field(description="处置理由 e.g. the stability data relied on")
