"""锁定 locks and 解锁 unlocks, by codes or by whole batches, with reason and evidence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from vaxtrace.core.datasets import Lock, LockKind, Unlock
from vaxtrace.core.status import Action
from vaxtrace.core.times import Clock
from vaxtrace.roles.trace.service.lookups import own_batch_ids
from vaxtrace.roles.trace.service.writes import (
    WriteResult,
    batches_step,
    check_batches_order,
    codes_write,
    write,
)
from vaxtrace.store.trace import repo
from vaxtrace.store.trace.repo import EventHeader

LOCK_ACTIONS = {
    LockKind.PENDING: Action.LOCK_PENDING,
    LockKind.TO_BE_RECALLED: Action.LOCK_TO_BE_RECALLED,
    LockKind.ABNORMAL: Action.LOCK_ABNORMAL,
}


def lock(engine: Engine, actor: str, request: Lock, clock: Clock) -> WriteResult:
    """锁定: put codes or whole batches in a locked status, with reason and evidence."""
    action = LOCK_ACTIONS[request.kind]
    payload = request.model_dump(mode="json", include={"kind", "reason", "evidence", "batch_nos"})
    return _status_write(engine, actor, "lock", request, action, payload, clock)


def unlock(engine: Engine, actor: str, request: Unlock, clock: Clock) -> WriteResult:
    """解锁: a pending (待定) review cleared, the codes are normal again."""
    payload = request.model_dump(mode="json", include={"reason", "batch_nos"})
    return _status_write(engine, actor, "unlock", request, Action.UNLOCK, payload, clock)


def _status_write(
    engine: Engine,
    actor: str,
    operation: str,
    request: Lock | Unlock,
    action: Action,
    payload: dict[str, Any],
    clock: Clock,
) -> WriteResult:
    """A status-only step wherever the codes are: on the listed codes, or on whole batches;
    not dated before their production (but it may precede steps recorded before it)."""
    if request.codes is not None:
        return codes_write(
            engine,
            actor,
            operation,
            operation,
            request,
            request.codes,
            action,
            clock=clock,
            holder=None,
            payload=payload,
            movement=False,
        )

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        assert request.batch_nos is not None
        ids = own_batch_ids(conn, actor, request.batch_nos)
        check_batches_order(conn, header, ids)
        event_id = repo.append_event(conn, header, payload)
        moved = batches_step(conn, ids, event_id, action)
        return event_id, {
            "codes_updated": moved,
            "by_status": repo.batches_status_counts(conn, ids),
        }

    return write(engine, actor, operation, request, apply, bill_type=operation, clock=clock)
