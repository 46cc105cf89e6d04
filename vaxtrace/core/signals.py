"""Safety signals (安全控制信息): what a MAH's trace system (or a regulator's supervision
system, for its own locks: ``issued_by``) sends down the chain so that every
node that holds or expects its goods stops what the MAH stopped — locks and unlocks, recalls,
status changes it made (damaged, destroyed, suspended / replaced), and the batch data a gate
needs (expiry, production date, lot-release certificate).

They travel trace → platform → every immunization system the platform forwarded notes of
those batches to (and the supervision systems of those areas), in the same ordered queues as
the shipping notes, so a signal never overtakes the note it concerns. The payload of an
exchange envelope with ``event_type`` "20" and ``event_subtype`` ``signal`` is
``{"safety_signal": SafetySignal}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Self

from pydantic import AwareDatetime, Field, model_validator

from vaxtrace.core.datasets.elements import DocumentNo, Model, Uscc
from vaxtrace.core.datasets.locks import LockKind
from vaxtrace.core.documents import read_document
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.status import Status

SIGNAL_SUBTYPE = "signal"


class SignalKind(StrEnum):
    LOCK = "lock"  # 锁定: codes or whole batches locked (pending / to be recalled / abnormal)
    UNLOCK = "unlock"  # 解锁: a pending lock cleared
    RECALL = "recall"  # 召回: a recall of whole batches started (mock recalls are not sent)
    RECALL_CLOSED = "recall_closed"  # 召回完成
    STATUS = "status"  # the MAH set codes damaged, destroyed or suspended (a replaced label)
    BATCH = "batch"  # batch master data and lot release (批签发) as the MAH holds them


REGULATOR_KINDS = frozenset({SignalKind.LOCK, SignalKind.UNLOCK})
"""What a regulator orders down the same path (see vaxtrace.core.regulator_locks)."""

STATUSES_SENT = frozenset({Status.DAMAGED, Status.DESTROYED, Status.SUSPENDED})
"""Code statuses a MAH's own step sets that a province must know."""


class LotReleaseFacts(Model):
    """批签发证明: what a receiver checks; the file itself is fetched over the exchange."""

    certificate_no: str = Field(min_length=1, max_length=200, description="批签发证明编号")
    authority: str = Field(min_length=1, max_length=200, description="签发机构")
    release_date: date = Field(description="签发日期")
    certificate_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="证明文件 SHA-256")


class BatchFacts(Model):
    """A batch as the gate needs it (批次主数据)."""

    batch_no: str = Field(min_length=1, max_length=20, description="批号")
    product_code: str = Field(min_length=1, max_length=40, description="产品编码")
    production_date: date = Field(description="生产日期")
    expiry_date: date = Field(description="有效期至")
    lot_release: LotReleaseFacts | None = Field(default=None, description="批签发")


class SafetySignal(Model):
    """One control step of a MAH, as every node downstream applies it."""

    kind: SignalKind
    mah_uscc: Uscc = Field(description="持有人 the MAH whose goods it concerns")
    document_no: DocumentNo
    business_time: AwareDatetime
    batch_nos: tuple[str, ...] = Field(
        min_length=1, max_length=1000, description="批号 every batch concerned (for routing)"
    )
    codes: tuple[str, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=100_000,
        description="追溯码 codes concerned (with what they hold); None: the whole batches",
    )
    lock_kind: LockKind | None = Field(default=None, description="锁定类型 of a lock")
    status: Status | None = Field(default=None, description="the status a STATUS step set")
    recall_no: str | None = Field(default=None, max_length=200, description="召回编号")
    recall_level: int | None = Field(default=None, ge=1, le=3, description="召回级别")
    reason: str | None = Field(default=None, max_length=2000, description="原因")
    batches: tuple[BatchFacts, ...] = Field(
        default=(), max_length=1000, description="batch data of a BATCH signal"
    )
    issued_by: Uscc | None = Field(
        default=None,
        description="监管部门 the regulator who ordered a lock or unlock (None: the MAH's own)",
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        kind = self.kind
        if kind is SignalKind.LOCK and self.lock_kind is None:
            raise ValueError("a lock names its lock_kind")
        if kind in (SignalKind.RECALL, SignalKind.RECALL_CLOSED) and not self.recall_no:
            raise ValueError("a recall names its recall_no")
        if kind is SignalKind.STATUS and (self.status not in STATUSES_SENT or not self.codes):
            raise ValueError("a status signal names its codes and a status it may carry")
        if kind is SignalKind.BATCH and not self.batches:
            raise ValueError("a batch signal carries the batches")
        if self.issued_by is not None and kind not in REGULATOR_KINDS:
            raise ValueError("a regulator's signal is a lock or an unlock")
        return self


def read_signal(payload: Any) -> SafetySignal:
    """The signal an envelope's payload carries, or a refusal naming the field at fault."""
    return read_document(payload, "safety_signal", SafetySignal)


CERTIFICATE_SHA256 = "X-Certificate-SHA256"
"""The header a lot release certificate travels with: the SHA-256 the MAH filed it under."""


@dataclass(frozen=True, slots=True)
class CertificateFile:
    """批签发证明 as filed with a batch's lot release: the file and its media type."""

    content: bytes
    media_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def check(self, filed_sha256: str | None) -> CertificateFile:
        """The file itself if it is the one filed under ``filed_sha256`` (the hash the batch
        data carried); refused ``certificate_file_mismatch`` otherwise: a copy changed on the way,
        or a certificate other than the one on record."""
        if filed_sha256 is None or self.sha256 != filed_sha256.lower():
            raise DomainError(
                Reason.CERTIFICATE_FILE_MISMATCH,
                f"the certificate received hashes to {self.sha256}, not to the "
                f"{filed_sha256} on record: do not rely on it; ask the MAH",
            )
        return self
