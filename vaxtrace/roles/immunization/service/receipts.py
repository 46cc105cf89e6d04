"""扫码验收, receipt with scan verification: a CDC scans what arrives against the shipping note
the platform announced, a CDC or a vaccination site against the distribution (209) of the CDC
that supplies it; it then confirms the receipt (:mod:`.receiving`). A partial receipt stays
open: a later confirmation adds what came late, until everything on the note was received.

A scan reads the note's header and looks its code up among the codes the note was read into
when it was announced (``expected_code``); it never reads the whole note. It is decided on a
snapshot, without the writer's lock, and kept in the audit whatever was decided (see
:class:`ScanAudit`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.dose_gate import DoseFacts, Label, StockPlace, local_date, stop_reasons
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.receipt import (
    Consignment,
    NoteView,
    Place,
    PlaceOf,
    ReceiptState,
    ReceiptVerification,
    ScanDecision,
    ScanResult,
    decide_scan,
    verify_receipt,
)
from vaxtrace.store.batched import GroupCommit
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx
from vaxtrace.store.immunization import receipts

MISSING_SHOWN = 50
"""Missing codes an answer names at most (the count is always given)."""


def goods_of(conn: Connection, row: RowMapping) -> Consignment:
    """What an announced note says was sent, in canonical form (as read when announced)."""
    return Consignment.of_expected(receipts.expected_codes(conn, row["event_id"]))


def _note(
    conn: Connection, actor: str, note_no: str, shipper_uscc: str | None, *, lock: bool
) -> RowMapping | None:
    """The note ``note_no`` addressed to the actor; else one addressed to someone else (the
    scan decides what that means); None when no such note was announced."""
    rows = receipts.notes_numbered(conn, note_no, shipper_uscc, lock=lock)
    mine = [r for r in rows if r["consignee_uscc"] == actor]
    if len(mine) > 1:
        raise DomainError(
            Reason.AMBIGUOUS_NOTE,
            f"{len(mine)} shippers sent you a note {note_no}: name the one meant (shipper_uscc)",
            field="shipper_uscc",
        )
    return mine[0] if mine else (rows[0] if rows else None)


def own_note(
    conn: Connection, actor: str, note_no: str, shipper_uscc: str | None, *, lock: bool
) -> RowMapping:
    row = _note(conn, actor, note_no, shipper_uscc, lock=lock)
    if row is None:
        raise DomainError(Reason.UNKNOWN_NOTE, f"no shipping note {note_no} was announced to you")
    if row["consignee_uscc"] != actor:
        raise DomainError(
            Reason.WRONG_CONSIGNEE, f"shipping note {note_no} is addressed to another unit"
        )
    return row


@dataclass(frozen=True, slots=True)
class AcceptedScan:
    """A scan accepted on a snapshot, to be kept (or decided again) under the writer's lock."""

    note: RowMapping
    note_no: str
    actor: str
    decision: ScanDecision
    at: datetime


class ScanAudit:
    """How scans are kept (every scan, whatever was decided, in ``receipt_scan``).

    An accepted scan is what later scans and the receipt depend on: it is committed before
    it is answered, in a transaction it shares with the accepted scans that came meanwhile
    (:func:`keep_accepted`, one thread). A repeat or a rejection changes nothing that
    anything depends on: its row is appended in a batch shortly after it is answered, so it
    never waits for the database's writer; a crash may lose the last ~``interval`` of them.
    """

    def __init__(self, engine: Engine, interval: float = 0.05) -> None:
        self.accepted: GroupCommit[AcceptedScan, ScanDecision] = GroupCommit(
            engine, keep_accepted, "accepted-scans"
        )
        self.others = receipts.scan_audit_appender(engine, interval)

    def flush(self) -> None:
        """Write the repeats and rejections pending now."""
        self.others.flush()

    def close(self) -> None:
        self.accepted.close()
        self.others.close()


def scan(
    engine: Engine,
    audit: ScanAudit,
    actor: str,
    note_no: str,
    text: str,
    shipper_uscc: str | None = None,
) -> Scanned:
    """Decide one scan on a snapshot and keep it in the audit, whatever was decided; a repeat
    is answered, not refused. An accepted scan's answer comes once it is kept."""
    now = datetime.now(UTC)
    with read_tx(engine) as conn:
        row, decision = _decide(conn, actor, note_no, text, shipper_uscc)
        flags = _flags(conn, row, decision, now)
    if decision.result is ScanResult.ACCEPTED:
        assert row is not None
        kept = audit.accepted.later(AcceptedScan(row, note_no, actor, decision, now))
        return Scanned(decision, flags, kept)
    audit.others.append(_audit_row(row, note_no, text, decision, actor, now))
    return Scanned(decision, flags, None)


@dataclass(frozen=True, slots=True)
class Scanned:
    """A scan decided on a snapshot, with its flags; an accepted one's decision to come once
    kept (``kept``: decided again under the writer's lock)."""

    decision: ScanDecision
    flags: tuple[str, ...]
    kept: Future[ScanDecision] | None

    def answer(self) -> ScanDecision:
        """The decision, once an accepted scan is kept (waited for on this thread)."""
        return self._flagged(None if self.kept is None else self.kept.result())

    async def answer_on_loop(self) -> ScanDecision:
        """:meth:`answer` on an event loop: an accepted scan's commit awaited there (no
        worker thread held while the group commits)."""
        if self.kept is None:
            return self._flagged(None)
        kept: ScanDecision = await asyncio.wrap_future(self.kept)
        return self._flagged(kept)

    def _flagged(self, kept: ScanDecision | None) -> ScanDecision:
        return replace(self.decision if kept is None else kept, flags=self.flags)


