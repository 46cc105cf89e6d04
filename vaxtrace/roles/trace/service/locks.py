"""锁定 locks and 解锁 unlocks, by codes or by whole batches, with reason and evidence; each
sent down the chain as a safety signal, so a province stops what the MAH stopped."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from vaxtrace.core.datasets.locks import Lock, Unlock
from vaxtrace.core.replay import LOCK_ACTIONS
from vaxtrace.core.signals import SafetySignal, SignalKind
from vaxtrace.core.status import Action
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.trace.service.lookups import own_batch_ids
from vaxtrace.roles.trace.service.signals import batch_nos_of, post_signal
from vaxtrace.roles.trace.service.writes import (
    Apply,
    batches_step,
    check_batches_order,
    resolve_codes,
    step_codes,
    write,
)
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.trace.affected import affected_codes
from vaxtrace.store.trace.batches import batches_status_counts
from vaxtrace.store.trace.events import EventHeader, append_event
from vaxtrace.store.write_frame import WriteResult


def lock(
    engine: Engine, actor: str, request: Lock, clock: Clock, outbox: Outbox | None = None
) -> WriteResult:
    """锁定: put codes or whole batches in a locked status, with reason and evidence."""
    action = LOCK_ACTIONS[request.kind]
    payload = request.model_dump(mode="json", include={"kind", "reason", "evidence", "batch_nos"})
    signal = {"kind": SignalKind.LOCK, "lock_kind": request.kind, "reason": request.reason}
    return _status_write(engine, actor, "lock", request, action, payload, clock, outbox, signal)


def unlock(
    engine: Engine, actor: str, request: Unlock, clock: Clock, outbox: Outbox | None = None
) -> WriteResult:
    """解锁: a pending (待定) review cleared, the codes are normal again."""
    payload = request.model_dump(mode="json", include={"reason", "batch_nos"})
    signal = {"kind": SignalKind.UNLOCK, "reason": request.reason}
    return _status_write(
        engine, actor, "unlock", request, Action.UNLOCK, payload, clock, outbox, signal
    )


def _status_write(
    engine: Engine,
    actor: str,
    operation: str,
    request: Lock | Unlock,
    action: Action,
    payload: dict[str, Any],
    clock: Clock,
    outbox: Outbox | None,
    signal: dict[str, Any],
) -> WriteResult:
    """A status-only step wherever the codes are, sent down as a signal naming the batches
    it touched (see :func:`status_apply`)."""

    def send(
        conn: Connection, batch_nos: Sequence[str], codes: Sequence[str] | None = None
    ) -> None:
        post_signal(
            conn,
            outbox,
            SafetySignal(
                mah_uscc=actor,
                document_no=request.document_no,
                business_time=request.business_time,
                batch_nos=tuple(batch_nos),
                codes=None if codes is None else tuple(codes),
                **signal,
            ),
        )

    apply = status_apply(actor, request, action, payload, send)
    return write(engine, actor, operation, request, apply, bill_type=operation, clock=clock)


Send = Callable[[Connection, Sequence[str], Sequence[str] | None], None]
"""What a status step sends down once applied: (batches touched, codes with what they hold;
None for whole batches)."""


def status_apply(
    actor: str,
    request: Lock | Unlock,
    action: Action,
    payload: dict[str, Any],
    send: Send | None = None,
) -> Apply:
    """A status-only step wherever the codes are: on the listed codes, or on whole batches;
    not dated before their production (but it may precede steps recorded before it); then
    ``send`` (none for a regulator's order taken from the platform: it went down already)."""
    codes = request.codes
    if codes is not None:

        def apply_to_codes(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
            resolved = resolve_codes(conn, header, codes, action, movement=False)
            answer = step_codes(
                conn, header, resolved, action, holder=None, payload=payload, movement=False
            )
            if send is not None:  # what the codes hold goes too: a receiver may have opened them
                send(conn, batch_nos_of(resolved.batches), affected_codes(conn))
            return answer

        return apply_to_codes

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        assert request.batch_nos is not None
        ids = own_batch_ids(conn, actor, request.batch_nos)
        check_batches_order(conn, header, ids)
        event_id = append_event(conn, header, payload)
        moved = batches_step(conn, ids, event_id, action)
        if send is not None:
            send(conn, request.batch_nos, None)
        return event_id, {
            "codes_updated": moved,
            "by_status": batches_status_counts(conn, ids),
        }

    return apply
