"""How every province write runs in the write frame (:mod:`vaxtrace.store.write_frame`).

One transaction: checks first, writes after, then the report to the platform posted in the
outbox and the answer kept in the write log. Any refusal rolls everything back, so a refused
request writes nothing and reports nothing. A retry with the same client document id and body
answers the first answer and writes nothing new; the same id with another body is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vaxtrace.core.datasets.elements import Write
from vaxtrace.core.digests import joined_digest
from vaxtrace.core.downstream import DownstreamEvent
from vaxtrace.core.immunization import Unit
from vaxtrace.core.times import Clock, check_business_time
from vaxtrace.exchange.delivery import PLATFORM, Outbox
from vaxtrace.roles.immunization.service.lookups import unit
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.immunization import writes as log
from vaxtrace.store.write_frame import WriteKey, WriteResult, write_once


@dataclass(frozen=True, slots=True)
class Step:
    """What a write did: its answer, and what it reports to the codes' owners; ``stock``
    what its entry says it put in stock, where its step does not say it (a receipt's codes
    with their containers and batches: :func:`vaxtrace.core.province_replay.received`)."""

    body: dict[str, Any]
    event: DownstreamEvent
    stock: dict[str, Any] | None = None


SYSTEM_CLOCK = Clock()
"""The system's clock with the default skew (a node passes its configured one)."""

Apply = Callable[[Connection, Unit, datetime], Step]
"""Check and write inside the transaction, as the acting unit, at the given recording time."""


def province_write(
    engine: Engine,
    outbox: Outbox | None,
    actor: str,
    operation: str,
    request: Write,
    apply: Apply,
    clock: Clock = SYSTEM_CLOCK,
) -> WriteResult:
    """Run ``apply`` once per (actor, client document id); a retry replays the first answer.
    A business time in the future beyond ``clock``'s skew is refused here, as the trace node
    would refuse the report (the range is refused when the request is read)."""
    key = write_key(actor, operation, request)

    def first_write(conn: Connection) -> WriteResult:
        acting = unit(conn, actor)
        now = clock.now()
        check_business_time(request.business_time, now=now, skew=clock.skew)
        step = apply(conn, acting, now)
        body = _answer(operation, request, step) | {
            "exchange_event_id": report(conn, outbox, step.event)
        }
        logged = log.LoggedWrite(
            org_uscc=actor,
            client_document_id=request.client_document_id,
            operation=operation,
            bill_type=step.event.bill_type.value,
            document_no=request.document_no,
            request_sha256=key.request_sha256,
            request=request.model_dump(mode="json"),
            response=body,
            recorded_at=now,
        )
        size = log.save_write(conn, logged, step.event, step.stock)
        return WriteResult(body, replayed=False, log_size=size)

    return write_once(engine, log.find_write, key, first_write)


def write_key(actor: str, operation: str, request: Write) -> WriteKey:
    """What identifies a province write and what its retry must repeat."""
    digest = joined_digest(operation, request.model_dump_json().encode())
    return WriteKey(actor, request.client_document_id, operation, digest)


def report(conn: Connection, outbox: Outbox | None, event: DownstreamEvent) -> str | None:
    """Post the step to the platform in the caller's transaction; answers the envelope's
    event id (None when this node has no exchange)."""
    if outbox is None:
        return None
    envelope = outbox.post(
        conn,
        PLATFORM,
        event_type="20",
        event_subtype=event.bill_type.value,
        data_owner=event.org_uscc,
        payload={"downstream_event": event.model_dump(mode="json")},
    )
    return str(envelope["event_id"])


def _answer(operation: str, request: Write, step: Step) -> dict[str, Any]:
    return {
        "operation": operation,
        "bill_type": step.event.bill_type.value,
        "document_no": request.document_no,
    } | step.body
