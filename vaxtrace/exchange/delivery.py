"""Delivery between nodes: post into the outbox with the business write, deliver in order with
retries and backoff; a message its receiver refuses is final at once (a refused message never
holds up the ones behind it), one that cannot be delivered is dead-lettered after N failures;
receive each event once."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RowMapping

from vaxtrace.core.errors import DomainError, at_item
from vaxtrace.core.reasons import Reason
from vaxtrace.core.times import as_utc
from vaxtrace.exchange.envelope import Opened, Signer, Verifier, open_envelope, payload_of, seal
from vaxtrace.store.engine import after_commit, read_tx, write_tx
from vaxtrace.store.exchange import (
    DEAD,
    DEAD_LETTERS,
    PENDING,
    REFUSED,
    ExchangeStore,
)

PLATFORM = "platform"
"""The receiver name of the collaborative platform in every node's outbox."""

Send = Callable[[str, Sequence[Mapping[str, Any]]], None]
"""Hand a batch of envelopes (one queue's, in order) to a receiver, which takes all or none;
raise on any failure (the messages stay queued), :class:`Refused` when the receiver answered
that it will not take them."""

BATCH_SIZE = 200
"""Envelopes per request at most."""

BATCH_BYTES = 32 * 1024 * 1024
"""Bytes of envelopes per request at most: a quarter of what a receiver takes in one body
(``Settings.bulk_body_max_bytes``, 128 MiB), so that a queue of large shipping notes goes in
several requests rather than one the receiver refuses as too large (413). An envelope larger
than this goes alone."""

ENVELOPE_OVERHEAD = 1024
"""Bytes an envelope takes besides its payload (header, signature, JSON), at most."""


def within_bytes(batch: Sequence[RowMapping], limit: int) -> Sequence[RowMapping]:
    """The head of ``batch`` whose envelopes fit in ``limit`` bytes; at least its first."""
    total = 0
    for taken, message in enumerate(batch):
        total += len(message["envelope"].get("payload", "")) + ENVELOPE_OVERHEAD
        if total > limit and taken > 0:
            return batch[:taken]
    return batch


_ITEM = re.compile(r"^envelopes\[(\d+)\](?:\.|$)")


class Refused(Exception):
    """The receiver answered and refused the batch (as opposed to being unreachable): final.

    ``problem`` is the receiver's RFC 9457 answer (``reason``, ``field``, ``detail``…) when
    it gave one; a refusal of a batch names the envelope at fault (``envelopes[3].codes``)."""

    def __init__(
        self, message: str, problem: Mapping[str, Any] | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.problem: dict[str, Any] = dict(problem or {})
        self.status = status

    @property
    def reason(self) -> str:
        return str(self.problem.get("reason") or "refused")

    @property
    def field(self) -> str | None:
        value = self.problem.get("field")
        return None if value is None else str(value)

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self)

    def place(self, size: int) -> int | None:
        """Which envelope of a batch of ``size`` the receiver refused, if it said."""
        found = _ITEM.match(self.field or "")
        at = None if found is None else int(found.group(1))
        return at if at is not None and at < size else None

    def of_item(self, at: int) -> Refused:
        """The refusal of the ``at``-th envelope alone: its field and detail as if it had
        been sent by itself."""
        item = f"envelopes[{at}]"
        problem = dict(self.problem)
        where = self.field or ""
        if where.startswith(item):
            problem["field"] = where[len(item) + 1 :] or None
        detail = self.detail
        if detail.startswith(item + ": "):
            problem["detail"] = detail[len(item) + 2 :]
        return Refused(str(self), problem, self.status)

    @property
    def parts(self) -> tuple[int | None, str, str | None, str]:
        """(HTTP status, reason, field, detail), as :func:`vaxtrace.core.refusal.notice_of`
        takes them."""
        return self.status, self.reason, self.field, self.detail

    def summary(self) -> str:
        """One line for the dead letter: status, reason, field and detail."""
        status = f"{self.status} " if self.status is not None else ""
        where = f" ({self.field})" if self.field else ""
        return f"refused: {status}{self.reason}{where}: {self.detail}"


