"""The province's stock as a function of its journal: every code it received, who holds it, in
which state and container, of which MAH and batch, with the MAH's status on it, rebuilt from
the journal's entries alone, in entry order (no I/O).

A province's stock changes only by decisions it journals in the transaction that makes them:

- a write (``province_write``): a receipt (107) puts codes in stock, each in its container and
  with its batch, as its entry's ``stock`` section says (:func:`received`); a movement (209
  distribution, 322 vaccination, 202 return, 215 damage, 216 scrap, 205 destruction) moves the
  codes its step lists and everything inside them, as its bill type says (:data:`MOVES`, the
  rule of ``service.movements.take_listed`` and ``hand_over``); an undo (323) puts a used dose
  back in stock;
- a MAH's safety signal: a lock, unlock or status on codes sets the MAH's status on them and
  everything inside them; on batches, a lock, unlock or recall sets the batch's
  (:func:`batches_kept`), as do the batch data a signal or a shipping note carries (entries
  ``batch_facts``).

:class:`StockReplay` keeps the codes column-wise (a million fit in a few hundred MB) and
applies each entry as the write path applied it, checking what the write path checked: an
entry the replayed stock could not have taken (a code moved that it does not hold) means the
log contradicts itself (:class:`vaxtrace.core.replay.LogBroken`). :func:`first_stock_difference`
then walks the table's rows and the rebuilt codes in code order and names the first code whose
state differs, with the entry that should have produced it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, NamedTuple

from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.immunization import DISPOSABLE_STATES, StockState
from vaxtrace.core.mirror import Kept
from vaxtrace.core.receipt import canonical
from vaxtrace.core.replay import LogBroken
from vaxtrace.core.signals import BatchFacts, SafetySignal, SignalKind
from vaxtrace.core.status import Status

# --- what an entry says of the stock ------------------------------------------------------

WRITE_KINDS = (
    "receipt",
    "distribution",
    "vaccination",
    "vaccination_undo",
    "return",
    "damage",
    "scrap",
    "destruction",
)
"""Kinds of the province's write entries (each write's operation)."""
SIGNAL = "safety_signal"
BATCH_FACTS = "batch_facts"
"""An entry of the batch data a shipping note carried, kept when the note is taken."""
STOCK_KINDS = (*WRITE_KINDS, SIGNAL)
"""The entries that change the ``stock`` table."""
BATCH_KINDS = (BATCH_FACTS, SIGNAL)
"""The entries that change the ``batch`` table."""

INTO_STOCK = "stock"
"""A receipt of a MAH's shipping note: new codes of the province."""
FROM_TRANSIT = "transit"
"""A receipt of a CDC's distribution: codes on their way to the receiver, now in its stock."""

IN_STOCK_ONLY = frozenset({StockState.IN_STOCK})
USED = StockState.USED


class Move(NamedTuple):
    """What a movement does to the codes it reaches: from which states of the actor's stock,
    to whom (None: the actor) and into which state (None: as its answer says)."""

    from_states: frozenset[StockState]
    to_counterparty: bool
    to_state: StockState | None


MOVES: dict[str, Move] = {
    DownstreamBill.DISTRIBUTION.value: Move(IN_STOCK_ONLY, True, StockState.IN_TRANSIT),
    DownstreamBill.VACCINATION.value: Move(IN_STOCK_ONLY, False, StockState.USED),
    DownstreamBill.RETURN.value: Move(IN_STOCK_ONLY, True, None),  # in stock above, or gone
    DownstreamBill.DAMAGE.value: Move(IN_STOCK_ONLY, False, StockState.DAMAGED),
    DownstreamBill.SCRAP.value: Move(
        DISPOSABLE_STATES[DownstreamBill.SCRAP], False, StockState.SCRAPPED
    ),
    DownstreamBill.DESTRUCTION.value: Move(
        DISPOSABLE_STATES[DownstreamBill.DESTRUCTION], False, StockState.DESTROYED
    ),
}
"""Each movement's rule, by bill type (the write path's ``take_listed`` and ``hand_over``)."""


