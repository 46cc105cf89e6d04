"""Delivery between nodes: post into the outbox with the business write, deliver in order with
retries and backoff, dead-letter after N failures; receive each event once."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from vaxtrace.core.errors import Conflict, DomainError, Forbidden, at_item
from vaxtrace.exchange.envelope import Opened, Signer, Verifier, open_envelope, seal
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.exchange import DEAD, PENDING, ExchangeStore, ExchangeTables

PLATFORM = "platform"
"""The receiver name of the collaborative platform in every node's outbox."""

Send = Callable[[str, Sequence[Mapping[str, Any]]], None]
"""Hand a batch of envelopes (one queue's, in order) to a receiver, which takes all or none;
raise on any failure (the messages stay queued), :class:`Refused` when the receiver answered
that it will not take them."""

BATCH_SIZE = 200
"""Envelopes per request at most."""


class Refused(Exception):
    """The receiver answered and refused the batch (as opposed to being unreachable)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff, capped; a message is dead-lettered after ``max_attempts``."""

    base_seconds: float = 1.0
    factor: float = 2.0
    cap_seconds: float = 300.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> float:
        return float(min(self.cap_seconds, self.base_seconds * self.factor ** (attempts - 1)))


@dataclass
class Round:
    """What one delivery round did."""

    delivered: int = 0
    failed: int = 0
    dead: list[str] = field(default_factory=list)


