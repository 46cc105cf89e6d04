"""Trace events (追溯事件) and the writes that made them: append-only events, their links to
codes and batches, corrections, and the record of each idempotent write."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, bindparam, insert, select

from vaxtrace.store.trace.schema import batch_event, event_code, trace_event, write_request
from vaxtrace.store.write_frame import WriteKey


@dataclass(frozen=True, slots=True)
class EventHeader:
    """What every trace event records besides its payload."""

    bill_type: str
    org_uscc: str
    business_time: datetime
    document_no: str
    client_document_id: str
    source_document: str | None = None
    corrects_event_id: int | None = None


# Statements of every write, built once: building one costs more than running it.
_APPEND_EVENT = insert(trace_event).returning(trace_event.c.id)
_FIND_WRITE = select(write_request).where(
    write_request.c.org_uscc == bindparam("org_uscc"),
    write_request.c.client_document_id == bindparam("client_document_id"),
)
_SAVE_WRITE = insert(write_request)


def append_event(conn: Connection, header: EventHeader, payload: Mapping[str, Any]) -> int:
    """Append one event (never updated afterwards) and return its sequence number."""
    result = conn.execute(
        _APPEND_EVENT,
        {
            "event_uuid": str(uuid.uuid4()),
            "bill_type": header.bill_type,
            "org_uscc": header.org_uscc,
            # UTC, so SQLite (which keeps no offset) stores the same instant as PostgreSQL
            "business_time": header.business_time.astimezone(UTC),
            "recorded_time": datetime.now(UTC),
            "document_no": header.document_no,
            "client_document_id": header.client_document_id,
            "source_document": header.source_document,
            "corrects_event_id": header.corrects_event_id,
            "payload": dict(payload),
        },
    )
    return int(result.scalar_one())


def find_write(conn: Connection, org_uscc: str, client_document_id: str) -> RowMapping | None:
    params = {"org_uscc": org_uscc, "client_document_id": client_document_id}
    return conn.execute(_FIND_WRITE, params).mappings().first()


def save_write(
    conn: Connection, key: WriteKey, event_id: int | None, response: Mapping[str, Any]
) -> None:
    """Keep a write's answer under its key, for its retries."""
    conn.execute(
        _SAVE_WRITE,
        {
            "org_uscc": key.actor,
            "client_document_id": key.client_document_id,
            "operation": key.operation,
            "request_sha256": key.request_sha256,
            "event_id": event_id,
            "response": dict(response),
        },
    )


def add_event_record(
    conn: Connection,
    table: Table,
    event_id: int,
    payload: Mapping[str, Any],
    fields: Iterable[str],
    **columns: Any,
) -> None:
    """A row of ``table`` kept beside an event: the event's id, the ``fields`` of its payload
    as they are, and the other ``columns``."""
    copied = {field: payload[field] for field in fields}
    conn.execute(insert(table).values(event_id=event_id, **copied, **columns))


def link_codes(conn: Connection, code_ids: Iterable[int], event_id: int) -> None:
    rows = [{"code_id": cid, "event_id": event_id} for cid in dict.fromkeys(code_ids)]
    if rows:
        conn.execute(insert(event_code), rows)


def link_batches(conn: Connection, batch_ids: Iterable[int], event_id: int) -> None:
    rows = [{"batch_id": b, "event_id": event_id} for b in dict.fromkeys(batch_ids)]
    if rows:
        conn.execute(insert(batch_event), rows)


def event_by_id(conn: Connection, event_id: int) -> RowMapping | None:
    return conn.execute(select(trace_event).where(trace_event.c.id == event_id)).mappings().first()


def corrections_of(conn: Connection, event_ids: Sequence[int]) -> list[RowMapping]:
    """Correction events citing any of ``event_ids``."""
    query = select(trace_event).where(trace_event.c.corrects_event_id.in_(list(event_ids)))
    return list(conn.execute(query).mappings())
