"""Where each unit of a recall is (召回进度), from its latest movement as the supervision node
was told it, and how far the recall is complete.

A unit is a dose-level code (one with nothing inside it) of the recalled batches. Its state
comes from its latest movement step (bill types of vaxtrace.core.supervision):

- 101 production: at the MAH, never shipped;
- 201 shipping note, 209 distribution: in transit (shipped, not yet received);
- 107 receipt, 323 undone vaccination: in stock where the step was done;
- 202 return: back at the MAH when its counterparty is the MAH (or not said), else in
  stock at the CDC it went back to;
- 215 damage: damaged where it is (out of use, still to be destroyed);
- 216 scrap, 205 destruction: destroyed;
- 322 vaccination: vaccinated, before the recall started (nothing to bring back: a matter
  of medical follow-up) or after it (used while recalled).

**Completion** = units accounted for / every unit, where accounted for means at the MAH
(never shipped, or returned), destroyed, or vaccinated before the recall started. A dose used
after the recall started can never come back: it is not counted complete, so such a recall
closes only with a justification, and the breach stays visible in its summary. Damaged units
count as still out until they are destroyed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.supervision import PRODUCTION, SHIPPING_NOTE


class UnitState(StrEnum):
    AT_MAH = "at_mah"  # 持有人处: never shipped
    IN_TRANSIT = "in_transit"  # 在途
    IN_STOCK = "in_stock"  # 库存中 at a CDC or a site
    RETURNED = "returned"  # 已退回 to the MAH
    DAMAGED = "damaged"  # 已损坏, not yet destroyed
    DESTROYED = "destroyed"  # 已销毁 / 已报废
    VACCINATED = "vaccinated"  # 已接种 before the recall started
    USED_DURING_RECALL = "used_during_recall"  # 召回开始后仍被接种


ACCOUNTED_FOR = frozenset(
    {UnitState.AT_MAH, UnitState.RETURNED, UnitState.DESTROYED, UnitState.VACCINATED}
)
"""States in which a unit needs nothing more from the recall."""

MOVEMENTS = frozenset({PRODUCTION, SHIPPING_NOTE, *(bill.value for bill in DownstreamBill)})
"""The steps that move a unit (locks, recalls, lot release … do not)."""

ONWARD = frozenset(
    {SHIPPING_NOTE, DownstreamBill.DISTRIBUTION.value, DownstreamBill.VACCINATION.value}
)
"""The steps that take a unit further from the MAH: after a recall's stop limit, none may
happen."""

_BY_BILL: dict[str, UnitState] = {
    PRODUCTION: UnitState.AT_MAH,
    SHIPPING_NOTE: UnitState.IN_TRANSIT,
    DownstreamBill.DISTRIBUTION.value: UnitState.IN_TRANSIT,
    DownstreamBill.RECEIPT.value: UnitState.IN_STOCK,
    DownstreamBill.VACCINATION_UNDO.value: UnitState.IN_STOCK,
    DownstreamBill.DAMAGE.value: UnitState.DAMAGED,
    DownstreamBill.SCRAP.value: UnitState.DESTROYED,
    DownstreamBill.DESTRUCTION.value: UnitState.DESTROYED,
}


@dataclass(frozen=True, slots=True)
class LatestStep:
    """The latest movement of ``units`` units, all on the same document."""

    bill_type: str
    org_uscc: str
    division_code: str
    document_no: str
    business_time: datetime
    counterparty_uscc: str | None
    units: int


@dataclass(frozen=True, slots=True)
class Placed:
    """Units in one state, at one holder (the MAH, a CDC or a site; the shipper for goods in
    transit), as the latest step says."""

    state: UnitState
    holder_uscc: str
    step: LatestStep


def placed(step: LatestStep, mah_uscc: str, started_at: datetime) -> Placed:
    """Where the units whose latest movement is ``step`` are, for a recall of ``mah_uscc``'s
    goods that started at ``started_at``."""
    bill = step.bill_type
    if bill == DownstreamBill.VACCINATION.value:
        used_late = step.business_time >= started_at
        state = UnitState.USED_DURING_RECALL if used_late else UnitState.VACCINATED
        return Placed(state, step.org_uscc, step)
    if bill == DownstreamBill.RETURN.value:
        back = step.counterparty_uscc in (None, mah_uscc)
        holder = mah_uscc if back else str(step.counterparty_uscc)
        return Placed(UnitState.RETURNED if back else UnitState.IN_STOCK, holder, step)
    return Placed(_BY_BILL[bill], step.org_uscc, step)


@dataclass(frozen=True, slots=True)
class Completion:
    """How many units are in each state, and the share accounted for."""

    counts: dict[UnitState, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def accounted_for(self) -> int:
        return sum(n for state, n in self.counts.items() if state in ACCOUNTED_FOR)

    @property
    def outstanding(self) -> int:
        return self.total - self.accounted_for

    @property
    def rate(self) -> float:
        """0 to 1; a recall of no known unit is complete (1)."""
        return 1.0 if self.total == 0 else self.accounted_for / self.total

    @property
    def complete(self) -> bool:
        return self.outstanding == 0

    def as_dict(self) -> dict[str, object]:
        return {
            "units": self.total,
            "by_state": {state.value: self.counts.get(state, 0) for state in UnitState},
            "accounted_for": self.accounted_for,
            "outstanding": self.outstanding,
            "completion_rate": round(self.rate, 4),
        }


def completion(units: Iterable[Placed]) -> Completion:
    """The recall's completion over ``units`` (one entry per group of units)."""
    counts = dict.fromkeys(UnitState, 0)
    for group in units:
        counts[group.state] += group.step.units
    return Completion(counts)