class Outbox:
    def __init__(
        self,
        engine: Engine,
        store: ExchangeStore,
        signer: Signer,
        system_id: str,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.engine, self.store, self.signer, self.system_id = engine, store, signer, system_id
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.batch_size = batch_size

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def post(
        self,
        conn: Connection,
        receiver: str,
        *,
        event_type: str,
        event_subtype: str,
        data_owner: str,
        payload: Any,
    ) -> Mapping[str, Any]:
        """Queue a message in the caller's transaction: it leaves only if the write commits."""
        sequence = self.store.next_sequence(conn, receiver)
        envelope = seal(
            self.signer,
            system_id=self.system_id,
            event_type=event_type,
            event_subtype=event_subtype,
            data_owner=data_owner,
            sequence=sequence,
            payload=payload,
        )
        self.store.enqueue(conn, receiver, sequence, envelope, self._now())
        return envelope

    def deliver_due(self, send: Send) -> Round:
        """Send every queue that is due, in order and in batches; stop a queue at its first
        failure. A refused batch is retried from its head alone, so the message at fault
        backs off (and in the end is dead-lettered) on its own."""
        done = Round()
        while True:
            progressed = False
            with read_tx(self.engine) as conn:
                heads = self.store.heads(conn)
            now = self._now()
            for head in heads:
                if _aware(head["next_attempt_at"]) <= now:
                    progressed |= self._deliver_queue(str(head["receiver"]), send, done)
            if not progressed:
                return done

    def _deliver_queue(self, receiver: str, send: Send, done: Round) -> bool:
        """Deliver one queue: in batches while they are taken; after a refusal, one message
        at a time up to the one at fault (a refused batch changed nothing)."""
        limit, progressed = self.batch_size, False
        while True:
            with read_tx(self.engine) as conn:
                batch = self.store.queue(conn, receiver, limit)
            if not batch:  # another process delivered it meanwhile
                return progressed
            try:
                send(receiver, [m["envelope"] for m in batch])
            except Refused as exc:
                if len(batch) > 1:
                    limit = 1  # find the message at fault
                    continue
                return self._failed(batch[0], done, exc) or progressed
            except Exception as exc:  # unreachable, timed out, …: the head backs off
                return self._failed(batch[0], done, exc) or progressed
            with write_tx(self.engine) as conn:
                self.store.mark_delivered(conn, [int(m["id"]) for m in batch], self._now())
            done.delivered += len(batch)
            if limit == self.batch_size:
                return True
            progressed = True

    def _failed(self, head: Any, done: Round, error: BaseException) -> bool:
        attempts = int(head["attempts"]) + 1
        dead = attempts >= self.policy.max_attempts
        with write_tx(self.engine) as conn:
            self.store.mark(
                conn,
                head["id"],
                attempts=attempts,
                last_error=str(error)[:500],
                state=DEAD if dead else PENDING,
                next_attempt_at=self._now() + timedelta(seconds=self.policy.delay(attempts)),
            )
        done.failed += 1
        if dead:
            done.dead.append(str(head["event_id"]))
        return dead  # a dead head unblocks the next message of its queue

    def dead_letters(self) -> list[dict[str, Any]]:
        """Messages given up on, for operators to inspect and requeue."""
        with read_tx(self.engine) as conn:
            rows = self.store.by_state(conn, DEAD)
        return [
            {
                "id": r["id"],
                "receiver": r["receiver"],
                "sequence": r["sequence"],
                "event_id": r["event_id"],
                "attempts": r["attempts"],
                "last_error": r["last_error"],
            }
            for r in rows
        ]

    def requeue(self, message_id: int) -> None:
        with write_tx(self.engine) as conn:
            self.store.mark(
                conn, message_id, state=PENDING, attempts=0, next_attempt_at=self._now()
            )


class Inbox:
    def __init__(self, store: ExchangeStore, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock

    def receive(self, conn: Connection, opened: Opened) -> bool:
        """Record a verified envelope in the receiver's transaction; False for a repeat.

        A sequence at or below the sender's last one under a new event id is a replay of an
        old slot and is refused.
        """
        header = opened.header
        if self.store.received(conn, header["event_id"]) is not None:
            return False
        sender, sequence = str(header["system_id"]), int(header["sequence"])
        last = self.store.last_sequence(conn, sender)
        if sequence <= last:
            raise Conflict(
                "stale_sequence", f"{sender} already delivered sequence {last}", field="sequence"
            )
        self.store.accept(
            conn,
            sender,
            sequence,
            header["event_id"],
            dict(header),
            datetime.fromtimestamp(self.clock(), UTC),
        )
        return True


def open_from_platform(
    caller_id: str, platform_id: str, platform_key: Verifier | None, envelope: Any
) -> Opened:
    """An envelope the platform forwarded: only the platform (by its certificate) may
    deliver here, signed with the key this node was configured with."""
    if caller_id != platform_id:
        raise Forbidden("not_the_platform", "only the platform forwards data here")
    return open_envelope(
        envelope,
        lambda sender, _alg, key_id: (
            platform_key
            if platform_key is not None and sender == platform_id and platform_key.key_id == key_id
            else None
        ),
    )


MAX_BATCH = 1000
"""Envelopes a receiver takes in one request at most."""


def take_batch(
    envelopes: Sequence[Any], take: Callable[[Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    """Take a batch's envelopes in order, inside the caller's transaction: the first refusal
    names its place (``envelopes[i]``) and, raised, rolls the whole batch back."""
    if not 1 <= len(envelopes) <= MAX_BATCH:
        raise DomainError(
            "batch_size", f"a batch holds 1 to {MAX_BATCH} envelopes", field="envelopes"
        )
    results = []
    for i, envelope in enumerate(envelopes):
        try:
            results.append(take(envelope))
        except DomainError as exc:
            raise at_item(exc, "envelopes", i) from None
    return results


Read = TypeVar("Read")


class FromPlatform:
    """What the platform forwards to a node, taken the one way every node takes it: only from
    the platform (its certificate and the key this node was configured with), each event once
    (the node's inbox), a batch all or none."""

    def __init__(
        self, engine: Engine, tables: ExchangeTables, platform_id: str, key: Verifier | None
    ) -> None:
        self.engine = engine
        self.inbox = Inbox(ExchangeStore(tables))
        self.platform_id, self.key = platform_id, key

    def take(
        self,
        caller_id: str,
        envelopes: Sequence[Any],
        read: Callable[[Opened], Read],
        apply: Callable[[Connection, Opened, Read], dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Each envelope's document ``read`` (a refusal refuses the batch), each new event
        applied; each answer says whether it was new and adds what ``apply`` answered."""

        def take_one(conn: Connection, envelope: Any) -> dict[str, Any]:
            opened = open_from_platform(caller_id, self.platform_id, self.key, envelope)
            document = read(opened)
            fresh = self.inbox.receive(conn, opened)
            answer: dict[str, Any] = {"event_id": opened.header["event_id"], "accepted": fresh}
            if fresh:
                answer |= apply(conn, opened, document)
            return answer | {"duplicate": not fresh}

        with write_tx(self.engine) as conn:
            return take_batch(envelopes, lambda envelope: take_one(conn, envelope))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