def _flags(
    conn: Connection, row: RowMapping | None, decision: ScanDecision, now: datetime
) -> tuple[str, ...]:
    """What stops a code on the note being used (a lock, a recall, expiry, no lot release),
    by the dose gate's rule, from the batch the note says it is of."""
    if row is None or decision.code is None or decision.result is ScanResult.REJECTED:
        return ()
    batch = receipts.batch_of_expected(conn, row["event_id"], decision.code)
    if batch is None:
        return ()
    facts = DoseFacts(
        decision.code, row["consignee_uscc"], StockPlace.IN_TRANSIT, False, None, batch
    )
    return tuple(dict.fromkeys(r.value for r, _ in stop_reasons(facts, Label(), local_date(now))))


def _decide(
    conn: Connection, actor: str, note_no: str, text: str, shipper_uscc: str | None
) -> tuple[RowMapping | None, ScanDecision]:
    """The note a scan is against (None: no such note) and the decision on the scan."""
    row = _note(conn, actor, note_no, shipper_uscc, lock=False)
    view = None
    if row is not None:
        view = NoteView(row["consignee_uscc"], row["state"] == ReceiptState.RECEIVED)
    return row, decide_scan(view, actor, text, _place_on(conn, row))


def _place_on(conn: Connection, row: RowMapping | None) -> PlaceOf:
    def place(code: str) -> Place:
        assert row is not None  # asked only of a note that takes the scan
        found = receipts.lineage_scanned(conn, row["event_id"], code)
        return Place(tuple(c for c, _ in found), frozenset(c for c, s in found if s))

    return place


def keep_accepted(conn: Connection, scans: Sequence[AcceptedScan]) -> list[ScanDecision]:
    """Keep scans accepted on snapshots, in the writer's transaction, deciding each again, in
    the order they came, on what the transaction sees: the note may have been closed since,
    the code or a container around it accepted since (by an earlier scan of the batch too)."""
    notes = sorted({s.note["event_id"] for s in scans})
    receipts.lock_notes(conn, notes)
    closed = receipts.closed_among(conn, notes)
    codes = sorted({c for s in scans for c in s.decision.lineage})
    taken = receipts.accepted_among(conn, notes, codes)
    decisions, rows = [], []
    for s in scans:
        note, lineage = s.note["event_id"], s.decision.lineage
        place = Place(lineage, frozenset(c for c in lineage if (note, c) in taken))
        view = NoteView(s.note["consignee_uscc"], note in closed)
        decision = decide_scan(view, s.actor, lineage[0], _known(place))
        if decision.result is ScanResult.ACCEPTED:
            taken.add((note, lineage[0]))
        decisions.append(decision)
        rows.append(_audit_row(s.note, s.note_no, lineage[0], decision, s.actor, s.at))
    receipts.record_scans(conn, rows)
    return decisions


def _known(place: Place) -> PlaceOf:
    return lambda _code: place


def _audit_row(
    row: RowMapping | None,
    note_no: str,
    text: str,
    decision: ScanDecision,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    return receipts.scan_row(
        note_event_id=None if row is None else row["event_id"],
        note_no=note_no,
        code=decision.code or text.strip()[:300],
        result=decision.result.value,
        reason=decision.reason.value,
        operator_uscc=actor,
        at=at,
    )


def progress(
    engine: Engine, actor: str, note_no: str, shipper_uscc: str | None = None
) -> dict[str, Any]:
    """Where the receipt of a note stands: what was scanned, what is missing, what was
    confirmed and with which receiving notes. With nothing scanned yet it is open, with no
    verification to speak of."""
    with read_tx(engine) as conn:
        row = own_note(conn, actor, note_no, shipper_uscc, lock=False)
        goods = goods_of(conn, row)
        verified = verify_receipt(goods, receipts.accepted_codes(conn, row["event_id"]))
        confirmed = receipts.receipts_of(conn, row["event_id"])
    return (
        header_of(row)
        | {
            "receiving_notes": [r["document_no"] for r in confirmed],
            "listed": len(goods.listed),
        }
        | verification_of(verified)
    )


def header_of(row: RowMapping) -> dict[str, Any]:
    return {
        "note_no": row["note_no"],
        "kind": row["kind"],
        "shipper_uscc": row["shipper_uscc"],
        "state": row["state"],
        "closed": row["state"] == ReceiptState.RECEIVED,
    }


def verification_of(result: ReceiptVerification) -> dict[str, Any]:
    """What a confirmation now would give (no verification while nothing was received)."""
    return {
        "verification": result.verification.value if result.received else None,
        "reason": result.reason if result.received else "nothing scanned yet",
        "expected_quantity": result.expected_quantity,
        "actual_quantity": result.actual_quantity,
        "received": len(result.received),
        "missing_count": len(result.missing),
        "missing": list(result.missing[:MISSING_SHOWN]),
    }


def expected(engine: Engine, consignee_uscc: str) -> list[dict[str, Any]]:
    """What a CDC or site is to receive (shipping notes and distributions), oldest first,
    with each batch's product, number and expiry (a distribution names none)."""
    with read_tx(engine) as conn:
        rows = receipts.notes_for(conn, consignee_uscc)
    return [
        header_of(r)
        | {"doses": r["doses"], "codes": r["note"]["codes"], "batches": _batches_of(r["note"])}
        for r in rows
    ]


def _batches_of(note: dict[str, Any]) -> list[dict[str, Any]]:
    keep = ("product_code", "batch_no", "expiry_date")
    return [{k: b.get(k) for k in keep} for b in note.get("batches") or ()]
