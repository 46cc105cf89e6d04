"""SQL of the exchange: a durable outbox in the sender's database and an inbox in the
receiver's, so nothing is lost while a peer is down and nothing is applied twice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    RowMapping,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.schema import SchemaItem

from vaxtrace.store.columns import Id as Id  # the type moved to columns; kept for importers
from vaxtrace.store.columns import event_key, event_uuid, moment, required, surrogate_key
from vaxtrace.store.journal import Journal

PENDING, DELIVERED, DEAD, REFUSED = "pending", "delivered", "dead", "refused"
"""States of an outbox message: waiting (or backing off), taken, given up on after its
retries, refused by its receiver (final at once)."""
DEAD_LETTERS = (DEAD, REFUSED)
"""The states of a message the outbox no longer sends, for operators to inspect and requeue."""


@dataclass(frozen=True, slots=True)
class ExchangeTables:
    outbox: Table
    inbox: Table


def _queue_slot(box: str, peer: str) -> list[SchemaItem]:
    """A message's place in its peer's queue: one slot per (peer, sequence). Concurrent
    writers (PostgreSQL) cannot share a sequence, so a queue's order is the order its messages
    committed in."""
    return [
        required(peer, String(60)),
        required("sequence", BigInteger),
        Index(f"ux_exchange_{box}_slot", peer, "sequence", unique=True),
    ]


def exchange_tables(metadata: MetaData) -> ExchangeTables:
    """Add the outbox and inbox to a role's schema."""
    return ExchangeTables(
        outbox=Table(
            "exchange_outbox",
            metadata,
            surrogate_key(),
            *_queue_slot("outbox", "receiver"),
            event_uuid("event_id", unique=True),
            required("envelope", JSON),
            required("state", String(10)),
            required("attempts", Integer),
            moment("next_attempt_at"),
            Column("last_error", Text),
            moment("created_at"),
            Column("delivered_at", DateTime(timezone=True)),
            Index("ix_exchange_outbox_due", "state", "receiver", "sequence"),
        ),
        inbox=Table(
            "exchange_inbox",
            metadata,
            event_key(),
            *_queue_slot("inbox", "sender"),
            required("envelope", JSON),
            moment("received_at"),
        ),
    )


def envelope_entry(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """What a node's journal keeps of an envelope it sent or took: who, what, in which slot,
    and the digest of its payload (the payload itself stays in the exchange tables)."""
    return {name: envelope.get(name) for name in JOURNALED_FIELDS}


JOURNALED_FIELDS = (
    "event_id",
    "system_id",
    "sequence",
    "event_type",
    "event_subtype",
    "data_owner",
    "created_at",
    "payload_sha256",
)


class ExchangeStore:
    def __init__(self, tables: ExchangeTables, journal: Journal | None = None) -> None:
        self.t = tables
        self.journal = journal
        """Where every envelope sent or taken is kept (a role that keeps a journal)."""
        o, i = tables.outbox, tables.inbox
        # built once: every business write that sends something, and every envelope taken,
        # runs these
        self._last_sequence = select(func.max(o.c.sequence)).where(
            o.c.receiver == bindparam("receiver")
        )
        self._enqueue = insert(o)
        self._received = select(i).where(i.c.event_id == bindparam("event_id"))
        self._last_received = select(func.max(i.c.sequence)).where(
            i.c.sender == bindparam("sender")
        )
        self._accept = insert(i)

    # --- sender side -------------------------------------------------------------------

    def next_sequence(self, conn: Connection, receiver: str) -> int:
        last = conn.execute(self._last_sequence, {"receiver": receiver}).scalar_one()
        return 1 if last is None else int(last) + 1

    def enqueue(
        self,
        conn: Connection,
        receiver: str,
        sequence: int,
        envelope: Mapping[str, Any],
        now: datetime,
    ) -> None:
        conn.execute(
            self._enqueue,
            {
                "receiver": receiver,
                "sequence": sequence,
                "event_id": envelope["event_id"],
                "envelope": dict(envelope),
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
        if self.journal is not None:
            self.journal.keep(conn, "sent", envelope_entry(envelope) | {"receiver": receiver})

    def heads(self, conn: Connection) -> list[RowMapping]:
        """The oldest pending message of every receiver: only a queue's head may go."""
        o = self.t.outbox
        first = (
            select(o.c.receiver, func.min(o.c.sequence).label("sequence"))
            .where(o.c.state == PENDING)
            .group_by(o.c.receiver)
            .subquery()
        )
        query = select(o).join(
            first, (o.c.receiver == first.c.receiver) & (o.c.sequence == first.c.sequence)
        )
        return list(conn.execute(query).mappings())

    def queue(self, conn: Connection, receiver: str, limit: int) -> list[RowMapping]:
        """A receiver's pending messages in order, at most ``limit`` of them."""
        o = self.t.outbox
        query = (
            select(o)
            .where(o.c.receiver == receiver, o.c.state == PENDING)
            .order_by(o.c.sequence)
            .limit(limit)
        )
        return list(conn.execute(query).mappings())

    def mark_delivered(self, conn: Connection, message_ids: list[int], now: datetime) -> None:
        o = self.t.outbox
        conn.execute(
            update(o)
            .where(o.c.id.in_(message_ids))
            .values(state=DELIVERED, delivered_at=now, attempts=o.c.attempts + 1)
        )

    def mark(self, conn: Connection, message_id: int, **values: Any) -> None:
        conn.execute(update(self.t.outbox).where(self.t.outbox.c.id == message_id).values(**values))

    def by_state(self, conn: Connection, *states: str) -> list[RowMapping]:
        o = self.t.outbox
        query = select(o).where(o.c.state.in_(states)).order_by(o.c.receiver, o.c.sequence)
        return list(conn.execute(query).mappings())

    def message(self, conn: Connection, message_id: int) -> RowMapping | None:
        o = self.t.outbox
        return conn.execute(select(o).where(o.c.id == message_id)).mappings().first()

    def backlog(self, conn: Connection) -> tuple[int, datetime | None]:
        """How many messages wait to be delivered, and since when the oldest has."""
        o = self.t.outbox
        query = select(func.count(), func.min(o.c.created_at)).where(o.c.state == PENDING)
        count, oldest = conn.execute(query).one()
        return int(count), oldest

    def dead_by_receiver(self, conn: Connection) -> dict[str, int]:
        """Dead letters (given up on, or refused) per receiver."""
        o = self.t.outbox
        query = (
            select(o.c.receiver, func.count())
            .where(o.c.state.in_(DEAD_LETTERS))
            .group_by(o.c.receiver)
            .order_by(o.c.receiver)
        )
        return {str(receiver): int(n) for receiver, n in conn.execute(query)}

    # --- receiver side ------------------------------------------------------------------------

    def received(self, conn: Connection, event_id: str) -> RowMapping | None:
        return conn.execute(self._received, {"event_id": event_id}).mappings().first()

    def last_sequence(self, conn: Connection, sender: str) -> int:
        last = conn.execute(self._last_received, {"sender": sender}).scalar_one()
        return 0 if last is None else int(last)

    def accept(
        self,
        conn: Connection,
        sender: str,
        sequence: int,
        event_id: str,
        envelope: Mapping[str, Any],
        now: datetime,
    ) -> None:
        conn.execute(
            self._accept,
            {
                "event_id": event_id,
                "sender": sender,
                "sequence": sequence,
                "envelope": dict(envelope),
                "received_at": now,
            },
        )
        if self.journal is not None:
            self.journal.keep(conn, "received", envelope_entry(envelope))
