"""The status state machine of a trace code, checked pair by pair and as a graph."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from vaxtrace.core.errors import DomainError
from vaxtrace.core.status import (
    LOCKED,
    TERMINAL,
    TRANSITIONS,
    Action,
    Refusal,
    Status,
    TransitionRefused,
    allowed_from,
    refusal,
    target,
)

S, A = Status, Action
PAIRS = list(itertools.product(Status, Action))


def test_the_statuses_of_the_standard_and_the_paper() -> None:
    assert {s.value for s in Status} == {
        "other",
        "self_inspected",
        "lot_released",
        "normal",
        "expired",
        "damaged",
        "destroyed",
        "recalling",
        "recalled",
        "used",
        "suspended",
        "pending",
        "to_be_recalled",
        "abnormal",
    }
    assert frozenset({S.USED, S.DESTROYED}) == TERMINAL
    assert frozenset({S.PENDING, S.TO_BE_RECALLED, S.ABNORMAL}) == LOCKED


def test_every_action_has_a_row() -> None:
    assert set(TRANSITIONS) == set(Action)
    for row in TRANSITIONS.values():
        assert all(isinstance(s, Status) and isinstance(t, Status) for s, t in row.items())


@pytest.mark.parametrize(("status", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_refusal_is_none_exactly_for_the_pairs_in_the_table(status: Status, action: Action) -> None:
    why = refusal(status, action)
    if status in TRANSITIONS[action]:
        assert why is None
        assert target(status, action) is TRANSITIONS[action][status]
    else:
        assert isinstance(why, Refusal)
        assert why.reason and why.message
        with pytest.raises(TransitionRefused) as info:
            target(status, action)
        assert info.value.reason == why.reason
        assert info.value.message == why.message
        assert isinstance(info.value, DomainError)


@pytest.mark.parametrize("action", list(Action))
def test_allowed_from_is_the_table_row(action: Action) -> None:
    assert allowed_from(action) == frozenset(TRANSITIONS[action])


UNDOES = {Action.UNDO_USE: Status.USED}
"""The one way back from a terminal status: a vaccination undone by its recorder within the
province's undo window (DOMAIN.md §5); the province checks who and when."""


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for s, a in itertools.product(TERMINAL, Action) if UNDOES.get(a) is not s],
)
def test_terminal_statuses_never_leave(status: Status, action: Action) -> None:
    assert status not in TRANSITIONS[action]
    why = refusal(status, action)
    assert why is not None and why.reason == "terminal_status"
    assert status.value in why.message


def test_only_a_used_dose_can_be_undone_and_only_to_normal() -> None:
    assert TRANSITIONS[Action.UNDO_USE] == {Status.USED: Status.NORMAL}
    assert refusal(Status.DESTROYED, Action.UNDO_USE) is not None


def test_terminal_statuses_are_reached_only_by_use_and_destroy() -> None:
    into_terminal = {
        (action, source, result)
        for action, row in TRANSITIONS.items()
        for source, result in row.items()
        if result in TERMINAL
    }
    assert {(a, r) for a, _, r in into_terminal} == {
        (A.USE, S.USED),
        (A.DESTROY, S.DESTROYED),
    }
    assert TRANSITIONS[A.USE] == {S.NORMAL: S.USED}


@pytest.mark.parametrize(
    ("status", "action"),
    list(itertools.product(sorted(LOCKED), [A.SHIP, A.USE, A.RECEIVE, A.WAREHOUSE, A.SUSPEND])),
)
def test_locked_statuses_refuse_moving_and_using(status: Status, action: Action) -> None:
    why = refusal(status, action)
    assert why is not None and why.reason == "locked"
    assert status.value in why.message and action.value in why.message
    with pytest.raises(TransitionRefused) as info:
        target(status, action)
    assert info.value.reason == "locked"


@pytest.mark.parametrize("status", [S.OTHER, S.SELF_INSPECTED])
def test_shipping_before_lot_release(status: Status) -> None:
    why = refusal(status, A.SHIP)
    assert why is not None and why.reason == "not_lot_released"
    with pytest.raises(TransitionRefused) as info:
        target(status, A.SHIP)
    assert info.value.reason == "not_lot_released"


@pytest.mark.parametrize("action", [A.USE, A.SHIP, A.RECEIVE, A.UNLOCK, A.RESUME, A.WAREHOUSE])
def test_expired_codes_are_refused_as_expired(action: Action) -> None:
    why = refusal(S.EXPIRED, action)
    assert why is not None and why.reason == "expired"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.NORMAL, A.LOT_RELEASE),
        (S.OTHER, A.LOT_RELEASE),
        (S.OTHER, A.USE),
        (S.LOT_RELEASED, A.USE),  # must be warehoused / received first
        (S.RECALLED, A.SHIP),
        (S.DAMAGED, A.USE),
        (S.NORMAL, A.UNLOCK),
        (S.NORMAL, A.RESUME),
        (S.RECALLING, A.SUSPEND),
    ],
)
def test_illegal_transitions(status: Status, action: Action) -> None:
    why = refusal(status, action)
    assert why is not None and why.reason == "illegal_transition"
    assert action.value in why.message and status.value in why.message


def _run(start: Status, *actions: Action) -> Status:
    status = start
    for action in actions:
        status = target(status, action)
    return status


