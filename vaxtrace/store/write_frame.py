"""The write frame (写入框架) every role's writes run in: applied once per client document id
(客户端单据标识).

A write runs in one transaction: checks first, writes after, and whatever goes with it (the
event's leaf in the node's log, a report posted in the outbox, the answer kept in the write
log) in the same transaction; any refusal rolls everything back, so a refused request writes
nothing and reports nothing. A retry with the same id and body answers the first answer and
writes nothing new; the same id with another body is refused. Two concurrent twins of one
request: the loser sees a unique-key clash (or, on PostgreSQL, a refusal caused by its twin's
committed rows) and answers as a retry of the winner.

Each role keeps its own write log (its table, what else a row holds); the frame needs only its
way of finding an actor's write by client document id (:data:`FindWrite`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from vaxtrace.core.errors import DomainError, at_item
from vaxtrace.core.reasons import Reason
from vaxtrace.store.engine import connection_lost, read_tx, write_tx

Answer = TypeVar("Answer")
logger = logging.getLogger("vaxtrace")


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write answers: its body, and whether it answered a retry again (replayed)."""

    body: dict[str, Any]
    replayed: bool
    log_size: int | None = None
    """The log's tree size once the write appended its leaves (None: it appended none)."""


@dataclass(frozen=True, slots=True)
class WriteKey:
    """Who wrote under which client document id, and what a retry must repeat."""

    actor: str
    client_document_id: str
    operation: str
    request_sha256: str
    """The request's digest (see :mod:`vaxtrace.core.digests`)."""


FindWrite = Callable[[Connection, str, str], Mapping[Any, Any] | None]
"""A role's write log: the write an actor made under a client document id, if any (a row with
its ``operation``, ``request_sha256`` and ``response``)."""


def write_once(
    engine: Engine,
    find: FindWrite,
    key: WriteKey,
    first_write: Callable[[Connection], WriteResult],
) -> WriteResult:
    """Answer the write under ``key`` again if there was one, else run ``first_write`` (its
    checks, rows and log entry) in one write transaction."""

    def attempt(conn: Connection) -> WriteResult:
        prior = answered(conn, find, key)
        return prior if prior is not None else first_write(conn)

    return apply_once(engine, attempt, lambda: committed(engine, find, key))


def write_all_once(
    engine: Engine,
    find: FindWrite,
    keys: Sequence[WriteKey],
    first_writes: Callable[[Connection], list[WriteResult]],
    *,
    collection: str,
) -> list[WriteResult]:
    """Several writes of one upload in one transaction, all or none; a retried upload answers
    every answer again (a refusal names the item at fault, ``collection[i].field``)."""

    def committed_all() -> list[WriteResult] | None:
        with read_tx(engine) as conn:
            found = [find(conn, key.actor, key.client_document_id) for key in keys]
        priors = [prior for prior in found if prior is not None]
        if len(priors) != len(found):
            return None
        answers = []
        for index, (prior, key) in enumerate(zip(priors, keys, strict=True)):
            try:
                answers.append(replay(prior, key))
            except DomainError as exc:
                raise at_item(exc, collection, index) from None
        return answers

    return apply_once(engine, first_writes, committed_all)


def answered(conn: Connection, find: FindWrite, key: WriteKey) -> WriteResult | None:
    """The first answer to the write under ``key``, in the caller's transaction, if any."""
    prior = find(conn, key.actor, key.client_document_id)
    return None if prior is None else replay(prior, key)


def committed(engine: Engine, find: FindWrite, key: WriteKey) -> WriteResult | None:
    """The committed answer to the write under ``key``, if there is one."""
    with read_tx(engine) as conn:
        return answered(conn, find, key)


def replay(prior: Mapping[Any, Any], key: WriteKey) -> WriteResult:
    """Answer a retry again: it must be the same request."""
    check_replay(prior, key.operation, key.request_sha256)
    return WriteResult(dict(prior["response"]), replayed=True)


def apply_once(
    engine: Engine,
    attempt: Callable[[Connection], Answer],
    committed: Callable[[], Answer | None],
) -> Answer:
    """Run ``attempt`` in a write transaction; ``committed`` answers the committed answer to
    this request's id, if any, for when a concurrent twin won. A transaction PostgreSQL chose
    as a deadlock's victim (or a serialization failure) is run again, a few times."""
    clashes = 0
    victims = 0
    while clashes < 2:
        try:
            with write_tx(engine) as conn:
                return attempt(conn)
        except IntegrityError as exc:
            clashes += 1  # a concurrent twin won the race: answer as its retry
            logger.info("a write clashed with a concurrent one: %s", exc.orig)
        except OperationalError as exc:
            victims += 1
            if victims > RETRIES_AFTER_DEADLOCK or not retryable(exc):
                raise
        except DomainError:
            # Refused, perhaps only because a concurrent twin of this request committed
            # meanwhile (PostgreSQL reads committed data per statement): answer as a retry.
            answer = committed()
            if answer is None:
                raise
            return answer
    answer = committed()
    if answer is None:
        raise DomainError(Reason.WRITE_CONFLICT, "the write clashed with a concurrent one; retry")
    return answer


RETRIES_AFTER_DEADLOCK = 3
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back
and may simply run again."""


def retryable(exc: OperationalError) -> bool:
    """A deadlock's victim, or the connection lost (a restart, a failover): the write runs
    again on a new connection. That is safe even where a commit went through unseen, since
    the write is applied once by its client document id."""
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES or connection_lost(exc)


def check_replay(prior: Any, operation: str, request_sha256: str) -> None:
    """A retry must be the same request: the same operation and body under the same id."""
    if prior["operation"] != operation or prior["request_sha256"] != request_sha256:
        raise DomainError(
            Reason.CLIENT_DOCUMENT_ID_REUSED,
            "this client_document_id was already used for a different request",
            field="client_document_id",
        )
