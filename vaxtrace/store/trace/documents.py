"""What the trace role's log commits to: each event as one canonical JSON document.

The document holds the event row and the codes and batches it was recorded against, so a
change to any of them, made by any means, no longer matches the event's leaf. A commission's
document also carries the count and Merkle root of the codes it issued (``commissioned``; see
vaxtrace.core.replay), which are kept in ``commissioned_code``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, bindparam, func, null, select

from vaxtrace.ledger.canonical import canonical_json
from vaxtrace.store.ledger import Ledger
from vaxtrace.store.trace import schema
from vaxtrace.store.trace.schema import (
    batch,
    batch_event,
    commission_digest,
    event_code,
    trace_code,
    trace_event,
)

_EVENT_FIELDS = (  # "id" first: the rows below rely on it
    "id",
    "event_uuid",
    "bill_type",
    "org_uscc",
    "document_no",
    "client_document_id",
    "source_document",
    "corrects_event_id",
    "payload",
)


def _utc(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z, whatever the backend handed back."""
    naive = value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


def _links(
    conn: Connection, query: Any, window: dict[str, int], options: dict[str, Any]
) -> Iterator[tuple[int, list[str]]]:
    rows = conn.execute(query, window, execution_options=options)
    for event_id, group in groupby(rows, key=lambda r: int(r[0])):
        yield event_id, [str(r[1]) for r in group]


def _window(column: Any, bounded: bool) -> Any:
    low = column >= bindparam("from_id")
    return (low & (column < bindparam("to_id"))) if bounded else low


@functools.cache
def _queries(bounded: bool, digests: bool = True) -> tuple[Any, Any, Any]:
    """The codes, batches and events of a window of events (built once: every write reads its
    event back through them)."""
    codes = (
        select(event_code.c.event_id, trace_code.c.code)
        .join(trace_code, trace_code.c.id == event_code.c.code_id)
        .where(_window(event_code.c.event_id, bounded))
        .order_by(event_code.c.event_id, trace_code.c.code)
    )
    batches = (
        select(batch_event.c.event_id, batch.c.batch_no)
        .join(batch, batch.c.id == batch_event.c.batch_id)
        .where(_window(batch_event.c.event_id, bounded))
        .order_by(batch_event.c.event_id, batch.c.batch_no)
    )
    columns = [trace_event.c[name] for name in _EVENT_FIELDS]
    times = [trace_event.c.business_time, trace_event.c.recorded_time]
    if digests:
        digest = [commission_digest.c.codes, commission_digest.c.root]
        events = select(*columns, *times, *digest).outerjoin(
            commission_digest, commission_digest.c.event_id == trace_event.c.id
        )
    else:  # the schema before migration 0009
        events = select(*columns, *times, null(), null())
    events = events.where(_window(trace_event.c.id, bounded)).order_by(trace_event.c.id)
    return codes, batches, events


STREAM_ABOVE = 20_000
"""Rows (events and their codes) past which a window is read in batches."""


@functools.cache
def _size(bounded: bool) -> Any:
    events = select(func.count()).where(_window(trace_event.c.id, bounded))
    codes = select(func.count()).where(_window(event_code.c.event_id, bounded))
    return select(events.scalar_subquery(), codes.scalar_subquery())


def _streamed(conn: Connection, bounded: bool, window: dict[str, int]) -> bool:
    """Whether to read a window in batches. On PostgreSQL that is a server-side cursor, three
    round trips a query: for a write's own event (the common window) the rows are few, and
    read at once; SQLite reads its cursor row by row either way."""
    if conn.dialect.name != "postgresql":
        return True
    events, codes = conn.execute(_size(bounded), window).one()
    return int(events) + int(codes) > STREAM_ABOVE


def event_documents(
    conn: Connection, from_id: int, to_id: int | None = None, *, digests: bool = True
) -> Iterator[tuple[int, bytes]]:
    """(event id, canonical document) for events from_id <= id (< to_id), in id order;
    without ``digests``, as before commissions kept their codes (migration 0002 leafs the
    events of a schema that has no commission digests yet)."""
    bounded = to_id is not None
    codes, batches, events = _queries(bounded, digests)
    window = {"from_id": from_id} if to_id is None else {"from_id": from_id, "to_id": to_id}
    many = _streamed(conn, bounded, window)
    links: dict[str, Any] = {"yield_per": 20_000} if many else {}
    code_links = _links(conn, codes, window, links)
    batch_links = _links(conn, batches, window, links)
    next_codes, next_batches = next(code_links, None), next(batch_links, None)
    rows = conn.execute(events, window, execution_options={"yield_per": 10_000} if many else {})
    for row in rows:
        event_id = int(row[0])
        doc: dict[str, Any] = dict(zip(_EVENT_FIELDS, row[: len(_EVENT_FIELDS)], strict=True))
        business_time, recorded_time, issued, root = row[len(_EVENT_FIELDS) :]
        doc["business_time"] = _utc(business_time)
        doc["recorded_time"] = _utc(recorded_time)
        if issued is not None:
            doc["commissioned"] = {"codes": int(issued), "root": bytes(root).hex()}
        while next_codes is not None and next_codes[0] < event_id:
            next_codes = next(code_links, None)
        while next_batches is not None and next_batches[0] < event_id:
            next_batches = next(batch_links, None)
        doc["codes"] = next_codes[1] if next_codes and next_codes[0] == event_id else []
        doc["batches"] = next_batches[1] if next_batches and next_batches[0] == event_id else []
        # every field but the payload is a string, a safe integer, null or a list of strings
        yield event_id, canonical_json(doc, unknown=doc["payload"])


TRACE_LEDGER = Ledger(schema.ledger, event_documents)
"""The trace role's log: leaves and nodes beside its events, in its database."""
