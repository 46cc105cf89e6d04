"""What a province reports for the supervision systems only: a cold-chain excursion (温度超标)
a unit recorded, with the codes it holds, posted to the platform in the record's own
transaction (it leaves exactly when the excursion is recorded); the platform copies it to the
supervision systems of the unit's area as a step (931) on those codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaxtrace.core.supervision import EXCURSION, ExcursionReport
from vaxtrace.exchange.delivery import PLATFORM, Outbox
from vaxtrace.store.engine import Connection
from vaxtrace.store.immunization import coldchain as store
from vaxtrace.store.immunization import receipts

MAX_CODES = 100_000
"""Codes one report carries at most (a step's limit)."""


def report_excursion(conn: Connection, outbox: Outbox | None, row: Mapping[str, Any]) -> None:
    """Post the excursion ``row`` just recorded, with the codes it holds, or for a journey's
    (a transport record naming its delivery) the delivery's codes (none: nothing to report on
    codes, so nothing is sent)."""
    if outbox is None:
        return
    codes = store.codes_held(conn, int(row["id"]), MAX_CODES) or _journey_codes(conn, row)
    if not codes:
        return
    detail = {
        k: row[k]
        for k in ("equipment_id", "rule_id", "rule_kind", "tier", "minutes")
        if row.get(k) is not None
    } | {
        "excursion_id": int(row["id"]),
        "start_time": row["start_time"].isoformat(),
        "min_celsius": float(row["min_celsius"]),
        "max_celsius": float(row["max_celsius"]),
    }
    report = ExcursionReport(
        org_uscc=row["unit_uscc"],
        document_no=str(row["document_no"]),
        business_time=row["end_time"],
        codes=tuple(codes),
        detail=detail,
    )
    outbox.post(
        conn,
        PLATFORM,
        event_type="20",
        event_subtype=EXCURSION,
        data_owner=report.org_uscc,
        payload={"excursion_report": report.model_dump(mode="json")},
    )


def _journey_codes(conn: Connection, row: Mapping[str, Any]) -> list[str]:
    """What a journey's excursion (a transport record's) was on: the codes of the delivery its
    record names (``related_document_no``) to the unit, as the notes list them."""
    note_no = row.get("related_document_no")
    if not note_no:
        return []
    notes = receipts.notes_numbered(conn, str(note_no))
    ours = [n for n in notes if n["consignee_uscc"] == row["unit_uscc"]]
    return [c.code for n in ours for c in receipts.expected_codes(conn, n["event_id"])][:MAX_CODES]
