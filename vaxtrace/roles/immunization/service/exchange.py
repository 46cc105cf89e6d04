"""The province's side of the exchange: what the platform forwards, each taken once — a
shipping note becomes an expected receipt of the consignee CDC; a refusal of one of this
province's reports becomes an alert for the unit that did the step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.receipt import consignment
from vaxtrace.core.refusal import REFUSAL, RefusalNotice
from vaxtrace.exchange.envelope import Opened
from vaxtrace.roles.immunization.service import alerts
from vaxtrace.roles.immunization.service.signals import placed_batches
from vaxtrace.store.engine import Connection
from vaxtrace.store.immunization.receipts import record_expected_codes, record_expected_receipt

Document = RefusalNotice | None
"""What :func:`read` found in an envelope to take: a refusal, else nothing read ahead."""


def read(opened: Opened) -> Document:
    """Check an envelope's document before anything is taken (a malformed one refuses the
    batch): a refusal must be a whole notice."""
    payload = opened.payload
    if isinstance(payload, dict) and REFUSAL in payload:
        return alerts.read_notice(payload[REFUSAL])
    return None


def announce(conn: Connection, opened: Opened, document: Document) -> dict[str, Any]:
    """Take one envelope the platform forwarded, in the caller's transaction: a shipping
    note becomes an expected receipt of its consignee CDC, its codes read once into the
    form each scan looks up (``expected_code``); a refusal an alert."""
    if isinstance(document, RefusalNotice):
        return {"alert_id": alerts.keep(conn, document)}
    note = opened.payload.get("shipping_note")
    if note is not None:
        event_id, mah = opened.header["event_id"], opened.header["data_owner"]
        record_expected_receipt(
            conn,
            event_id=event_id,
            shipper_uscc=mah,
            note_no=note["document_no"],
            consignee_uscc=note["consignee_uscc"],
            doses=int(note["doses"]),
            note=note,
            announced_at=datetime.now(UTC),
            sequence=int(opened.header["sequence"]),
        )
        goods = consignment(note.get("codes") or [], note.get("contents"))
        expected = goods.expected_codes()
        batches = placed_batches(note, goods, [(c.code, c.parent_code) for c in expected])
        record_expected_codes(conn, event_id, expected, {c: (mah, b) for c, b in batches.items()})
    return {}