OnRefused = Callable[[Connection, RowMapping, Refused], None]
"""What a node does, in the transaction that makes a refused message final, about the refusal
(the message row as it was, what the receiver answered): tell whoever must know."""


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
    refused: list[str] = field(default_factory=list)
    """Event ids of the messages their receivers refused this round (final, also in ``dead``)."""


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
        on_refused: OnRefused | None = None,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.engine, self.store, self.signer, self.system_id = engine, store, signer, system_id
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.on_refused = on_refused
        self.on_post: Callable[[], None] | None = None
        """Called once a write that queued a message has committed (the node's delivery loop
        wakes, so the message does not wait for the next poll)."""
        """Called when a receiver refuses a message (see :data:`OnRefused`); the node that
        owns this outbox sets it."""

    def now(self) -> datetime:
        """The time by this outbox's clock."""
        return datetime.fromtimestamp(self.clock(), UTC)

    _now = now

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
        if self.on_post is not None:
            after_commit(conn, self.on_post)
        return envelope

    def deliver_due(self, send: Send) -> Round:
        """Send every queue that is due, in order and in batches. A message its receiver
        refuses is final at once (and the node told, see ``on_refused``); the ones behind it
        go on in the same round. A failure to deliver (unreachable, 5xx) stops its queue: the
        head backs off, and is dead-lettered after ``max_attempts``."""
        done = Round()
        while True:
            progressed = False
            with read_tx(self.engine) as conn:
                heads = self.store.heads(conn)
            now = self._now()
            for head in heads:
                if as_utc(head["next_attempt_at"]) <= now:
                    progressed |= self._deliver_queue(str(head["receiver"]), send, done)
            if not progressed:
                return done

    def _deliver_queue(self, receiver: str, send: Send, done: Round) -> bool:
        """Deliver one queue: a batch at a time while they are taken. A refused batch changed
        nothing: the envelopes before the one the receiver named go again as a batch, then
        that one alone (refused alone, it is final; taken, the receiver was wrong about it),
        then the rest. A refusal naming no envelope is found one message at a time."""
        limit, plan, searching, progressed = self.batch_size, list[int](), False, False
        while True:
            with read_tx(self.engine) as conn:
                batch = within_bytes(self.store.queue(conn, receiver, limit), self.batch_bytes)
            if not batch:  # another process delivered it meanwhile
                return progressed
            try:
                send(receiver, [m["envelope"] for m in batch])
            except Refused as exc:
                if len(batch) == 1:
                    self._refused(batch[0], exc.of_item(0), done)
                    limit, plan, searching, progressed = self.batch_size, [], False, True
                    continue
                at = exc.place(len(batch))
                searching = at is None
                plan = [] if at is None else [at, 1] if at > 0 else [1]
                limit = 1 if at is None else plan.pop(0)
                continue
            except Exception as exc:  # unreachable, timed out, 5xx: the head backs off
                return self._failed(batch[0], done, exc) or progressed
            with write_tx(self.engine) as conn:
                self.store.mark_delivered(conn, [int(m["id"]) for m in batch], self._now())
            done.delivered += len(batch)
            progressed = True
            if plan:
                limit = plan.pop(0)
            elif not searching:
                if limit == self.batch_size:
                    return True  # other queues get their turn; the round comes back here
                limit = self.batch_size

    def _refused(self, message: RowMapping, refusal: Refused, done: Round) -> None:
        """Make a refused message final and tell whoever must know, in one transaction."""
        with write_tx(self.engine) as conn:
            self.store.mark(
                conn,
                message["id"],
                attempts=int(message["attempts"]) + 1,
                last_error=refusal.summary()[:500],
                state=REFUSED,
                next_attempt_at=self._now(),
            )
            if self.on_refused is not None:
                self.on_refused(conn, message, refusal)
        done.refused.append(str(message["event_id"]))
        done.dead.append(str(message["event_id"]))

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
        """Messages given up on (``dead``) or refused by their receiver (``refused``), for
        operators to inspect and requeue."""
        with read_tx(self.engine) as conn:
            rows = self.store.by_state(conn, *DEAD_LETTERS)
        return [
            {
                "id": r["id"],
                "receiver": r["receiver"],
                "sequence": r["sequence"],
                "event_id": r["event_id"],
                "state": r["state"],
                "attempts": r["attempts"],
                "last_error": r["last_error"],
            }
            for r in rows
        ]

    def requeue(self, message_id: int) -> int:
        """Send a dead letter again, at the end of its queue: sealed afresh under a new
        sequence (the receiver has taken later ones since, and refuses an old slot), with the
        same event id (so a receiver that took it meanwhile sees a repeat). Answers its new
        sequence."""
        with write_tx(self.engine) as conn:
            message = self.store.message(conn, message_id)
            if message is None or message["state"] not in DEAD_LETTERS:
                raise DomainError(
                    Reason.NOT_A_DEAD_LETTER,
                    f"message {message_id} is not a dead letter",
                    field="id",
                )
            old = message["envelope"]
            sequence = self.store.next_sequence(conn, str(message["receiver"]))
            envelope = seal(
                self.signer,
                system_id=self.system_id,
                event_type=str(old["event_type"]),
                event_subtype=str(old["event_subtype"]),
                data_owner=str(old["data_owner"]),
                sequence=sequence,
                payload=payload_of(old),
                event_id=str(old["event_id"]),
            )
            self.store.mark(
                conn,
                message_id,
                sequence=sequence,
                envelope=envelope,
                state=PENDING,
                attempts=0,
                next_attempt_at=self._now(),
            )
        return sequence

    def health(self) -> dict[str, Any]:
        """What waits and what was given up on: the backlog, the age of its oldest message
        (seconds), and dead letters per receiver."""
        with read_tx(self.engine) as conn:
            pending, oldest = self.store.backlog(conn)
            dead = self.store.dead_by_receiver(conn)
        age = None if oldest is None else (self._now() - as_utc(oldest)).total_seconds()
        return {
            "system_id": self.system_id,
            "pending": pending,
            "oldest_pending_seconds": None if age is None else round(max(age, 0.0), 3),
            "dead_letters": dead,
        }


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
            raise DomainError(
                Reason.STALE_SEQUENCE,
                f"{sender} already delivered sequence {last}",
                field="sequence",
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
        raise DomainError(Reason.NOT_THE_PLATFORM, "only the platform forwards data here")
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
            Reason.BATCH_SIZE, f"a batch holds 1 to {MAX_BATCH} envelopes", field="envelopes"
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
        self, engine: Engine, store: ExchangeStore, platform_id: str, key: Verifier | None
    ) -> None:
        self.engine = engine
        self.inbox = Inbox(store)
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
