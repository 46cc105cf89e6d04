"""Writes applied once per client document id (客户端单据标识), for every role with staff.

A write runs in one transaction; a retry with the same id and body answers the first answer,
the same id with another body is refused. Two concurrent twins of one request: the loser sees a
unique-key clash (or, on PostgreSQL, a refusal caused by its twin's committed rows) and answers
as a retry of the winner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.store.engine import write_tx

Answer = TypeVar("Answer")
logger = logging.getLogger("vaxtrace")


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
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def check_replay(prior: Any, operation: str, request_sha256: str) -> None:
    """A retry must be the same request: the same operation and body under the same id."""
    if prior["operation"] != operation or prior["request_sha256"] != request_sha256:
        raise DomainError(
            Reason.CLIENT_DOCUMENT_ID_REUSED,
            "this client_document_id was already used for a different request",
            field="client_document_id",
        )
