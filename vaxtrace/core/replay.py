"""A trace node's state as a function of its log: what each logged event does to the codes it
concerns, applied in log order from the codes each commission issued.

Pure: the events come in as :class:`LoggedEvent` (what their leaves commit to), the state is kept
in memory per code (:class:`CodeState`), and :func:`moved` is the one transition of a code by a
step; the status machine is :mod:`vaxtrace.core.status`'s. The store streams events and tables,
the trace service compares (``roles.trace.service.replay``).

A commission's codes are committed to by a Merkle root (RFC 9162) over one leaf per code, in
code id order: ``b"<id> <level> <parent id or 0> <code>"`` (the code last, so any character it
holds is unambiguous); :func:`code_leaf`, :class:`CodesRoot`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from vaxtrace.core.datasets.locks import LockKind
from vaxtrace.core.datasets.production import Conclusion
from vaxtrace.core.downstream import ACTIONS as DOWNSTREAM_ACTIONS
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.status import TRANSITIONS, Action, Status
from vaxtrace.ledger import merkle

# --- a commission's codes under one root ------------------------------------------------


def code_leaf(code_id: int, code: str, level: int, parent_id: int | None) -> bytes:
    """What a commission's root commits to for one code it issued."""
    return f"{code_id} {level} {parent_id or 0} {code}".encode()


class CodesRoot:
    """The Merkle root of a commission's codes, fed one code at a time (in code id order)."""

    def __init__(self) -> None:
        self.tree = merkle.Frontier()

    def add(self, code_id: int, code: str, level: int, parent_id: int | None) -> None:
        for _ in self.tree.append(merkle.leaf_hash(code_leaf(code_id, code, level, parent_id))):
            pass

    @property
    def codes(self) -> int:
        return self.tree.size

    def root(self) -> bytes:
        return self.tree.root()


# --- what one event does ------------------------------------------------------------------

MOVES_TO_COUNTERPARTY = frozenset({DownstreamBill.DISTRIBUTION, DownstreamBill.RETURN})
"""Downstream steps whose codes go to the counterparty (the others stay with the reporter)."""

LOCK_ACTIONS = {
    LockKind.PENDING: Action.LOCK_PENDING,
    LockKind.TO_BE_RECALLED: Action.LOCK_TO_BE_RECALLED,
    LockKind.ABNORMAL: Action.LOCK_ABNORMAL,
}

_MAH_MOVES = {
    "101": Action.WAREHOUSE,  # in the MAH's stock
    "201": Action.SHIP,  # to the consignee of the note
    "103": Action.RETURN,  # back from a CDC
    "205": Action.DESTROY,  # by whoever destroys (MAH or province: same bill type)
    "108": Action.RECALL_IN,  # back under a recall
}
_MOVES = _MAH_MOVES | {bill.value: action for bill, action in DOWNSTREAM_ACTIONS.items()}
_HOLDER_FIELD = {"201": "consignee_uscc"} | {
    bill.value: "counterparty_uscc" for bill in MOVES_TO_COUNTERPARTY
}
"""Movements whose codes go to an organisation named in the payload (else to the event's)."""
_QUALITY = {"self_inspection": Action.SELF_INSPECT, "lot_release": Action.LOT_RELEASE}


@dataclass(frozen=True, slots=True)
class Effect:
    """What a step does to the codes it reaches: the status move, the new holder (None: the
    holder stays), and whether it reaches whole batches rather than its listed codes and what
    they hold (a movement also takes its listed codes out of their containers)."""

    action: Action | None
    holder: str | None = None
    on_batches: bool = False


def effect_of(bill_type: str, org_uscc: str, payload: Mapping[str, Any]) -> Effect | None:
    """The effect of a logged step on codes or batches; None for an event that moves no code
    state (a recall closure, a correction, a temperature record) or a structural one
    (commission, pack, unpack, replace: see :class:`Replay`)."""
    if bill_type in _MOVES:
        holder = payload.get(_HOLDER_FIELD[bill_type]) if bill_type in _HOLDER_FIELD else None
        return Effect(_MOVES[bill_type], str(holder or org_uscc))
    if bill_type in _QUALITY:
        passed = payload.get("conclusion") == Conclusion.PASS.value
        return Effect(_QUALITY[bill_type] if passed else None, on_batches=True)
    if bill_type == "recall":
        return Effect(None if payload.get("mock") else Action.START_RECALL, on_batches=True)
    if bill_type in ("lock", "unlock"):
        action = Action.UNLOCK if bill_type == "unlock" else LOCK_ACTIONS[LockKind(payload["kind"])]
        return Effect(action, on_batches=payload.get("batch_nos") is not None)
    return None


# --- one code's state -------------------------------------------------------------------


class CodeState(NamedTuple):
    """A code as the log leaves it, and the last event that changed it."""

    code: str
    level: int
    batch_id: int
    status: Status
    holder: str
    parent: int | None
    since: int


def move_status(status: Status, action: Action | None) -> Status:
    """The status after ``action`` as the stores apply it: a status the table does not move
    stays (a step's codes were all checked before; a batch step moves only those it may)."""
    if action is None:
        return status
    return TRANSITIONS[action].get(status, status)


def moved(state: CodeState, effect: Effect, event_id: int) -> CodeState:
    """A code reached by a step: its status moved and, by a movement, handed to the step's
    holder (a movement's listed codes also leave their containers: :class:`Replay`)."""
    return CodeState(
        state.code,
        state.level,
        state.batch_id,
        move_status(state.status, effect.action),
        effect.holder or state.holder,
        state.parent,
        event_id,
    )


# --- the whole log ----------------------------------------------------------------------


