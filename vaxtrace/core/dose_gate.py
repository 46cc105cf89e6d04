"""The dose gate (接种前核验): may this dose be given here and now?

One pure function, :func:`decide_dose`, answers for the read-only check before injecting, the
vaccination write, and — with :func:`stop_reasons` — the CDC's receipt scans and distributions.
It gives *every* reason that applies, not just the first, so a nurse sees at once that a dose
is both locked and expired. The facts come from the province's own records (its stock, the
batch data and safety signals the MAH sent down, its cold-chain excursions), never only from
what the scanned label says (DOMAIN.md §5–§7; Vaccine Administration Law Art. 44–46: a dose
that is expired, locked, recalled, of unknown source or out of the cold chain is not given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from vaxtrace.core.batches import expired
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import DoseReason, DoseWarning
from vaxtrace.core.status import Status

CHINA_TIME = timezone(timedelta(hours=8), "CST")
"""Dates printed on Chinese labels (有效期至) are dates in China Standard Time (no DST)."""


class StockPlace(StrEnum):
    """Where a code stands in the province's stock (mirrors the stock table's states)."""

    IN_STOCK = "in_stock"
    IN_TRANSIT = "in_transit"
    USED = "used"
    DAMAGED = "damaged"
    RETURNED = "returned"
    SCRAPPED = "scrapped"
    DESTROYED = "destroyed"


LOCK_STATUSES = frozenset({Status.PENDING, Status.TO_BE_RECALLED, Status.ABNORMAL})
RECALL_STATUSES = frozenset({Status.RECALLING, Status.RECALLED})


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """What the province holds of a batch (from the MAH's shipping notes and signals)."""

    batch_no: str
    expiry_date: date | None
    lot_release_no: str | None
    lock: Status | None = None  # a whole-batch lock: pending / to_be_recalled / abnormal
    recall_no: str | None = None  # a recall in progress for the batch


@dataclass(frozen=True, slots=True)
class DoseFacts:
    """What the province knows of one scanned code."""

    code: str
    holder_uscc: str
    place: StockPlace
    holds_codes: bool  # a container with something inside
    status: Status | None  # a status the MAH set on this code (or a container around it)
    batch: BatchRecord | None
    excursion: str | None = None  # an open or abnormal cold-chain excursion holding it


@dataclass(frozen=True, slots=True)
class Label:
    """What the scanned label itself carries (GS1 AI 10 / 17), if anything."""

    batch_no: str | None = None
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class DoseDecision:
    allowed: bool
    reasons: tuple[DoseReason, ...]
    warnings: tuple[DoseWarning, ...]
    messages: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "reasons": [r.value for r in self.reasons],
            "warnings": [w.value for w in self.warnings],
            "messages": list(self.messages),
        }


class DoseRefused(DomainError):
    """接种前核验不通过: the gate stops this dose; the reason is the first of ``reasons`` (in
    ``details``). A refusal of the dose's state, not of the request, whatever its reason."""

    @classmethod
    def of(cls, decision: DoseDecision, field: str = "code") -> DoseRefused:
        return cls(
            decision.reasons[0].value,
            "this dose may not be given: " + "; ".join(decision.messages),
            field=field,
            details={"reasons": [r.value for r in decision.reasons]},
        )


def local_date(at: datetime) -> date:
    """The date a label's expiry is compared with: the calendar day in China."""
    return at.astimezone(CHINA_TIME).date()


