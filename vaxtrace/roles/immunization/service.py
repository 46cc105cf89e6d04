"""Use cases of the provincial immunization system (省级免疫规划信息系统), first part: taking
shipping notes forwarded by the platform, so the CDC knows what to expect and can verify it
when the goods arrive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from vaxtrace.core.errors import Forbidden
from vaxtrace.exchange.delivery import Inbox, take_batch
from vaxtrace.exchange.envelope import Verifier, open_envelope
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.immunization.schema import exchange, expected_receipt


class ImmunizationService:
    def __init__(self, engine: Engine, platform_id: str, platform_key: Verifier | None) -> None:
        self.engine = engine
        self.platform_id = platform_id
        self.platform_key = platform_key
        self.inbox = Inbox(ExchangeStore(exchange))

    def receive_envelope(self, caller: SystemIdentity, envelope: Any) -> dict[str, Any]:
        """Take one envelope (see :meth:`receive_batch`)."""
        return self.receive_batch(caller, [envelope])[0]

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Only the platform forwards to a province; each event is taken once, a batch all
        or none."""
        if caller.system_id != self.platform_id:
            raise Forbidden("not_the_platform", "only the platform forwards data here")
        with write_tx(self.engine) as conn:
            return take_batch(envelopes, lambda envelope: self._take(conn, envelope))

    def _take(self, conn: Connection, envelope: Any) -> dict[str, Any]:
        key = self.platform_key
        opened = open_envelope(
            envelope,
            lambda sender, alg, key_id: (
                key
                if key is not None and sender == self.platform_id and key.key_id == key_id
                else None
            ),
        )
        fresh = self.inbox.receive(conn, opened)
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

    def expected(self, consignee_uscc: str) -> list[dict[str, Any]]:
        """Shipping notes announced to a CDC, oldest first."""
        with read_tx(self.engine) as conn:
            rows = conn.execute(
                select(expected_receipt)
                .where(expected_receipt.c.consignee_uscc == consignee_uscc)
                .order_by(expected_receipt.c.sequence)
            ).mappings()
            return [
                {
                    "note_no": r["note_no"],
                    "mah_uscc": r["mah_uscc"],
                    "doses": r["doses"],
                    "codes": r["note"]["codes"],
                }
                for r in rows
            ]

    def count(self) -> int:
        with read_tx(self.engine) as conn:
            return int(
                conn.execute(select(func.count()).select_from(expected_receipt)).scalar_one()
            )
