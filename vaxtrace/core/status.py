"""Status of a trace code (追溯码状态): one state machine, written once as a transition table.

The ten standard statuses of NMPAB/T 1004, plus *normal* (正常) and the three *locked* states
(待定 pending, 待召回 to be recalled, 异常 abnormal) of the 2022 validation paper. Every store,
upload check, scan and nightly run asks this table; SQL applies it set-wise through
:func:`allowed_from` and :func:`target`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason


class Status(StrEnum):
    OTHER = "other"  # 其他 — here: coded, not yet self-inspected
    SELF_INSPECTED = "self_inspected"  # 已自检
    LOT_RELEASED = "lot_released"  # 已批签
    NORMAL = "normal"  # 正常 — released, inspected, stocked: may be sold, bought, used
    EXPIRED = "expired"  # 已过期
    DAMAGED = "damaged"  # 已损坏
    DESTROYED = "destroyed"  # 已销毁
    RECALLING = "recalling"  # 召回中
    RECALLED = "recalled"  # 已召回
    USED = "used"  # 已使用
    SUSPENDED = "suspended"  # 已停用 — e.g. a label replaced by a new code
    PENDING = "pending"  # 待定 (locked): quality under review
    TO_BE_RECALLED = "to_be_recalled"  # 待召回 (locked): the MAH will recall
    ABNORMAL = "abnormal"  # 异常 (locked): may only be returned and destroyed


TERMINAL = frozenset({Status.USED, Status.DESTROYED})
LOCKED = frozenset({Status.PENDING, Status.TO_BE_RECALLED, Status.ABNORMAL})


class Action(StrEnum):
    SELF_INSPECT = "self_inspect"
    LOT_RELEASE = "lot_release"
    WAREHOUSE = "warehouse"  # 101 production warehousing
    SHIP = "ship"  # 201 sale, 209 supply
    RECEIVE = "receive"  # 102/107 receipt
    RETURN = "return"  # 103/202 returns
    USE = "use"  # 322 vaccination
    UNDO_USE = "undo_use"  # a vaccination taken back by its recorder within the undo window
    LOCK_PENDING = "lock_pending"
    LOCK_TO_BE_RECALLED = "lock_to_be_recalled"
    LOCK_ABNORMAL = "lock_abnormal"
    UNLOCK = "unlock"
    START_RECALL = "start_recall"
    RECALL_IN = "recall_in"  # 108 goods come back under a recall
    DAMAGE = "damage"  # 215
    EXPIRE = "expire"
    DESTROY = "destroy"  # 205
    SUSPEND = "suspend"
    RESUME = "resume"


S = Status
_SELLABLE = {S.LOT_RELEASED: S.NORMAL, S.NORMAL: S.NORMAL}
_ALIVE = [s for s in Status if s not in TERMINAL]
_ORDINARY = (S.OTHER, S.SELF_INSPECTED, S.LOT_RELEASED, S.NORMAL, S.PENDING)
"""Goods made, inspected, released, sellable or held pending: each may be recalled or damaged."""

TRANSITIONS: dict[Action, dict[Status, Status]] = {
    Action.SELF_INSPECT: {S.OTHER: S.SELF_INSPECTED, S.SELF_INSPECTED: S.SELF_INSPECTED},
    Action.LOT_RELEASE: {S.SELF_INSPECTED: S.LOT_RELEASED},
    Action.WAREHOUSE: {S.OTHER: S.OTHER, S.SELF_INSPECTED: S.SELF_INSPECTED, **_SELLABLE},
    Action.SHIP: dict(_SELLABLE),
    Action.RECEIVE: {S.NORMAL: S.NORMAL},
    Action.RETURN: {
        S.NORMAL: S.NORMAL,
        S.ABNORMAL: S.ABNORMAL,
        S.TO_BE_RECALLED: S.TO_BE_RECALLED,
        S.RECALLING: S.RECALLING,
        S.EXPIRED: S.EXPIRED,
        S.DAMAGED: S.DAMAGED,
    },
    Action.USE: {S.NORMAL: S.USED},
    # The one way back from a terminal status: the province allows it only to the user who
    # recorded the vaccination, within its undo window (DOMAIN.md §5, after the EU hub's
    # experience that wrong scans need a bounded undo).
    Action.UNDO_USE: {S.USED: S.NORMAL},
    Action.LOCK_PENDING: {S.LOT_RELEASED: S.PENDING, S.NORMAL: S.PENDING},
    Action.LOCK_TO_BE_RECALLED: {
        S.LOT_RELEASED: S.TO_BE_RECALLED,
        S.NORMAL: S.TO_BE_RECALLED,
        S.PENDING: S.TO_BE_RECALLED,
    },
    Action.LOCK_ABNORMAL: {
        S.LOT_RELEASED: S.ABNORMAL,
        S.NORMAL: S.ABNORMAL,
        S.PENDING: S.ABNORMAL,
    },
    Action.UNLOCK: {S.PENDING: S.NORMAL},
    Action.START_RECALL: {
        s: S.RECALLING
        for s in (*_ORDINARY, S.TO_BE_RECALLED, S.ABNORMAL, S.SUSPENDED, S.EXPIRED, S.RECALLING)
    },
    Action.RECALL_IN: {S.RECALLING: S.RECALLED, S.RECALLED: S.RECALLED},
    Action.DAMAGE: {s: S.DAMAGED for s in (*_ORDINARY, S.EXPIRED)},
    Action.EXPIRE: {
        s: S.EXPIRED for s in (S.OTHER, S.SELF_INSPECTED, S.LOT_RELEASED, S.NORMAL, S.SUSPENDED)
    },
    Action.DESTROY: {
        s: S.DESTROYED
        for s in (
            S.OTHER,
            S.SELF_INSPECTED,
            S.LOT_RELEASED,
            S.NORMAL,
            S.EXPIRED,
            S.DAMAGED,
            S.RECALLED,
            S.ABNORMAL,
            S.SUSPENDED,
        )
    },
    Action.SUSPEND: {s: S.SUSPENDED for s in _ALIVE if s not in LOCKED | {S.RECALLING}},
    # The table does not know the status a code had before it was suspended, and SUSPEND comes
    # from any live status (a replaced label, even before lot release): resuming to normal would
    # launder an expired, damaged, recalled or never lot-released code. Undo needs that history.
    Action.RESUME: {},
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an action may not be applied to a code in a status."""

    reason: str
    message: str


