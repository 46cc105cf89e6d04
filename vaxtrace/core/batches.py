"""Rules a batch (批次) must meet, written once: when it has expired, and when its goods may
leave the MAH for sale (批签发, customs clearance of an import, not expired).

The expiry date (有效期至) is the last day of use: a batch is usable through that day and
expired from the next, as the dose gate has always read it (its ``expires_today`` warning);
no expired dose is sold or given (../shared/DOMAIN.md, the dose gate's rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason


def expired(expiry_date: date, on: date) -> bool:
    """Whether a batch with this expiry date has expired on ``on`` (usable through the date)."""
    return expiry_date < on


@dataclass(frozen=True)
class SaleFacts:
    """What decides whether a batch may be sold: its lot release, customs, expiry."""

    batch_no: str
    lot_released: bool
    imported: bool
    customs_clearance_no: str | None
    expiry_date: date


def check_sellable(batch: SaleFacts, day: date, field: str = "codes") -> None:
    """A batch leaves for sale lot-released, cleared by customs if imported, and unexpired on
    ``day`` (the shipping note's date)."""
    if not batch.lot_released:
        raise DomainError(
            Reason.NOT_LOT_RELEASED,
            f"batch {batch.batch_no} has no lot release certificate (批签发证明)",
            field=field,
        )
    if batch.imported and not batch.customs_clearance_no:
        raise DomainError(
            Reason.MISSING_CUSTOMS_CLEARANCE,
            f"imported batch {batch.batch_no} has no customs clearance form",
            field=field,
        )
    if expired(batch.expiry_date, day):
        raise DomainError(
            Reason.EXPIRED, f"batch {batch.batch_no} expired on {batch.expiry_date}", field=field
        )
