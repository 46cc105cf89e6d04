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

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
    """The Merkle root of a commission's codes, fed one code at a time (in code id order):
    :class:`merkle.Frontier`'s right edge, without keeping the nodes it completes."""

    def __init__(self) -> None:
        self.codes = 0
        self.edge: list[bytes] = []

    def add(self, code_id: int, code: str, level: int, parent_id: int | None) -> None:
        value = merkle.leaf_hash(code_leaf(code_id, code, level, parent_id))
        carry = self.codes
        while carry & 1:
            value = merkle.node_hash(self.edge.pop(), value)
            carry >>= 1
        self.edge.append(value)
        self.codes += 1

    def root(self) -> bytes:
        return merkle.Frontier(self.codes, self.edge).root()


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
    issued: Iterable[IssuedCode] = ()
    """Read once, as the event is applied (a commission may issue a million codes)."""
    digest: tuple[int, bytes] | None = None


class LogBroken(Exception):
    """The log contradicts itself: an event that cannot have been written as logged."""

    def __init__(self, event_id: int, message: str) -> None:
        super().__init__(message)
        self.event_id = event_id
        self.message = message


STATUSES = list(Status)
_RANK = {status: rank for rank, status in enumerate(STATUSES)}


@functools.cache
def _moves(action: Action | None) -> bytes:
    """:func:`move_status` of every status (by rank), for ``bytes.translate``-like use."""
    table = bytearray(range(256))
    for status in STATUSES:
        table[_RANK[status]] = _RANK[move_status(status, action)]
    return bytes(table)


class Replay:
    """The codes' state rebuilt from events applied in log order.

    Kept column-wise, a slot per code (a million codes fit in tens of MB): :meth:`state` reads
    one code back as a :class:`CodeState`; a step moves each code it reaches as :func:`moved`
    does, through the same status table, without making a tuple per code.
    """

    def __init__(self) -> None:
        self.slot: dict[int, int] = {}
        self.code: list[str] = []
        self.level = bytearray()
        self.batch: list[int] = []
        self.status = bytearray()
        self.holder: list[str] = []
        self.parent: list[int | None] = []
        self.since: list[int] = []
        self.children: dict[int, list[int]] = {}
        """The slots of what each slot holds now."""
        self.batches: dict[int, list[int]] = {}

    def state(self, code_id: int) -> CodeState | None:
        found = self.slot.get(code_id)
        if found is None:
            return None
        return CodeState(
            self.code[found], self.level[found], self.batch[found],
            STATUSES[self.status[found]], self.holder[found], self.parent[found],
            self.since[found],
        )  # fmt: skip

    def code_ids(self) -> list[int]:
        return sorted(self.slot)

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
            reached = [s for b in event.batch_ids for s in self.batches.get(b, ())]
            self._step(event.id, effect, reached, ())
        else:
            listed = [self.slot[c] for c in event.code_ids if c in self.slot]
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
        batch_id = event.batch_ids[0] if event.batch_ids else 0
        packed: list[tuple[int, int]] = []  # an uploaded file may list a parent after its child
        for code_id, code, level, parent in event.issued:
            tree.add(code_id, code, level, parent)
            slot = self._add(code_id, code, level, batch_id, Status.OTHER, event.org_uscc, event.id)
            if parent is not None:
                packed.append((slot, parent))
        for slot, parent in packed:
            if parent not in self.slot:
                raise LogBroken(event.id, f"commission event {event.id} packs a code into "
                                f"code id {parent}, which it did not issue")  # fmt: skip
            self._set_parent(slot, parent, event.id)
        if (tree.codes, tree.root()) != event.digest:
            raise LogBroken(
                event.id,
                f"the codes kept for commission event {event.id} ({tree.codes}) no longer "
                f"hash to the root its leaf carries ({event.digest[0]} codes)",
            )

    def _add(
        self,
        code_id: int,
        code: str,
        level: int,
        batch_id: int,
        status: Status,
        holder: str,
        event_id: int,
    ) -> int:
        """A new code, in no container yet; answers its slot."""
        slot = self.slot[code_id] = len(self.code)
        self.code.append(code)
        self.level.append(level)
        self.batch.append(batch_id)
        self.status.append(_RANK[status])
        self.holder.append(holder)
        self.parent.append(None)
        self.since.append(event_id)
        self.batches.setdefault(batch_id, []).append(slot)
        return slot

    def _set_parent(self, slot: int, parent: int | None, event_id: int) -> None:
        """Put a code (its slot) into ``parent`` (a code id, known), or out of any."""
        before = self.parent[slot]
        if before is not None:
            self.children[self.slot[before]].remove(slot)
        if parent is not None:
            self.children.setdefault(self.slot[parent], []).append(slot)
        self.parent[slot] = parent
        self.since[slot] = event_id

    def _split(self, event: LoggedEvent) -> tuple[int, list[int]]:
        """A packing event's container (its highest-level code, by id) and the slots of the
        codes it moved."""
        known = [c for c in event.code_ids if c in self.slot]
        if not known:
            raise LogBroken(event.id, f"{event.bill_type} event {event.id} names no known code")
        container = max(known, key=lambda c: self.level[self.slot[c]])
        return container, [self.slot[c] for c in known if c != container]

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
        old = [c for c in event.code_ids if c in self.slot]
        new = [c for c in event.code_ids if c not in self.slot]
        if len(old) != 1 or len(new) != 1:
            raise LogBroken(event.id, f"replace event {event.id} names no old and new code")
        was = self.slot[old[0]]
        code = str(event.payload.get("new_code", ""))
        status, holder, parent = STATUSES[self.status[was]], self.holder[was], self.parent[was]
        slot = self._add(new[0], code, self.level[was], self.batch[was], status, holder, event.id)
        self._set_parent(was, None, event.id)
        self._set_parent(slot, parent, event.id)
        for kid in list(self.children.get(was, ())):
            self._set_parent(kid, new[0], event.id)
        self.status[was] = _RANK[Status.SUSPENDED]

    # --- steps --------------------------------------------------------------------------

    def _expand(self, listed: Sequence[int]) -> list[int]:
        """The listed codes' slots and the slots of everything inside them now."""
        found, stack = [], list(listed)
        while stack:
            slot = stack.pop()
            found.append(slot)
            stack.extend(self.children.get(slot, ()))
        return found

    def _step(
        self, event_id: int, effect: Effect, reached: Sequence[int], listed: Sequence[int]
    ) -> None:
        """Every reached code as :func:`moved` leaves it; listed codes out of their containers
        when the step is a movement."""
        table, status, since = _moves(effect.action), self.status, self.since
        for slot in reached:
            status[slot] = table[status[slot]]
            since[slot] = event_id
        if effect.holder is not None:
            holder = self.holder
            for slot in reached:
                holder[slot] = effect.holder
            for slot in listed:
                if self.parent[slot] is not None:
                    self._set_parent(slot, None, event_id)
