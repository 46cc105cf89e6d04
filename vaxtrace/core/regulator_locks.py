"""监管锁定: a regulator's own lock of a MAH's batches or codes — pending (待定), to be
recalled (待召回) or abnormal (异常) — with its reason and evidence. It travels down the chain
as the MAH's locks do, a :class:`SafetySignal` naming the regulator (``issued_by``), so every
node's gate stops the goods. A pending lock resolves to normal (unlocked), to be recalled or
abnormal (still locked, of that kind); the other kinds are final here (a recall or
destruction ends them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from vaxtrace.core.datasets.elements import DocumentId, Model, NonEmpty, Uscc, either
from vaxtrace.core.datasets.locks import LockKind
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import SafetySignal, SignalKind
from vaxtrace.core.supervision import BatchNo

MAX_EVIDENCE = 20
"""Pieces of evidence one order lists at most."""

Evidence = Annotated[str, Field(min_length=1, max_length=2000)]
"""证据: a reference (an inspection report's number, a file's SHA-256) or a document's text."""


class LockOrder(Model):
    """A regulator's order to lock whole batches or codes of one MAH."""

    client_document_id: DocumentId | None = Field(
        default=None,
        description="the caller's own id of the order: sent again (a retry), the order kept "
        "the first time is answered and nothing is locked twice",
    )
    mah_uscc: Uscc = Field(description="持有人 whose goods are locked")
    batch_nos: tuple[BatchNo, ...] | None = Field(
        default=None, min_length=1, max_length=1000, description="批号 whole batches"
    )
    codes: tuple[str, ...] | None = Field(
        default=None, min_length=1, max_length=10_000, description="追溯码 codes of any level"
    )
    lock_kind: LockKind = Field(description="锁定类型 pending / to_be_recalled / abnormal")
    reason: NonEmpty = Field(description="锁定原因 (mandatory)")
    evidence: tuple[Evidence, ...] = Field(
        default=(),
        max_length=MAX_EVIDENCE,
        description="证据 references or documents the order rests on (an inspection report, "
        "the out-of-range temperature series …)",
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        either(self.codes, self.batch_nos, "give either codes or batch_nos")
        return self


class LockOutcome(StrEnum):
    """What a pending lock resolves to."""

    NORMAL = "normal"  # 正常: unlocked
    TO_BE_RECALLED = "to_be_recalled"  # 待召回
    ABNORMAL = "abnormal"  # 异常


class LockResolution(Model):
    """The regulator's decision on a pending lock, and why."""

    outcome: LockOutcome = Field(description="normal / to_be_recalled / abnormal")
    reason: NonEmpty = Field(description="原因 (mandatory)")


RESOLVED = "resolved"
"""The state of an order resolved to normal; a locked order's state is its lock kind."""


def state_after(state: str, resolution: LockResolution) -> str:
    """The state a resolution leaves an order in: only a pending lock resolves (refused
    ``lock_not_pending`` otherwise)."""
    if state != LockKind.PENDING.value:
        raise DomainError(
            Reason.LOCK_NOT_PENDING,
            f"the lock is {state}: only a pending lock resolves",
            field="outcome",
        )
    if resolution.outcome is LockOutcome.NORMAL:
        return RESOLVED
    return resolution.outcome.value


def lock_signal(
    order: LockOrder,
    *,
    regulator: str,
    document_no: str,
    at: datetime,
    batch_nos: tuple[str, ...],
    codes: tuple[str, ...] | None,
) -> SafetySignal:
    """The lock as it travels (``batch_nos``: every batch concerned, for routing; ``codes``:
    the codes with what they hold, None for whole batches)."""
    return SafetySignal(
        kind=SignalKind.LOCK,
        mah_uscc=order.mah_uscc,
        document_no=document_no,
        business_time=at,
        batch_nos=batch_nos,
        codes=codes,
        lock_kind=order.lock_kind,
        reason=order.reason,
        issued_by=regulator,
    )


def resolution_signal(lock: SafetySignal, resolution: LockResolution, at: datetime) -> SafetySignal:
    """What a resolution sends down, on the same goods as the lock: an unlock (normal), or
    the lock again with its new kind."""
    changed = {
        "document_no": f"{lock.document_no}-R"[:60],
        "business_time": at,
        "reason": resolution.reason,
    }
    if resolution.outcome is LockOutcome.NORMAL:
        changed |= {"kind": SignalKind.UNLOCK, "lock_kind": None}
    else:
        changed |= {"lock_kind": LockKind(resolution.outcome.value)}
    return SafetySignal.model_validate(lock.model_dump() | changed)
