"""What a MAH's steps send down the chain (安全控制信息): the batch data a shipping note carries
for the receiver's gate, and the safety signals (locks, unlocks, recalls) that reach every
node holding or expecting the goods. Posted in the step's own transaction: a signal leaves
exactly when its step commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vaxtrace.core.signals import SIGNAL_SUBTYPE, BatchFacts, LotReleaseFacts, SafetySignal
from vaxtrace.exchange.delivery import PLATFORM, Outbox
from vaxtrace.store.engine import Connection, RowMapping
from vaxtrace.store.trace.affected import listed_batches


def post_signal(conn: Connection, outbox: Outbox | None, signal: SafetySignal) -> None:
    """Queue ``signal`` for the platform, which routes it to whoever holds or expects the
    batches (nothing when this node has no exchange)."""
    if outbox is None:
        return
    outbox.post(
        conn,
        PLATFORM,
        event_type="20",
        event_subtype=SIGNAL_SUBTYPE,
        data_owner=signal.mah_uscc,
        payload={"safety_signal": signal.model_dump(mode="json")},
    )


def note_batches(conn: Connection) -> list[dict[str, Any]]:
    """The batches of a shipping note's listed codes (just loaded by its step), each with its
    master data, lot release and the listed codes of it: what a note carries so that the
    receiver knows expiry and lot release from the MAH, not from the label."""
    batches: dict[str, dict[str, Any]] = {}
    for r in listed_batches(conn):
        entry = batches.get(r["batch_no"])
        if entry is None:
            entry = batch_facts(r).model_dump(mode="json") | {"codes": []}
            batches[r["batch_no"]] = entry
        entry["codes"].append(r["code"])
    return list(batches.values())


def batch_facts(r: RowMapping) -> BatchFacts:
    release = None
    if r["certificate_no"] is not None:
        release = LotReleaseFacts(
            certificate_no=r["certificate_no"],
            authority=r["authority"],
            release_date=r["release_date"],
            certificate_sha256=r["certificate_sha256"],
        )
    return BatchFacts(
        batch_no=r["batch_no"],
        product_code=r["product_code"],
        production_date=r["production_date"],
        expiry_date=r["expiry_date"],
        lot_release=release,
    )


def batch_nos_of(batches: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The batch numbers a step's affected set touches (as the step's checks see them)."""
    return tuple(dict.fromkeys(str(b["batch_no"]) for b in batches))