def stop_reasons(facts: DoseFacts, label: Label, on: date) -> list[tuple[DoseReason, str]]:
    """What stops the code moving on at all, wherever it is (locks, recalls, the MAH's
    status, expiry, the batch record, the label, the cold chain): the rules a CDC's receipt
    scans and distributions apply too."""
    found: list[tuple[DoseReason, str]] = []
    status, batch = facts.status, facts.batch
    lock = status if status in LOCK_STATUSES else batch.lock if batch is not None else None
    if lock is not None:
        found.append((DoseReason.LOCKED, f"locked by its MAH or a regulator ({lock.value})"))
    if status in RECALL_STATUSES or (batch is not None and batch.recall_no is not None):
        recall = batch.recall_no if batch is not None and batch.recall_no else "by code"
        found.append((DoseReason.RECALLED, f"under recall ({recall})"))
    if status is not None and status not in LOCK_STATUSES | RECALL_STATUSES | {Status.NORMAL}:
        found.append((DoseReason.STATUS_NOT_NORMAL, f"the MAH marked it {status.value}"))
    found.extend(_batch_reasons(batch, label, on))
    if facts.excursion is not None:
        found.append(
            (DoseReason.COLD_CHAIN_EXCURSION, f"held by cold-chain excursion {facts.excursion}")
        )
    return found


def _batch_reasons(
    batch: BatchRecord | None, label: Label, on: date
) -> list[tuple[DoseReason, str]]:
    if batch is None or batch.expiry_date is None:
        return [(DoseReason.NO_BATCH_DATA, "no batch record with an expiry date for this code")]
    found: list[tuple[DoseReason, str]] = []
    if expired(batch.expiry_date, on):
        found.append((DoseReason.EXPIRED, f"batch {batch.batch_no} expired on {batch.expiry_date}"))
    if batch.lot_release_no is None:
        found.append((DoseReason.NO_LOT_RELEASE, f"no lot release on file for {batch.batch_no}"))
    if label.batch_no is not None and label.batch_no != batch.batch_no:
        found.append(
            (DoseReason.LOT_MISMATCH, f"label says batch {label.batch_no}, record {batch.batch_no}")
        )
    if label.expiry is not None and label.expiry != batch.expiry_date:
        found.append(
            (
                DoseReason.EXPIRY_MISMATCH,
                f"label says expiry {label.expiry}, record {batch.expiry_date}",
            )
        )
    return found


_PLACE_REASONS = {
    StockPlace.USED: (DoseReason.ALREADY_USED, "this dose was used already"),
    StockPlace.DAMAGED: (DoseReason.OUT_OF_STOCK, "reported damaged"),
    StockPlace.RETURNED: (DoseReason.OUT_OF_STOCK, "returned up the chain (退回)"),
    StockPlace.SCRAPPED: (DoseReason.OUT_OF_STOCK, "scrapped (报废)"),
    StockPlace.DESTROYED: (DoseReason.OUT_OF_STOCK, "destroyed (销毁)"),
    StockPlace.IN_TRANSIT: (DoseReason.IN_TRANSIT, "its receipt was never confirmed here"),
}


def decide_dose(
    facts: DoseFacts | None, site_uscc: str, label: Label, at: datetime
) -> DoseDecision:
    """Whether the dose ``facts`` describe may be given by ``site_uscc`` at ``at``, with
    every reason that applies (None: the province never received the code)."""
    if facts is None:
        return _decision([(DoseReason.UNKNOWN_CODE, "never received in this province")], ())
    found: list[tuple[DoseReason, str]] = []
    if facts.holder_uscc != site_uscc:
        found.append((DoseReason.NOT_HELD, f"held by {facts.holder_uscc}"))
    if facts.holds_codes:
        found.append((DoseReason.NOT_A_DOSE, "a box or case: scan the dose itself"))
    if facts.place in _PLACE_REASONS:
        found.append(_PLACE_REASONS[facts.place])
    on = local_date(at)
    found.extend(stop_reasons(facts, label, on))
    batch = facts.batch
    warnings = (DoseWarning.EXPIRES_TODAY,) if batch is not None and batch.expiry_date == on else ()
    return _decision(found, warnings)


def _decision(
    found: list[tuple[DoseReason, str]], warnings: tuple[DoseWarning, ...]
) -> DoseDecision:
    reasons = tuple(dict.fromkeys(r for r, _ in found))
    return DoseDecision(not reasons, reasons, warnings, tuple(m for _, m in found))
