"""SQL of the findings (发现的问题) kept by the supervision system: refusals between nodes
and MAHs' safety signals, where the unit concerned is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert

from vaxtrace.store.supervision.areas import newest_in_area
from vaxtrace.store.supervision.schema import finding, journal


@dataclass(frozen=True, slots=True)
class Finding:
    """A finding as kept: what went wrong (``kind``, ``reason``, ``detail``, when), which unit
    and where, and the document concerned."""

    kind: str
    org_uscc: str
    division_code: str
    reason: str
    bill_type: str | None
    document_no: str | None
    detail: Mapping[str, Any]
    found_at: datetime


def add_finding(conn: Connection, event_id: str, found: Finding) -> None:
    """Keep a finding as copied in envelope ``event_id``."""
    kept = asdict(found) | {"detail": dict(found.detail)}
    conn.execute(
        insert(finding).values(kept | {"event_id": event_id, "received_at": datetime.now(UTC)})
    )
    journal.keep(conn, "finding", {"event_id": event_id, "finding": kept})


def findings_in(
    conn: Connection, area_prefix: str, *, before: int | None, limit: int
) -> list[RowMapping]:
    """The findings inside an area, newest first."""
    return newest_in_area(conn, finding, area_prefix, before=before, limit=limit)
