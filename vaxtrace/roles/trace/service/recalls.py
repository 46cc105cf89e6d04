"""召回 recalls: starting a recall of whole batches, 108 recall receipt of the goods, and
closing the recall (召回完成)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vaxtrace.core.datasets.recalls import Recall, RecallClosure, RecallReceipt
from vaxtrace.core.errors import DomainError, examples
from vaxtrace.core.reasons import Reason
from vaxtrace.core.signals import SafetySignal, SignalKind
from vaxtrace.core.status import Action
from vaxtrace.core.times import Clock
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.trace.service.lookups import own_batch_ids
from vaxtrace.roles.trace.service.signals import post_signal
from vaxtrace.roles.trace.service.writes import (
    batches_step,
    check_batches_order,
    resolve_codes,
    step_codes,
    write,
)
from vaxtrace.store.engine import Connection, Engine, RowMapping
from vaxtrace.store.trace.events import EventHeader, append_event
from vaxtrace.store.trace.recalls import (
    add_recall,
    mark_closed,
    recall_data,
    recall_exists,
    recall_of,
)
from vaxtrace.store.write_frame import WriteResult


def start_recall(
    engine: Engine, actor: str, request: Recall, clock: Clock, outbox: Outbox | None = None
) -> WriteResult:
    """召回: start a recall of whole batches (a mock recall changes no status and is not sent
    down; a real one reaches every node holding the batches as a safety signal)."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        ids = own_batch_ids(conn, actor, request.batch_nos)
        check_batches_order(conn, header, ids)
        if recall_exists(conn, actor, request.recall_no):
            raise DomainError(
                Reason.RECALL_EXISTS, f"recall {request.recall_no} exists", field="recall_no"
            )
        data = request.model_dump(mode="json", exclude={"client_document_id"})
        event_id = append_event(conn, header, data)
        add_recall(conn, actor, event_id, data)
        moved = batches_step(conn, ids, event_id, None if request.mock else Action.START_RECALL)
        if not request.mock:
            level = int(request.level)
            signal = _recall_signal(
                SignalKind.RECALL, actor, request, request.batch_nos, request.reason, level
            )
            post_signal(conn, outbox, signal)
        return event_id, {
            "recall_no": request.recall_no,
            "codes_updated": moved,
            "state": "in_progress",
        }

    return write(engine, actor, "recall", request, apply, bill_type="recall", clock=clock)


def _recall_signal(
    kind: SignalKind,
    actor: str,
    request: Recall | RecallClosure,
    batch_nos: Sequence[str],
    reason: str,
    level: int | None = None,
) -> SafetySignal:
    """A step of a recall (its start or its closure) as every node it reaches applies it."""
    return SafetySignal(
        kind=kind,
        mah_uscc=actor,
        document_no=request.document_no,
        business_time=request.business_time,
        batch_nos=tuple(batch_nos),
        recall_no=request.recall_no,
        recall_level=level,
        reason=reason,
    )


def close_recall(
    engine: Engine, actor: str, request: RecallClosure, clock: Clock, outbox: Outbox | None = None
) -> WriteResult:
    """召回完成: close a recall of this MAH's with its summary; a real one's closure reaches
    every node the recall reached. No code changes status: what was not returned stays
    stopped wherever it is."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        found = _own_recall(conn, actor, request.recall_no)
        if found["state"] == "closed":
            raise DomainError(
                Reason.RECALL_CLOSED, f"recall {request.recall_no} is closed", field="recall_no"
            )
        data = request.model_dump(mode="json", exclude={"client_document_id"})
        event_id = append_event(conn, header, data)
        mark_closed(conn, found["id"])
        started = found["data"]
        if not started.get("mock"):
            signal = _recall_signal(
                SignalKind.RECALL_CLOSED, actor, request, started["batch_nos"], request.summary
            )
            post_signal(conn, outbox, signal)
        return event_id, {"recall_no": request.recall_no, "state": "closed"}

    return write(
        engine, actor, "recall_closure", request, apply, bill_type="recall_closure", clock=clock
    )


def _own_recall(conn: Connection, actor: str, recall_no: str) -> RowMapping:
    found = recall_of(conn, actor, recall_no)
    if found is None:
        raise DomainError(
            Reason.UNKNOWN_RECALL, f"no recall {recall_no} of yours", field="recall_no"
        )
    return found


def recall_receipt(engine: Engine, actor: str, request: RecallReceipt, clock: Clock) -> WriteResult:
    """108 召回入库: recalled goods come back to the MAH, batches of the recall only."""
    payload = {"recall_no": request.recall_no, "from_uscc": request.from_uscc}

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        resolved = resolve_codes(
            conn, header, request.codes, Action.RECALL_IN, expected_holder=request.from_uscc
        )
        _check_in_recall(conn, actor, request.recall_no, resolved.batches)
        return step_codes(conn, header, resolved, Action.RECALL_IN, holder=actor, payload=payload)

    return write(engine, actor, "recall_receipt", request, apply, bill_type="108", clock=clock)


def _check_in_recall(
    conn: Connection, actor: str, recall_no: str, batches: Sequence[Mapping[str, Any]]
) -> None:
    """The goods come back under a recall of the actor's, of its batches only."""
    data = recall_data(conn, actor, recall_no)
    if data is None:
        raise DomainError(
            Reason.UNKNOWN_RECALL, f"no recall {recall_no} of yours", field="recall_no"
        )
    outside = [b["batch_no"] for b in batches if b["batch_no"] not in data["batch_nos"]]
    if outside:
        raise DomainError(
            Reason.NOT_IN_RECALL,
            f"batch(es) {examples(outside)} are not in recall {recall_no}",
            field="codes",
        )