def refusal(status: Status, action: Action) -> Refusal | None:
    """None when ``action`` may be applied to a code in ``status``; else the reason why not."""
    if status in TRANSITIONS[action]:
        return None
    if status in TERMINAL:
        return Refusal(Reason.TERMINAL_STATUS, f"a {status.value} code never changes back")
    if status in LOCKED:
        return Refusal(
            Reason.LOCKED, f"the code is locked ({status.value}); {action.value} refused"
        )
    if action is Action.SHIP and status in (S.OTHER, S.SELF_INSPECTED):
        return Refusal(Reason.NOT_LOT_RELEASED, "the batch has no lot release (批签发) yet")
    if status is S.EXPIRED:
        return Refusal(Reason.EXPIRED, f"the code is expired; {action.value} refused")
    return Refusal(
        Reason.ILLEGAL_TRANSITION,
        f"{action.value} is not allowed for a code in status {status.value}",
    )


def target(status: Status, action: Action) -> Status:
    """The status after ``action``; raise :class:`TransitionRefused` when not allowed."""
    why = refusal(status, action)
    if why is not None:
        raise TransitionRefused(why.reason, why.message)
    return TRANSITIONS[action][status]


def allowed_from(action: Action) -> frozenset[Status]:
    return frozenset(TRANSITIONS[action])


class TransitionRefused(DomainError):
    """An action the status table does not allow."""
