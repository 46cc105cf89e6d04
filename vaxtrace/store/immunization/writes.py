"""SQL of the province's write log: one row per (organisation, client document id)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, RowMapping, insert, select

from vaxtrace.core.downstream import DownstreamEvent
from vaxtrace.store.immunization.schema import journal, province_write


class LoggedWrite(TypedDict):
    """A row of the write log, as the write frame keeps it: the request and its answer."""

    org_uscc: str
    client_document_id: str
    operation: str
    bill_type: str
    document_no: str
    request_sha256: str
    request: dict[str, Any]
    response: dict[str, Any]
    recorded_at: datetime


def find_write(conn: Connection, org_uscc: str, client_document_id: str) -> RowMapping | None:
    query = select(province_write).where(
        province_write.c.org_uscc == org_uscc,
        province_write.c.client_document_id == client_document_id,
    )
    return conn.execute(query).mappings().first()


def save_write(
    conn: Connection,
    write: LoggedWrite,
    event: DownstreamEvent,
    stock: Mapping[str, Any] | None = None,
) -> int:
    """Keep a write and journal it with the step it reported (and what it put in stock);
    answers the log's size."""
    conn.execute(insert(province_write).values(**write))
    return journal.keep(conn, write["operation"], journaled(write, event, stock))


def journaled(
    write: LoggedWrite, event: DownstreamEvent, stock: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What the province's log keeps of a write: all but the request (which may name a
    vaccinee; its digest proves it), with the step it reported (the codes it moved) and, for
    a receipt, the codes it put in stock (``stock``: codes, containers, batches; never who)."""
    kept = {name: value for name, value in write.items() if name not in ("request", "recorded_at")}
    kept |= {"written_at": write["recorded_at"], "event": event.model_dump(mode="json")}
    return kept if stock is None else kept | {"stock": dict(stock)}
