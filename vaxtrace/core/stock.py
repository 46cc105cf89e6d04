"""Stock that people can use (库存): what a held dose's status is, how long a batch has left,
and whether the codes' owner lets a unit dispose of goods (216 报废, 205 销毁).

A dose's status is the dose gate's judgement, not a second rule: :func:`classify` asks
:func:`vaxtrace.core.dose_gate.stop_reasons` and names the weightiest reason it gives. A
disposal is judged by the owner's status table (:mod:`vaxtrace.core.status`), applied to what
the province knows of the owner's status (its safety signals), so that what the province
accepts the MAH's trace system accepts too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from vaxtrace.core.dose_gate import (
    CHINA_TIME,
    DoseFacts,
    Label,
    StockPlace,
    local_date,
    stop_reasons,
)
from vaxtrace.core.reasons import DoseReason
from vaxtrace.core.status import LOCKED, Action, Status, refusal


class StockStatus(StrEnum):
    """How a held dose stands, for people reading stock (one status a dose, the weightiest)."""

    RECALLED = "recalled"  # 召回中: under the MAH's recall
    LOCKED = "locked"  # 锁定: pending, to be recalled or abnormal
    EXPIRED = "expired"  # 已过期
    EXCURSION = "excursion"  # held by a cold-chain excursion (温度超标) of this province
    STOPPED = "stopped"  # any other reason the gate gives: the MAH's status, no lot release…
    IN_TRANSIT = "in_transit"  # 在途: its receipt is not confirmed yet
    USABLE = "usable"  # 可用: the gate lets it be given


_BY_REASON = (
    (DoseReason.RECALLED, StockStatus.RECALLED),
    (DoseReason.LOCKED, StockStatus.LOCKED),
    (DoseReason.EXPIRED, StockStatus.EXPIRED),
    (DoseReason.COLD_CHAIN_EXCURSION, StockStatus.EXCURSION),
)
"""The gate's reasons that name a status of their own, weightiest first."""


@dataclass(frozen=True, slots=True)
class DoseStatus:
    status: StockStatus
    reasons: tuple[DoseReason, ...]
    """Every reason the gate gives (not only the one the status names)."""


def classify(facts: DoseFacts, on: date) -> DoseStatus:
    """The status of a held dose on China date ``on``, from the dose gate's reasons."""
    reasons = tuple(dict.fromkeys(r for r, _ in stop_reasons(facts, Label(), on)))
    for reason, status in _BY_REASON:
        if reason in reasons:
            return DoseStatus(status, reasons)
    if reasons:
        return DoseStatus(StockStatus.STOPPED, reasons)
    if facts.place is StockPlace.IN_TRANSIT:
        return DoseStatus(StockStatus.IN_TRANSIT, (DoseReason.IN_TRANSIT,))
    return DoseStatus(StockStatus.USABLE, ())


def days_left(expiry: date, on: date) -> int:
    """Days from ``on`` to the expiry date (有效期至, the last day of use): 0 on that day,
    negative once expired."""
    return (expiry - on).days


def near_expiry(expiry: date | None, on: date, days: int) -> bool:
    """Not expired yet, and expiring within ``days`` days of ``on``."""
    return expiry is not None and 0 <= days_left(expiry, on) <= days


EXPIRY_RUN_AFTER_MIDNIGHT = timedelta(minutes=5)
"""The nightly expiry run starts this long after midnight in China, when a day's batches
have just expired."""


def next_expiry_run(now: datetime) -> datetime:
    """When the nightly expiry run after ``now`` starts (aware, China time)."""
    today = datetime.combine(local_date(now), time(), CHINA_TIME) + EXPIRY_RUN_AFTER_MIDNIGHT
    return today if today > now else today + timedelta(days=1)


# --- disposal (报废 216, 销毁 205) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnerSignals:
    """What the province knows of the owner's status of some codes: a status the MAH set on
    the code itself, a lock on its whole batch, a recall of its batch in progress."""

    code_status: Status | None
    batch_lock: Status | None
    under_recall: bool


@dataclass(frozen=True, slots=True)
class DisposalRefusal:
    reason: str
    message: str


def owner_statuses(signals: OwnerSignals) -> list[Status]:
    """The statuses the owner's trace system may hold the codes in (normal when nothing is
    known against them)."""
    found = [s for s in (signals.code_status, signals.batch_lock) if s is not None]
    if signals.under_recall:
        found.append(Status.RECALLING)
    return found or [Status.NORMAL]


def disposal_refusal(signals: Iterable[OwnerSignals]) -> DisposalRefusal | None:
    """Why a unit may not scrap or destroy codes, as the owner's status table would refuse
    the destruction it is told of (None: it may). Abnormal (异常), expired, damaged and
    recalled-in goods may be destroyed; goods pending the MAH's decision or under a recall in
    progress go the way the MAH says (an unlock or abnormal; a return under the recall)."""
    for known in signals:
        for status in owner_statuses(known):
            why = refusal(status, Action.DESTROY)
            if why is None:
                continue
            if status in LOCKED:
                return DisposalRefusal(
                    DoseReason.LOCKED.value,
                    f"locked by its MAH or a regulator ({status.value}): wait for its "
                    "decision (an unlock, or abnormal 异常, which may be destroyed)",
                )
            if status is Status.RECALLING:
                return DisposalRefusal(
                    DoseReason.RECALLED.value,
                    "under the MAH's recall: return the goods under the recall (202)",
                )
            return DisposalRefusal(why.reason, why.message)
    return None