class IssuedCode(NamedTuple):
    """A code as its commission issued it (what the commission's root commits to)."""

    code_id: int
    code: str
    level: int
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One event of the log with the codes and batches its leaf names (by id), and, for a
    commission, the codes it issued and the digest its leaf carries."""

    id: int
    bill_type: str
    org_uscc: str
    payload: Mapping[str, Any]
    code_ids: Sequence[int] = ()
    batch_ids: Sequence[int] = ()
    issued: Sequence[IssuedCode] = ()
    digest: tuple[int, bytes] | None = None


class LogBroken(Exception):
    """The log contradicts itself: an event that cannot have been written as logged."""

    def __init__(self, event_id: int, message: str) -> None:
        super().__init__(message)
        self.event_id = event_id
        self.message = message


@dataclass
class Replay:
    """The codes' state rebuilt from events applied in log order."""

    codes: dict[int, CodeState] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    batches: dict[int, list[int]] = field(default_factory=dict)

    def apply_all(self, events: Iterable[LoggedEvent]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: LoggedEvent) -> None:
        structural = {
            "commission": self._commission,
            "pack": self._pack,
            "unpack": self._unpack,
            "replace": self._replace,
        }
        if event.bill_type in structural:
            structural[event.bill_type](event)
            return
        effect = effect_of(event.bill_type, event.org_uscc, event.payload)
        if effect is None:
            return
        if effect.on_batches:
            self._step(event.id, effect, self._of_batches(event.batch_ids), ())
        else:
            listed = [c for c in event.code_ids if c in self.codes]
            self._step(event.id, effect, self._expand(listed), listed)

    # --- structure ----------------------------------------------------------------------

    def _commission(self, event: LoggedEvent) -> None:
        if event.digest is None:
            raise LogBroken(
                event.id,
                f"commission event {event.id} carries no digest of its codes "
                "(written before codes were logged): its codes cannot be replayed",
            )
        tree = CodesRoot()
        for issued in event.issued:
            tree.add(*issued)
        if (tree.codes, tree.root()) != event.digest:
            raise LogBroken(
                event.id,
                f"the codes kept for commission event {event.id} ({tree.codes}) no longer "
                f"hash to the root its leaf carries ({event.digest[0]} codes)",
            )
        batch_id = event.batch_ids[0] if event.batch_ids else 0
        for issued in event.issued:
            self._add(issued, batch_id, Status.OTHER, event.org_uscc, event.id)

    def _add(
        self, issued: IssuedCode, batch_id: int, status: Status, holder: str, event_id: int
    ) -> None:
        code_id, code, level, parent = issued
        self.codes[code_id] = CodeState(code, level, batch_id, status, holder, parent, event_id)
        self.batches.setdefault(batch_id, []).append(code_id)
        if parent is not None:
            self.children.setdefault(parent, []).append(code_id)

    def _set_parent(self, code_id: int, parent: int | None, event_id: int) -> None:
        state = self.codes[code_id]
        if state.parent is not None:
            self.children[state.parent].remove(code_id)
        if parent is not None:
            self.children.setdefault(parent, []).append(code_id)
        self.codes[code_id] = state._replace(parent=parent, since=event_id)

    def _split(self, event: LoggedEvent) -> tuple[int, list[int]]:
        """A packing event's container (its highest-level code) and the codes it moved."""
        known = [c for c in event.code_ids if c in self.codes]
        if not known:
            raise LogBroken(event.id, f"{event.bill_type} event {event.id} names no known code")
        container = max(known, key=lambda c: self.codes[c].level)
        return container, [c for c in known if c != container]

    def _pack(self, event: LoggedEvent) -> None:
        container, kids = self._split(event)
        for kid in kids:
            self._set_parent(kid, container, event.id)

    def _unpack(self, event: LoggedEvent) -> None:
        _container, kids = self._split(event)
        for kid in kids:
            self._set_parent(kid, None, event.id)

    def _replace(self, event: LoggedEvent) -> None:
        """换码: the new code takes the old one's place, status, holder and contents."""
        old = [c for c in event.code_ids if c in self.codes]
        new = [c for c in event.code_ids if c not in self.codes]
        if len(old) != 1 or len(new) != 1:
            raise LogBroken(event.id, f"replace event {event.id} names no old and new code")
        was = self.codes[old[0]]
        code = str(event.payload.get("new_code", ""))
        issued = IssuedCode(new[0], code, was.level, was.parent)
        self._add(issued, was.batch_id, was.status, was.holder, event.id)
        self._set_parent(old[0], None, event.id)
        for kid in list(self.children.get(old[0], ())):
            self._set_parent(kid, new[0], event.id)
        state = self.codes[old[0]]
        self.codes[old[0]] = state._replace(status=Status.SUSPENDED, since=event.id)

    # --- steps --------------------------------------------------------------------------

    def _of_batches(self, batch_ids: Sequence[int]) -> Iterator[int]:
        for batch_id in batch_ids:
            yield from self.batches.get(batch_id, ())

    def _expand(self, listed: Sequence[int]) -> list[int]:
        """The listed codes and everything inside them now."""
        found, stack = [], list(listed)
        while stack:
            code_id = stack.pop()
            found.append(code_id)
            stack.extend(self.children.get(code_id, ()))
        return found

    def _step(
        self, event_id: int, effect: Effect, reached: Iterable[int], listed: Sequence[int]
    ) -> None:
        codes = self.codes
        for code_id in reached:
            codes[code_id] = moved(codes[code_id], effect, event_id)
        if effect.holder is not None:
            for code_id in listed:
                if codes[code_id].parent is not None:
                    self._set_parent(code_id, None, event_id)