def received(
    placement: Sequence[tuple[str, str | None]],
    *,
    receipt_id: int,
    mah_uscc: str | None = None,
    batches: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``stock`` section of a receipt's entry: every code it put in stock, grouped by the
    container it is in (None: loose) and its batch, each code once; ``mah_uscc`` for goods
    new to the province (a MAH's note), None for goods a CDC distributed (in transit until
    now, their batch and MAH kept)."""
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    found = batches or {}
    for code, parent in placement:
        groups.setdefault((parent, found.get(code)), []).append(code)
    return {
        "into": FROM_TRANSIT if mah_uscc is None else INTO_STOCK,
        "receipt_id": receipt_id,
        "mah_uscc": mah_uscc,
        "placed": [[parent, batch_no, codes] for (parent, batch_no), codes in groups.items()],
    }


def signalled_codes(codes: Iterable[str]) -> list[str]:
    """The codes a signal names, canonical where they can be read, each once (the rule the
    province applies a signal by)."""
    return list(dict.fromkeys(canonical(c) or c.strip() for c in codes))


def utc(value: Any) -> datetime | None:
    """A moment as an aware UTC time, from a datetime (naive: UTC, as SQLite hands it back)
    or the ISO 8601 text an entry keeps."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- the codes' state -----------------------------------------------------------------------

STATES = list(StockState)
_RANK = {state: rank for rank, state in enumerate(STATES)}
_BY_VALUE = {state.value: rank for rank, state in enumerate(STATES)}


class CodeState(NamedTuple):
    """A code as the journal leaves it, and the last entry that changed it."""

    code: str
    parent: str | None
    holder: str
    state: StockState
    mah: str
    batch_no: str | None
    mah_status: str | None
    receipt_id: int | None
    stepped_at: datetime | None
    since: int


COMPARED = ("state", "holder_uscc", "parent_code", "mah_status", "batch_no", "mah_uscc")
"""The columns compared, in the order a difference is looked for (then ``receipt_id`` and
``stepped_at``); ``updated_at`` (when the row was last written) is not."""


class StockReplay:
    """The province's stock rebuilt from its journal's entries, applied in entry order.

    Column-wise, a slot per code; ``children`` by code, as ``stock.parent_code`` points (a
    row deleted when its code comes back leaves what it held pointing at it, as the table
    does)."""

    def __init__(self) -> None:
        self.slot: dict[str, int] = {}
        self.parent: list[str | None] = []
        self.holder: list[str] = []
        self.state = bytearray()
        self.mah: list[str] = []
        self.batch: list[str | None] = []
        self.status: list[str | None] = []
        self.receipt: list[int | None] = []
        self.stepped: list[datetime | None] = []
        self.since: list[int] = []
        self.children: dict[str, list[str]] = {}

    # --- reading back ---------------------------------------------------------------------

    def state_of(self, code: str) -> CodeState | None:
        found = self.slot.get(code)
        if found is None:
            return None
        return CodeState(
            code, self.parent[found], self.holder[found], STATES[self.state[found]],
            self.mah[found], self.batch[found], self.status[found], self.receipt[found],
            self.stepped[found], self.since[found],
        )  # fmt: skip

    def codes(self) -> list[str]:
        """Every code the stock holds, in code order (as the table's byte-wise order)."""
        return sorted(self.slot)

    # --- applying entries -----------------------------------------------------------------

    def apply_all(self, entries: Iterable[Mapping[str, Any]]) -> None:
        for entry in entries:
            self.apply(entry)

    def apply(self, entry: Mapping[str, Any]) -> None:
        """One entry (its document, with its ``id``); entries of other kinds change nothing."""
        kind = entry["kind"]
        if kind == SIGNAL:
            self._signal(int(entry["id"]), SafetySignal.model_validate(entry["signal"]))
        elif kind == "receipt":
            self._receipt(entry)
        elif kind == "vaccination_undo":
            self._undo(entry)
        elif kind in WRITE_KINDS:
            self._move(entry)

    def _receipt(self, entry: Mapping[str, Any]) -> None:
        entry_id, actor = int(entry["id"]), sys.intern(str(entry["org_uscc"]))
        section = entry.get("stock")
        if not isinstance(section, Mapping):
            raise LogBroken(
                entry_id,
                f"receipt entry {entry_id} does not say which codes it put in stock (written "
                "before the stock was journaled): the stock cannot be replayed",
            )
        at = utc(entry["event"]["business_time"])
        receipt_id = int(section["receipt_id"])
        groups = [(p, b, list(codes)) for p, b, codes in section["placed"]]
        if section["into"] == FROM_TRANSIT:
            self._from_transit(entry_id, actor, groups, receipt_id, at)
        else:
            mah = sys.intern(str(section["mah_uscc"]))
            self._into_stock(entry_id, actor, mah, groups, receipt_id, at)

    def _into_stock(
        self,
        entry_id: int,
        actor: str,
        mah: str,
        groups: Sequence[tuple[str | None, str | None, list[str]]],
        receipt_id: int,
        at: datetime | None,
    ) -> None:
        """New codes (``stock.put_in_stock``), after the earlier, returned stay of any that
        come back is forgotten with whatever returned inside it (``stock.clear_returned``)."""
        returned = _RANK[StockState.RETURNED]
        back = []
        for _parent, _batch, codes in groups:
            for code in codes:
                slot = self.slot.get(code)
                if slot is None:
                    continue
                if self.state[slot] != returned:
                    raise LogBroken(entry_id, self._held(entry_id, "receives", code))
                back.append(code)
        if back:
            self._forget_returned(back)
        in_stock = _RANK[StockState.IN_STOCK]
        for parent, batch_no, codes in groups:
            batch_no = None if batch_no is None else sys.intern(str(batch_no))
            for code in codes:
                self._add(code, parent, actor, in_stock, mah, batch_no, receipt_id, at, entry_id)

    def _forget_returned(self, codes: Sequence[str]) -> None:
        returned = _RANK[StockState.RETURNED]
        stack, gone = list(codes), dict[str, None]()  # a code listed and inside one: once
        while stack:
            code = stack.pop()
            gone[code] = None
            stack.extend(
                c for c in self.children.get(code, ()) if self.state[self.slot[c]] == returned
            )
        for code in gone:
            slot = self.slot.pop(code)
            parent = self.parent[slot]
            if parent is not None:
                self.children[parent].remove(code)

    def _add(
        self,
        code: str,
        parent: str | None,
        holder: str,
        state: int,
        mah: str,
        batch_no: str | None,
        receipt_id: int | None,
        at: datetime | None,
        entry_id: int,
    ) -> None:
        self.slot[code] = len(self.holder)
        self.parent.append(parent)
        self.holder.append(holder)
        self.state.append(state)
        self.mah.append(mah)
        self.batch.append(batch_no)
        self.status.append(None)
        self.receipt.append(receipt_id)
        self.stepped.append(at)
        self.since.append(entry_id)
        if parent is not None:
            self.children.setdefault(parent, []).append(code)

    def _from_transit(
        self,
        entry_id: int,
        actor: str,
        groups: Sequence[tuple[str | None, str | None, list[str]]],
        receipt_id: int,
        at: datetime | None,
    ) -> None:
        """Codes on their way to the actor, in its stock now, each in the container the
        receipt names (``stock.receive_in_transit``)."""
        in_transit, in_stock = _RANK[StockState.IN_TRANSIT], _RANK[StockState.IN_STOCK]
        for parent, _batch, codes in groups:
            for code in codes:
                slot = self.slot.get(code)
                if slot is None or self.holder[slot] != actor or self.state[slot] != in_transit:
                    raise LogBroken(
                        entry_id,
                        self._held(entry_id, "receives", code, StockState.IN_TRANSIT.value),
                    )
                self.state[slot] = in_stock
                self.receipt[slot] = receipt_id
                self.stepped[slot] = at
                self.since[slot] = entry_id
                self._set_parent(code, slot, parent)

    def _set_parent(self, code: str, slot: int, parent: str | None) -> None:
        before = self.parent[slot]
        if before == parent:
            return
        if before is not None:
            self.children[before].remove(code)
        if parent is not None:
            self.children.setdefault(parent, []).append(code)
        self.parent[slot] = parent

    def _move(self, entry: Mapping[str, Any]) -> None:
        """A movement (``take_listed`` then ``hand_over``): the listed codes, all held by the
        actor in one of the move's states, and everything inside them go to the move's holder
        in its state; the listed codes leave their containers."""
        entry_id, actor, event = int(entry["id"]), str(entry["org_uscc"]), entry["event"]
        move = MOVES.get(str(event["bill_type"]))
        if move is None:
            raise LogBroken(entry_id, f"entry {entry_id}: no movement has bill type "
                            f"{event['bill_type']}")  # fmt: skip
        to_holder = sys.intern(str(event["counterparty_uscc"] if move.to_counterparty else actor))
        to_state = move.to_state or StockState(entry["response"]["state"])
        listed = list(event["codes"])
        allowed = {_RANK[s] for s in move.from_states}
        reached, stack = [], list(listed)
        while stack:
            code = stack.pop()
            slot = self.slot.get(code)
            if slot is None or self.holder[slot] != actor or self.state[slot] not in allowed:
                states = "/".join(sorted(s.value for s in move.from_states))
                raise LogBroken(entry_id, self._held(entry_id, "moves", code, states, actor))
            reached.append(slot)
            stack.extend(self.children.get(code, ()))
        moved = entry["response"].get("moved")
        if moved is not None and int(moved) != len(reached):
            raise LogBroken(
                entry_id,
                f"entry {entry_id} says it moved {moved} codes; the journal's stock holds "
                f"{len(reached)} in what it lists",
            )
        for code in listed:
            slot = self.slot[code]
            self._set_parent(code, slot, None)
        at, state = utc(event["business_time"]), _RANK[to_state]
        for slot in reached:
            self.holder[slot] = to_holder
            self.state[slot] = state
            self.stepped[slot] = at
            self.since[slot] = entry_id

    def _undo(self, entry: Mapping[str, Any]) -> None:
        """A used dose back in its site's stock (``vaccinations.restore_used``)."""
        entry_id, actor, event = int(entry["id"]), str(entry["org_uscc"]), entry["event"]
        for code in event["codes"]:
            slot = self.slot.get(code)
            if slot is None or self.holder[slot] != actor or self.state[slot] != _RANK[USED]:
                raise LogBroken(entry_id, self._held(entry_id, "restores", code, "used", actor))
            self.state[slot] = _RANK[StockState.IN_STOCK]
            self.stepped[slot] = utc(event["business_time"])
            self.since[slot] = entry_id

    def _signal(self, entry_id: int, signal: SafetySignal) -> None:
        """A MAH's status on codes (``safety.set_code_status``): on the named codes the
        province holds of that MAH and everything inside them; an unlock clears pending
        locks only. Batch-wide signals change the ``batch`` table (:func:`batches_kept`)."""
        if signal.codes is None:
            return
        if signal.kind is SignalKind.LOCK:
            assert signal.lock_kind is not None
            self._set_status(entry_id, signal, Status(signal.lock_kind.value).value)
        elif signal.kind is SignalKind.UNLOCK:
            self._set_status(entry_id, signal, None, only_from=Status.PENDING.value)
        elif signal.kind is SignalKind.STATUS:
            assert signal.status is not None
            self._set_status(entry_id, signal, signal.status.value)

    def _set_status(
        self, entry_id: int, signal: SafetySignal, status: str | None, only_from: str | None = None
    ) -> None:
        assert signal.codes is not None
        mah = signal.mah_uscc
        stack = [c for c in signalled_codes(signal.codes) if c in self.slot]
        stack = [c for c in stack if self.mah[self.slot[c]] == mah]
        while stack:
            code = stack.pop()
            slot = self.slot[code]
            stack.extend(self.children.get(code, ()))
            if only_from is None or self.status[slot] == only_from:
                self.status[slot] = status
                self.since[slot] = entry_id

    def _held(
        self, entry_id: int, verb: str, code: str, wanted: str | None = None, by: str = ""
    ) -> str:
        found = self.state_of(code)
        where = (
            "a code the journal never put in stock"
            if found is None
            else f"{found.state.value} at {found.holder} (entry {found.since})"
        )
        need = f", which must be {wanted}{' at ' + by if by else ''}" if wanted else ""
        return f"entry {entry_id} {verb} {code}{need}; the journal left it {where}"


# --- the table against the replay ------------------------------------------------------------

StockField = Literal[
    "existence",
    "state",
    "holder_uscc",
    "parent_code",
    "mah_status",
    "batch_no",
    "mah_uscc",
    "receipt_id",
    "stepped_at",
]


@dataclass(frozen=True, slots=True)
class StockDifference:
    """Where the ``stock`` table and the journal first part (codes in code order)."""

    message: str
    entry_id: int | None
    """The entry that should have produced what the journal says (the code's last)."""
    code: str | None = None
    field: StockField | None = None
    in_table: Any = None
    in_log: Any = None


class StockRow(NamedTuple):
    """A row of ``stock`` as compared (``stepped_at`` an aware UTC time or None)."""

    code: str
    parent_code: str | None
    holder_uscc: str
    state: str
    mah_uscc: str
    batch_no: str | None
    mah_status: str | None
    receipt_id: int | None
    stepped_at: datetime | None


def first_stock_difference(
    replay: StockReplay, rows: Iterable[Sequence[Any]]
) -> StockDifference | None:
    """The first code, in code order, that the table (``rows``: :class:`StockRow` fields, in
    code order; ``stepped_at`` as the backend hands it back, see :func:`utc`) holds otherwise
    than the journal leaves it; None when all agree."""
    rebuilt = iter(replay.codes())
    logged = next(rebuilt, None)
    last: str | None = None
    moments = _Moments()
    for row in rows:
        code = row[0]
        if last is not None and code <= last:
            raise ValueError("stock rows to compare must come in code order")
        last = code
        if logged is not None and logged < code:
            return _missing(replay, logged)
        if logged is None or logged > code:
            return _inserted(_row(row, moments))
        found = _compared(replay, row, moments)
        if found is not None:
            return found
        logged = next(rebuilt, None)
    return None if logged is None else _missing(replay, logged)


class _Moments(dict[Any, datetime | None]):
    """:func:`utc` of each moment as the backend hands it back, once per distinct value (the
    codes a step moved share its time)."""

    def __missing__(self, raw: Any) -> datetime | None:
        if len(self) > 100_000:
            self.clear()
        found = self[raw] = utc(raw)
        return found


def _row(row: Sequence[Any], moments: _Moments) -> StockRow:
    code, parent, holder, state, mah, batch_no, status, receipt_id, stepped = row
    return StockRow(
        code, parent, holder, state, mah, batch_no, status, receipt_id, moments[stepped]
    )


def _missing(replay: StockReplay, code: str) -> StockDifference:
    state = _state(replay, code)
    return StockDifference(
        f"code {code} is missing from stock; entry {state.since} of the journal left it "
        f"{state.state.value} at {state.holder}: deleted",
        state.since,
        code,
        "existence",
        None,
        "exists",
    )


def _inserted(row: StockRow) -> StockDifference:
    return StockDifference(
        f"code {row.code} is in stock ({row.state} at {row.holder_uscc}) but no entry of the "
        "journal put it there: inserted outside the log",
        None,
        row.code,
        "existence",
        "exists",
        None,
    )


def _compared(replay: StockReplay, row: Sequence[Any], moments: _Moments) -> StockDifference | None:
    """Compared column-wise first (a million codes): a tuple is made only of a differing
    code."""
    code, parent, holder, state, mah, batch_no, status, receipt_id, stepped = row
    slot = replay.slot[code]
    same = (
        _BY_VALUE.get(state) == replay.state[slot]
        and holder == replay.holder[slot]
        and parent == replay.parent[slot]
        and status == replay.status[slot]
        and batch_no == replay.batch[slot]
        and mah == replay.mah[slot]
        and receipt_id == replay.receipt[slot]
        and moments[stepped] == replay.stepped[slot]
    )
    return None if same else _difference(_state(replay, code), _row(row, moments))


def _difference(state: CodeState, row: StockRow) -> StockDifference | None:
    expected: tuple[tuple[StockField, Any, Any], ...] = (
        ("state", row.state, state.state.value),
        ("holder_uscc", row.holder_uscc, state.holder),
        ("parent_code", row.parent_code, state.parent),
        ("mah_status", row.mah_status, state.mah_status),
        ("batch_no", row.batch_no, state.batch_no),
        ("mah_uscc", row.mah_uscc, state.mah),
        ("receipt_id", row.receipt_id, state.receipt_id),
        ("stepped_at", _shown(row.stepped_at), _shown(state.stepped_at)),
    )
    for name, in_table, in_log in expected:
        if in_table != in_log:
            return StockDifference(
                f"code {row.code}: {name} is {in_table or 'none'} in stock; the journal makes "
                f"it {in_log or 'none'} (entry {state.since}): altered",
                state.since,
                row.code,
                name,
                in_table,
                in_log,
            )
    return None


def _shown(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _state(replay: StockReplay, code: str) -> CodeState:
    found = replay.state_of(code)
    assert found is not None  # asked only of codes the replay holds
    return found


# --- batches -------------------------------------------------------------------------------

BATCH_FIELDS = (
    "product_code",
    "production_date",
    "expiry_date",
    "lot_release_no",
    "lot_release_authority",
    "lot_release_date",
    "lot_release_sha256",
    "lock_kind",
    "lock_reason",
    "recall_no",
)
"""The columns of ``batch`` the journal decides (``updated_at`` apart)."""


def batches_kept(entries: Sequence[Mapping[str, Any]]) -> Iterator[Kept]:
    """Each batch as the entries of :data:`BATCH_KINDS` (oldest first) leave it, with the last
    entry that changed it (``safety.put_batch_facts`` and ``set_batch_values``)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    since: dict[tuple[str, str], int] = {}

    def touch(mah: str, batch_nos: Iterable[str], entry_id: int) -> list[tuple[str, str]]:
        keys = [(mah, b) for b in dict.fromkeys(batch_nos)]
        for key in keys:
            if key not in rows:
                rows[key] = {"mah_uscc": key[0], "batch_no": key[1]} | dict.fromkeys(BATCH_FIELDS)
            since[key] = entry_id
        return keys

    def facts(mah: str, found: Sequence[BatchFacts], entry_id: int) -> None:
        touch(mah, (f.batch_no for f in found), entry_id)
        for f in found:
            rows[(mah, f.batch_no)].update(_facts(f))

    for entry in entries:
        entry_id = int(entry["id"])
        if entry["kind"] == BATCH_FACTS:
            found = [BatchFacts.model_validate(b) for b in entry["batches"]]
            facts(str(entry["mah_uscc"]), found, entry_id)
            continue
        signal = SafetySignal.model_validate(entry["signal"])
        mah, kind = signal.mah_uscc, signal.kind
        if kind is SignalKind.BATCH:
            facts(mah, signal.batches, entry_id)
        elif kind is SignalKind.LOCK and signal.codes is None:
            assert signal.lock_kind is not None
            for key in touch(mah, signal.batch_nos, entry_id):
                rows[key] |= {"lock_kind": signal.lock_kind.value, "lock_reason": signal.reason}
        elif kind is SignalKind.UNLOCK and signal.codes is None:
            for key in touch(mah, signal.batch_nos, entry_id):
                if rows[key]["lock_kind"] == Status.PENDING.value:
                    rows[key] |= {"lock_kind": None, "lock_reason": None}
        elif kind is SignalKind.RECALL:
            for key in touch(mah, signal.batch_nos, entry_id):
                rows[key]["recall_no"] = signal.recall_no
    for key, row in rows.items():
        yield Kept(since[key], row)


def _facts(f: BatchFacts) -> dict[str, Any]:
    release = f.lot_release
    return {
        "product_code": f.product_code,
        "production_date": _day(f.production_date),
        "expiry_date": _day(f.expiry_date),
        "lot_release_no": None if release is None else release.certificate_no,
        "lot_release_authority": None if release is None else release.authority,
        "lot_release_date": None if release is None else _day(release.release_date),
        "lot_release_sha256": None if release is None else release.certificate_sha256,
    }


def _day(value: date) -> str:
    return value.isoformat()
