"""告警状态: an alert is open (待处理) until a regulator acknowledges it (已确认: taken in hand)
and then resolves it (已处理: who, when, why); it may be resolved straight from open; resolved
is final."""

from __future__ import annotations

from enum import StrEnum

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

MAX_REASON = 500
"""Characters a resolution's reason or an acknowledgement's note may have."""


class AlertState(StrEnum):
    OPEN = "open"  # 待处理
    ACKNOWLEDGED = "acknowledged"  # 已确认
    RESOLVED = "resolved"  # 已处理

    @property
    def handled(self) -> bool:
        """Whether someone has the alert in hand (it no longer climbs the tiers)."""
        return self is not AlertState.OPEN


MOVES: dict[AlertState, frozenset[AlertState]] = {
    AlertState.OPEN: frozenset({AlertState.ACKNOWLEDGED, AlertState.RESOLVED}),
    AlertState.ACKNOWLEDGED: frozenset({AlertState.RESOLVED}),
    AlertState.RESOLVED: frozenset(),
}
"""Where each state may go."""


def check_move(alert_id: int, current: AlertState, target: AlertState) -> None:
    """Refuse a move the lifecycle does not allow (``illegal_transition``)."""
    if target not in MOVES[current]:
        raise DomainError(
            Reason.ILLEGAL_TRANSITION,
            f"alert {alert_id} is {current.value}: it cannot become {target.value}",
            field="alert_id",
        )


def resolution_reason(reason: str | None) -> str:
    """Why an alert is resolved, as given, trimmed: required (``reason_required``) and at most
    :data:`MAX_REASON` characters."""
    text = (reason or "").strip()
    if not text:
        raise DomainError(
            Reason.REASON_REQUIRED, "resolving an alert needs a reason", field="reason"
        )
    if len(text) > MAX_REASON:
        raise DomainError(
            Reason.OUT_OF_RANGE, f"a reason has at most {MAX_REASON} characters", field="reason"
        )
    return text


def note(text: str | None) -> str | None:
    """An acknowledgement's optional note, trimmed (None when blank)."""
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_REASON:
        raise DomainError(
            Reason.OUT_OF_RANGE, f"a note has at most {MAX_REASON} characters", field="note"
        )
    return cleaned or None
