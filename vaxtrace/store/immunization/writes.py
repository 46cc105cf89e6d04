"""SQL of the province's write log: one row per (organisation, client document id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import Connection, RowMapping, insert, select

from vaxtrace.store.immunization.schema import province_write


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


def save_write(conn: Connection, write: LoggedWrite) -> None:
    conn.execute(insert(province_write).values(**write))
