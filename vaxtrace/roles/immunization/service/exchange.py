"""The province's side of the exchange: shipping notes the platform forwards, taken once, as
expected receipts of the consignee CDC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from vaxtrace.exchange.delivery import Inbox, open_from_platform
from vaxtrace.exchange.envelope import Verifier
from vaxtrace.store.immunization.schema import expected_receipt


def take(
    conn: Connection,
    inbox: Inbox,
    caller_id: str,
    platform: tuple[str, Verifier | None],
    envelope: Any,
) -> dict[str, Any]:
    """Open one envelope the platform forwarded and take it once, in the caller's
    transaction; a shipping note becomes an expected receipt."""
    opened = open_from_platform(caller_id, *platform, envelope)
    fresh = inbox.receive(conn, opened)
    note = opened.payload.get("shipping_note") if fresh else None
    if note is not None:
        conn.execute(
            insert(expected_receipt).values(
                event_id=opened.header["event_id"],
                mah_uscc=opened.header["data_owner"],
                note_no=note["document_no"],
                consignee_uscc=note["consignee_uscc"],
                doses=int(note["doses"]),
                note=note,
                announced_at=datetime.now(UTC),
                sequence=int(opened.header["sequence"]),
            )
        )
    return {"event_id": opened.header["event_id"], "accepted": fresh, "duplicate": not fresh}
