"""SQL of the steps of the chain the platform copies to the supervision system."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert

from vaxtrace.store.supervision.areas import newest_in_area
from vaxtrace.store.supervision.schema import journal, supervised_step


def add_step(
    conn: Connection, *, event_id: str, reported_by: str, data_owner: str, step: Mapping[str, Any]
) -> None:
    """Keep a step as copied in envelope ``event_id`` (``step``: its bill type, doer, division,
    document number, business time in UTC and codes)."""
    conn.execute(
        insert(supervised_step).values(
            event_id=event_id,
            reported_by=reported_by,
            data_owner=data_owner,
            received_at=datetime.now(UTC),
            **step,
        )
    )
    kept = {"event_id": event_id, "reported_by": reported_by, "data_owner": data_owner}
    journal.keep(conn, "step", kept | {"step": dict(step)})


def steps_in(
    conn: Connection,
    area_prefix: str,
    *,
    bill_type: str | None,
    before: int | None,
    limit: int,
) -> list[RowMapping]:
    """The steps done inside an area (of one bill type, when given), newest first."""
    equal = {} if bill_type is None else {"bill_type": bill_type}
    return newest_in_area(conn, supervised_step, area_prefix, before=before, limit=limit, **equal)
