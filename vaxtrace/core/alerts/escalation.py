"""逐级上报: an alert nobody takes in hand climbs the divisions, one tier at a time, from where
it happened (county → city → province → national), after a time set per severity (DOMAIN.md
§7: warnings escalate up the division hierarchy when not handled in time)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vaxtrace.core.identifiers import DivisionCode, DivisionLevel
from vaxtrace.core.supervision import NATIONAL
from vaxtrace.core.validation.findings import Severity


def next_tier(division: str) -> str | None:
    """The division above ``division`` that handles its alerts next: a county's city, a
    city's province, a province's national regulator (``000000``); None above national."""
    if division == NATIONAL:
        return None
    code = DivisionCode(division)
    if code.level is DivisionLevel.PROVINCE:
        return NATIONAL
    if code.level is DivisionLevel.CITY:
        return code.province.value
    assert code.city is not None  # a county lies in a city
    return code.city.value


def tiers(division: str) -> list[str]:
    """Every tier an alert of ``division`` may climb through, its own first."""
    found = [division]
    while (up := next_tier(found[-1])) is not None:
        found.append(up)
    return found


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """How long an open alert of each severity waits at a tier before it climbs; a severity
    not named never climbs (a notice is recorded, nobody is chased for it)."""

    after: Mapping[Severity, timedelta] = field(default_factory=dict)

    @classmethod
    def from_hours(cls, hours: Mapping[str, float]) -> EscalationPolicy:
        """The policy of a settings mapping, e.g. ``{"severe": 4, "warning": 24}`` (a name
        that is no severity, or a wait that is not positive, is refused)."""
        for name, wait in hours.items():
            if name not in {s.value for s in Severity} or not wait > 0:
                raise ValueError(f"alert escalation: {name!r}: {wait} h is not a severity's wait")
        return cls({Severity(k): timedelta(hours=v) for k, v in hours.items()})

    def due_at(self, severity: Severity, since: datetime, tier: str) -> datetime | None:
        """When an open alert at ``tier`` since ``since`` is due to climb; None when it never
        will (its severity does not climb, or it is national already)."""
        wait = self.after.get(severity)
        if wait is None or next_tier(tier) is None:
            return None
        return since + wait

    def is_due(self, severity: Severity, since: datetime, tier: str, now: datetime) -> bool:
        due = self.due_at(severity, since, tier)
        return due is not None and due <= now

    def cutoffs(self, now: datetime) -> dict[Severity, datetime]:
        """Per severity that climbs: alerts waiting at their tier since this time or earlier
        are due (for the set-based query)."""
        return {severity: now - wait for severity, wait in self.after.items()}
