"""The trace node's state checked against its log: every code's existence, status, holder and
container rebuilt from the logged events alone (:mod:`vaxtrace.core.replay`), in log order, and
compared with ``trace_code``; the first code that differs is named with the event that should
have produced what the log says.

It reads the events as the log commits to them: run it after the log's own check
(``vaxtrace.store.ledger.verify_log``), which proves the events, the codes and batches they
name and each commission's digest unchanged since their leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vaxtrace.core.replay import STATUSES, CodeState, LogBroken, Replay
from vaxtrace.store.engine import Engine, read_tx
from vaxtrace.store.trace.replay import code_rows, logged_events


@dataclass(frozen=True, slots=True)
class StateCheck:
    """Where the tables and the log first disagree (codes in id order)."""

    message: str
    event_id: int | None
    """The event that should have produced what the log says (the code's last step)."""
    code: str | None = None
    field: str | None = None
    """``existence``, ``status``, ``holder`` or ``parent``; None when the log contradicts
    itself."""
    table: str | None = None
    log: str | None = None


def check_state(engine: Engine) -> StateCheck | None:
    """Replay the log and compare every code with its row; None when all agree."""
    with read_tx(engine) as conn:
        replay = Replay()
        try:
            replay.apply_all(logged_events(conn))
        except LogBroken as broken:
            return StateCheck(broken.message, broken.event_id)
        return _first_difference(replay, code_rows(conn))


def _first_difference(replay: Replay, rows: Iterator[Any]) -> StateCheck | None:
    rebuilt = iter(replay.code_ids())
    logged = next(rebuilt, None)
    for row in rows:
        code_id = int(row[0])
        if logged is not None and logged < code_id:
            return _missing(logged, replay)
        if logged is None or logged > code_id:
            return _unissued(row)
        found = _compare(replay, code_id, row)
        if found is not None:
            return found
        logged = next(rebuilt, None)
    return None if logged is None else _missing(logged, replay)


def _missing(code_id: int, replay: Replay) -> StateCheck:
    state = _state(replay, code_id)
    return StateCheck(
        f"code {state.code} (id {code_id}) is missing from trace_code; "
        f"event {state.since} of the log left it {state.status.value} at {state.holder}",
        state.since,
        state.code,
        "existence",
        None,
        "exists",
    )


def _unissued(row: Any) -> StateCheck:
    _id, code, _level, status, holder, _parent, claimed = row
    return StateCheck(
        f"code {code} is in trace_code ({status} at {holder}) but no event of the log issued "
        f"it: commission event {claimed}, which its row names, did not",
        int(claimed),
        str(code),
        "existence",
        "exists",
        None,
    )


def _compare(replay: Replay, code_id: int, row: Any) -> StateCheck | None:
    """Compared column-wise first (a million codes): a tuple is made only of a differing
    code."""
    slot = replay.slot[code_id]
    _id, code, level, status, holder, parent, _claimed = row
    same = (
        code == replay.code[slot]
        and level == replay.level[slot]
        and status == STATUSES[replay.status[slot]]
        and holder == replay.holder[slot]
        and parent == replay.parent[slot]
    )
    return None if same else _difference(replay, _state(replay, code_id), row)


def _difference(replay: Replay, state: CodeState, row: Any) -> StateCheck | None:
    _id, code, level, status, holder, parent, _claimed = row
    if (str(code), int(level)) != (state.code, state.level):
        return StateCheck(
            f"code id {row[0]} is {code} (level {level}) in trace_code; event {state.since} "
            f"of the log issued {state.code} (level {state.level}) under it",
            state.since,
            state.code,
            "existence",
            f"{code}",
            state.code,
        )
    expected = (
        ("status", status, state.status.value),
        ("holder", holder, state.holder),
        ("parent", _code_of(replay, parent), _code_of(replay, state.parent)),
    )
    for name, in_table, in_log in expected:
        if in_table != in_log:
            return StateCheck(
                f"code {code}: {name} is {in_table or 'none'} in trace_code; "
                f"the log makes it {in_log or 'none'} (event {state.since})",
                state.since,
                state.code,
                name,
                in_table,
                in_log,
            )
    return None


def _state(replay: Replay, code_id: int) -> CodeState:
    found = replay.state(code_id)
    assert found is not None  # asked only of codes the replay holds
    return found


def _code_of(replay: Replay, code_id: int | None) -> str | None:
    if code_id is None:
        return None
    found = replay.state(int(code_id))
    return f"id {code_id}" if found is None else found.code