def test_the_ordinary_life_of_a_dose() -> None:
    steps = [
        (A.SELF_INSPECT, S.SELF_INSPECTED),
        (A.LOT_RELEASE, S.LOT_RELEASED),
        (A.WAREHOUSE, S.NORMAL),
        (A.SHIP, S.NORMAL),
        (A.RECEIVE, S.NORMAL),
        (A.SHIP, S.NORMAL),
        (A.RECEIVE, S.NORMAL),
        (A.USE, S.USED),
    ]
    status = S.OTHER
    for action, expected in steps:
        status = target(status, action)
        assert status is expected, action
    # warehousing may come before the lot release and keeps the status
    assert _run(S.OTHER, A.WAREHOUSE, A.SELF_INSPECT, A.WAREHOUSE) is S.SELF_INSPECTED
    assert _run(S.LOT_RELEASED, A.SHIP) is S.NORMAL


def test_locks() -> None:
    assert _run(S.NORMAL, A.LOCK_PENDING, A.UNLOCK) is S.NORMAL
    assert _run(S.NORMAL, A.LOCK_PENDING, A.LOCK_ABNORMAL, A.RETURN, A.DESTROY) is S.DESTROYED
    assert _run(S.LOT_RELEASED, A.LOCK_TO_BE_RECALLED, A.START_RECALL) is S.RECALLING
    for locked in (S.TO_BE_RECALLED, S.ABNORMAL):  # only pending resolves back to normal
        why = refusal(locked, A.UNLOCK)
        assert why is not None and why.reason == "locked"


def test_a_recall() -> None:
    assert (
        _run(S.NORMAL, A.START_RECALL, A.START_RECALL, A.RECALL_IN, A.RECALL_IN, A.DESTROY)
        is S.DESTROYED
    )
    why = refusal(S.TO_BE_RECALLED, A.DESTROY)  # recall it first
    assert why is not None and why.reason == "locked"


def test_a_replaced_label_can_be_suspended_even_before_lot_release() -> None:
    # the trace service's replace (换码) asks the table whether SUSPEND is allowed
    for status in (S.OTHER, S.SELF_INSPECTED, S.LOT_RELEASED, S.NORMAL, S.EXPIRED):
        assert target(status, A.SUSPEND) is S.SUSPENDED
    assert target(S.SUSPENDED, A.SUSPEND) is S.SUSPENDED
    assert allowed_from(A.SUSPEND).isdisjoint(LOCKED | TERMINAL | {S.RECALLING})


@pytest.mark.parametrize("before", [S.OTHER, S.SELF_INSPECTED, S.EXPIRED, S.DAMAGED, S.RECALLED])
def test_suspension_does_not_launder_a_status(before: Status) -> None:
    # the table forgets the status before suspension, so it may not resume to normal
    suspended = target(before, A.SUSPEND)
    assert refusal(suspended, A.RESUME) is not None
    assert S.NORMAL not in _reachable(suspended)


def test_a_suspended_code_can_still_expire_be_recalled_or_destroyed() -> None:
    assert _run(S.NORMAL, A.SUSPEND, A.EXPIRE, A.DESTROY) is S.DESTROYED
    assert _run(S.NORMAL, A.SUSPEND, A.START_RECALL, A.RECALL_IN) is S.RECALLED


# --- the table as a graph: what can never happen, by any sequence of actions ------------------


def _reachable(start: Status, *, without: frozenset[Action] = frozenset()) -> set[Status]:
    seen = {start}
    queue = deque([start])
    while queue:
        status = queue.popleft()
        for action, row in TRANSITIONS.items():
            if action in without or status not in row:
                continue
            nxt = row[status]
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


@pytest.mark.parametrize("start", [S.OTHER, S.SELF_INSPECTED])
def test_no_way_to_normal_or_used_but_through_lot_release(start: Status) -> None:
    reachable = _reachable(start, without=frozenset({A.LOT_RELEASE}))
    assert S.NORMAL not in reachable
    assert S.USED not in reachable
    assert S.LOT_RELEASED not in reachable
    assert {S.NORMAL, S.USED} <= _reachable(start)


@pytest.mark.parametrize(
    "start", [S.EXPIRED, S.DAMAGED, S.RECALLING, S.RECALLED, S.TO_BE_RECALLED, S.ABNORMAL]
)
def test_no_way_back_to_normal_or_used(start: Status) -> None:
    reachable = _reachable(start)
    assert S.NORMAL not in reachable
    assert S.USED not in reachable
    assert S.DESTROYED in reachable  # yet it can always be disposed of


def test_pending_leaves_only_by_unlock_or_a_stronger_lock() -> None:
    leaving = {a for a, row in TRANSITIONS.items() if row.get(S.PENDING, S.PENDING) != S.PENDING}
    outcomes = {TRANSITIONS[a][S.PENDING] for a in leaving}
    assert outcomes <= {S.NORMAL, S.TO_BE_RECALLED, S.ABNORMAL, S.RECALLING, S.DAMAGED}
    assert TRANSITIONS[A.UNLOCK] == {S.PENDING: S.NORMAL}


def test_every_live_status_can_be_ended() -> None:
    for status in Status:
        if status in TERMINAL:
            continue
        assert TERMINAL & _reachable(status), status


def test_abnormal_may_only_be_returned_or_destroyed() -> None:
    """DOMAIN.md §5: an abnormal (异常) code may only be returned and destroyed."""
    allowed = {a for a in A if refusal(S.ABNORMAL, a) is None}
    assert allowed <= {A.RETURN, A.DESTROY, A.START_RECALL}
    assert refusal(S.ABNORMAL, A.DAMAGE) is not None
