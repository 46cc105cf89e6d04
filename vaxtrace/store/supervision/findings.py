"""SQL of the findings (发现的问题) kept by the supervision system: refusals between nodes
and MAHs' safety signals, where the unit concerned is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert

from vaxtrace.store.supervision.areas import newest_in_area
from vaxtrace.store.supervision.schema import finding


def add_finding(
    conn: Connection,
    *,
    event_id: str,
    kind: str,
    org_uscc: str,
    division_code: str,
    reason: str,
    bill_type: str | None,
    document_no: str | None,
    detail: Mapping[str, Any],
    found_at: datetime,
) -> None:
    """Keep a finding as copied in envelope ``event_id``."""
    conn.execute(
        insert(finding).values(
            event_id=event_id,
            kind=kind,
            org_uscc=org_uscc,
            division_code=division_code,
            reason=reason,
            bill_type=bill_type,
            document_no=document_no,
            detail=dict(detail),
            found_at=found_at,
            received_at=datetime.now(UTC),
        )
    )


def findings_in(
    conn: Connection, area_prefix: str, *, before: int | None, limit: int
) -> list[RowMapping]:
    """The findings inside an area, newest first."""
    return newest_in_area(conn, finding, area_prefix, before=before, limit=limit)
