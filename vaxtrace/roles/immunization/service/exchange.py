"""The province's side of the exchange: shipping notes the platform forwards, taken once, as
expected receipts of the consignee CDC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert

from vaxtrace.core.receipt import consignment
from vaxtrace.exchange.envelope import Opened
from vaxtrace.store.immunization.receipts import record_expected_codes
from vaxtrace.store.immunization.schema import expected_receipt


def announce(conn: Connection, opened: Opened, _document: None) -> dict[str, Any]:
    """Take one envelope the platform forwarded, in the caller's transaction: a shipping
    note becomes an expected receipt of its consignee CDC, its codes read once into the
    form each scan looks up (``expected_code``)."""
    note = opened.payload.get("shipping_note")
    if note is not None:
        event_id = opened.header["event_id"]
        conn.execute(
            insert(expected_receipt).values(
                event_id=event_id,
                mah_uscc=opened.header["data_owner"],
                note_no=note["document_no"],
                consignee_uscc=note["consignee_uscc"],
                doses=int(note["doses"]),
                note=note,
                announced_at=datetime.now(UTC),
                sequence=int(opened.header["sequence"]),
            )
        )
        goods = consignment(note.get("codes") or [], note.get("contents"))
        record_expected_codes(conn, event_id, goods.expected_codes())
    return {}
