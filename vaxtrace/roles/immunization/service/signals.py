"""What the MAHs send down to the province: the batch data their shipping notes carry, and
their safety signals (locks, unlocks, recalls, statuses), applied to the province's stock at
once, in the transaction that takes them from the platform."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.province_replay import signalled_codes
from vaxtrace.core.receipt import Consignment, canonical
from vaxtrace.core.signals import BatchFacts, SafetySignal, SignalKind, read_signal
from vaxtrace.core.status import Status
from vaxtrace.exchange.envelope import Opened
from vaxtrace.store.engine import Connection
from vaxtrace.store.immunization import safety, stock


def take_note_batches(conn: Connection, mah_uscc: str, note: Mapping[str, Any]) -> None:
    """The batch data a shipping note carries (expiry, lot release), kept for the gate and
    journaled (the note itself is journaled as its digest only), so that the ``batch`` table
    follows from the journal."""
    facts = [BatchFacts.model_validate(_facts_only(b)) for b in note.get("batches") or []]
    if facts:
        safety.put_batch_facts(conn, mah_uscc, facts, datetime.now(UTC))
        stock.journal_batch_facts(conn, mah_uscc, str(note.get("document_no") or ""), facts)


def _facts_only(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "codes"}


def placed_batches(
    note: Mapping[str, Any], goods: Consignment, placement: Sequence[tuple[str, str | None]]
) -> dict[str, str]:
    """The batch of each code received (``placement``: containers first), as the note says:
    a listed code's own, and what is inside it the batch of its listed container."""
    listed = {
        canonical(c) or c: str(b["batch_no"])
        for b in note.get("batches") or []
        for c in b.get("codes") or []
    }
    found: dict[str, str] = {}
    for code, parent in placement:
        batch_no = found.get(parent) if parent is not None else None
        batch_no = batch_no or listed.get(goods.lineage(code)[-1])
        if batch_no is not None:
            found[code] = batch_no
    return found


def take_signal(conn: Connection, opened: Opened) -> dict[str, Any]:
    """Apply a safety signal the platform forwarded to the province's batches and stock, and
    keep it; answers how many codes of the stock it touched (0 for goods never held here)."""
    signal = read_signal(opened.payload)
    touched = apply_signal(conn, signal, datetime.now(UTC))
    safety.record_signal(
        conn,
        event_id=str(opened.header["event_id"]),
        signal=signal.model_dump(mode="json"),
        codes_affected=touched,
        now=datetime.now(UTC),
    )
    return {"signal": signal.kind.value, "codes_affected": touched}


def apply_signal(conn: Connection, signal: SafetySignal, now: datetime) -> int:
    mah, batch_nos = signal.mah_uscc, signal.batch_nos
    codes = signalled_codes(signal.codes) if signal.codes is not None else None
    match signal.kind:
        case SignalKind.LOCK:
            assert signal.lock_kind is not None
            lock = Status(signal.lock_kind.value)
            if codes is not None:
                return safety.set_code_status(conn, mah, codes, lock)
            return safety.set_batch_values(
                conn, mah, batch_nos, now, lock_kind=lock.value, lock_reason=signal.reason
            )
        case SignalKind.UNLOCK:
            if codes is not None:
                return safety.set_code_status(conn, mah, codes, None, only_from=Status.PENDING)
            return safety.set_batch_values(
                conn,
                mah,
                batch_nos,
                now,
                only_locked_as=Status.PENDING.value,
                lock_kind=None,
                lock_reason=None,
            )
        case SignalKind.RECALL:
            return safety.set_batch_values(conn, mah, batch_nos, now, recall_no=signal.recall_no)
        case SignalKind.RECALL_CLOSED:  # kept on record; what was not returned stays stopped
            return 0
        case SignalKind.STATUS:
            assert codes is not None and signal.status is not None
            return safety.set_code_status(conn, mah, codes, signal.status)
        case SignalKind.BATCH:
            safety.put_batch_facts(conn, mah, signal.batches, now)
            return safety.codes_of_batches(conn, mah, batch_nos)
