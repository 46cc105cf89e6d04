"""The pure replay: what each logged event does to a code, and a commission's root."""

from __future__ import annotations

import pytest

from vaxtrace.core.replay import (
    CodesRoot,
    CodeState,
    Effect,
    IssuedCode,
    LogBroken,
    LoggedEvent,
    Replay,
    code_leaf,
    effect_of,
    move_status,
    moved,
)
from vaxtrace.core.status import TRANSITIONS, Action, Status
from vaxtrace.ledger import merkle

MAH, CDC, POV = "MAH", "CDC", "POV"


def test_a_codes_root_is_the_rfc_9162_root_of_its_leaves() -> None:
    for size in range(40):
        tree, frontier = CodesRoot(), merkle.Frontier()
        for n in range(size):
            parent = None if n % 3 else 7
            tree.add(n + 1, f"C{n}", 1, parent)
            for _ in frontier.append(merkle.leaf_hash(code_leaf(n + 1, f"C{n}", 1, parent))):
                pass
        assert (tree.codes, tree.root()) == (size, frontier.root())


def test_a_codes_root_changes_with_any_field_of_any_code() -> None:
    def root(codes: list[tuple[int, str, int, int | None]]) -> bytes:
        tree = CodesRoot()
        for code in codes:
            tree.add(*code)
        return tree.root()

    issued = [(1, "C1", 2, None), (2, "C2", 1, 1), (3, "C3", 1, 1)]
    variants = [
        [(1, "C1", 2, None), (2, "C2", 1, 1), (3, "C3", 1, None)],  # a dose out of its box
        [(1, "C1", 2, None), (2, "C2", 1, 1)],  # a code fewer
        [(1, "C1", 2, None), (2, "C2", 1, 1), (3, "C9", 1, 1)],  # another code
        [(1, "C1", 2, None), (2, "C2", 1, 1), (4, "C3", 1, 1)],  # another id
    ]
    assert all(root(v) != root(issued) for v in variants)


@pytest.mark.parametrize(
    ("bill_type", "payload", "expected"),
    [
        ("101", {}, Effect(Action.WAREHOUSE, MAH)),
        ("201", {"consignee_uscc": CDC}, Effect(Action.SHIP, CDC)),
        ("107", {"counterparty_uscc": MAH}, Effect(Action.RECEIVE, MAH)),
        ("209", {"counterparty_uscc": POV}, Effect(Action.SHIP, POV)),
        ("322", {}, Effect(Action.USE, MAH)),
        ("202", {"counterparty_uscc": CDC}, Effect(Action.RETURN, CDC)),
        ("self_inspection", {"conclusion": "pass"}, Effect(Action.SELF_INSPECT, on_batches=True)),
        ("lot_release", {"conclusion": "fail"}, Effect(None, on_batches=True)),
        ("recall", {"mock": True}, Effect(None, on_batches=True)),
        ("lock", {"kind": "abnormal", "batch_nos": None}, Effect(Action.LOCK_ABNORMAL)),
        ("unlock", {"batch_nos": ["B1"]}, Effect(Action.UNLOCK, on_batches=True)),
        ("temperature", {}, None),
        ("correction", {}, None),
    ],
)
def test_the_effect_of_each_step(
    bill_type: str, payload: dict[str, object], expected: Effect | None
) -> None:
    assert effect_of(bill_type, MAH, payload) == expected


def test_a_step_moves_a_code_through_the_status_table() -> None:
    state = CodeState("C1", 1, 1, Status.NORMAL, CDC, 5, 3)
    used = moved(state, Effect(Action.USE, POV), 9)
    assert used == CodeState("C1", 1, 1, Status.USED, POV, 5, 9)
    assert moved(used, Effect(Action.SHIP, CDC), 10).status is Status.USED  # refused: stays
    for action, table in TRANSITIONS.items():
        for status in Status:
            assert move_status(status, action) is table.get(status, status)


def _commission(event_id: int, codes: list[IssuedCode], batch_id: int = 1) -> LoggedEvent:
    tree = CodesRoot()
    for code in codes:
        tree.add(*code)
    return LoggedEvent(event_id, "commission", MAH, {}, (), (batch_id,), codes,
                       (tree.codes, tree.root()))  # fmt: skip


def test_a_replay_of_a_small_life() -> None:
    """A case with a box of two doses; the box is shipped, a dose used, the other replaced."""
    issued = [IssuedCode(1, "CASE", 3, None), IssuedCode(2, "BOX", 2, 1),
              IssuedCode(3, "D1", 1, 2), IssuedCode(4, "D2", 1, 2)]  # fmt: skip
    replay = Replay()
    replay.apply_all([
        _commission(1, issued),
        LoggedEvent(2, "self_inspection", MAH, {"conclusion": "pass"}, (), (1,)),
        LoggedEvent(3, "lot_release", MAH, {"conclusion": "pass"}, (), (1,)),
        LoggedEvent(4, "101", MAH, {}, (1,)),
        LoggedEvent(5, "201", MAH, {"consignee_uscc": CDC}, (2,)),
        LoggedEvent(6, "322", POV, {}, (3,)),
        LoggedEvent(7, "replace", CDC, {"new_code": "D2B"}, (4, 5)),
    ])  # fmt: skip
    assert replay.state(1) == CodeState("CASE", 3, 1, Status.NORMAL, MAH, None, 4)
    assert replay.state(2) == CodeState("BOX", 2, 1, Status.NORMAL, CDC, None, 5)
    assert replay.state(3) == CodeState("D1", 1, 1, Status.USED, POV, None, 6)
    assert replay.state(4) == CodeState("D2", 1, 1, Status.SUSPENDED, CDC, None, 7)
    assert replay.state(5) == CodeState("D2B", 1, 1, Status.NORMAL, CDC, 2, 7)
    assert replay.code_ids() == [1, 2, 3, 4, 5]


def test_an_uploaded_parent_may_follow_its_child() -> None:
    replay = Replay()
    replay.apply(_commission(1, [IssuedCode(1, "D1", 1, 2), IssuedCode(2, "BOX", 2, None)]))
    state = replay.state(1)
    assert state is not None and state.parent == 2


def test_a_commission_whose_codes_no_longer_match_its_root_breaks_the_replay() -> None:
    event = _commission(1, [IssuedCode(1, "D1", 1, None)])
    forged = LoggedEvent(1, "commission", MAH, {}, (), (1,),
                         [IssuedCode(1, "D1", 1, None), IssuedCode(2, "FAKE", 1, None)],
                         event.digest)  # fmt: skip
    with pytest.raises(LogBroken, match="no longer hash to the root its leaf carries"):
        Replay().apply(forged)
    with pytest.raises(LogBroken, match="carries no digest"):
        Replay().apply(LoggedEvent(1, "commission", MAH, {}, (), (1,), []))
