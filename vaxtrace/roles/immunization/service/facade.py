"""``ImmunizationService``: the use cases of the provincial immunization system gathered into
the one object the API and CLI use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from vaxtrace.core.datasets import Organisation
from vaxtrace.core.province import (
    DamageReport,
    Distribution,
    GoodsReturn,
    ReceivingNote,
    Vaccination,
)
from vaxtrace.core.receipt import ScanDecision
from vaxtrace.exchange.delivery import FromPlatform, Outbox
from vaxtrace.exchange.envelope import Verifier
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.registry_feed import Fetch
from vaxtrace.roles.immunization.service import (
    exchange,
    identities,
    inventory,
    movements,
    receipts,
    sync,
)
from vaxtrace.roles.immunization.service.writes import WriteResult
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization.schema import exchange as exchange_tables
from vaxtrace.store.immunization.schema import expected_receipt


class ImmunizationService:
    """The province's node. With an ``outbox``, every write reports its step to the platform
    in the write's own transaction. :meth:`close` it when done: it writes the scans' audit
    still pending."""

    def __init__(
        self,
        engine: Engine,
        platform_id: str,
        platform_key: Verifier | None,
        *,
        outbox: Outbox | None = None,
    ) -> None:
        self.engine = engine
        self.from_platform = FromPlatform(engine, exchange_tables, platform_id, platform_key)
        self.outbox = outbox
        self.scan_audit = receipts.ScanAudit(engine)
        """How scans are kept: each in the audit, in batches (see receipts.ScanAudit)."""

    def close(self) -> None:
        """Write what is pending (the scans' audit)."""
        self.scan_audit.close()

    # --- the exchange (mutual TLS) ---------------------------------------------------------

    def receive_envelope(self, caller: SystemIdentity, envelope: Any) -> dict[str, Any]:
        """Take one envelope (see :meth:`receive_batch`)."""
        return self.receive_batch(caller, [envelope])[0]

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Only the platform forwards to a province; each event is taken once, a batch all
        or none."""
        return self.from_platform.take(
            caller.system_id,
            envelopes,
            lambda _opened: None,
            exchange.announce,
        )

    def expected(self, consignee_uscc: str) -> list[dict[str, Any]]:
        """Shipping notes announced to a CDC, oldest first."""
        return receipts.expected(self.engine, consignee_uscc)

    def count(self) -> int:
        with read_tx(self.engine) as conn:
            return int(
                conn.execute(select(func.count()).select_from(expected_receipt)).scalar_one()
            )

    # --- organisations and staff -------------------------------------------------------------

    def register_organisation(self, org: Organisation) -> dict[str, Any]:
        return identities.register_organisation(self.engine, org)

    def issue_token(self, org_uscc: str, label: str = "api") -> str:
        return identities.issue_token(self.engine, org_uscc, label)

    def authenticate(self, token: str) -> str | None:
        return identities.authenticate(self.engine, token)

    def sync_registry(self, system_id: str, source: str, fetch: Fetch) -> dict[str, Any]:
        """Apply the platform's basic-data changes since the last sync, as system
        ``system_id`` (whose units the province takes)."""
        return sync.follow_registry(self.engine, system_id, source, fetch)

    # --- receipt with scan verification ------------------------------------------------------

    def scan(
        self, actor: str, note_no: str, code: str, mah_uscc: str | None = None
    ) -> ScanDecision:
        return receipts.scan(self.engine, self.scan_audit, actor, note_no, code, mah_uscc)

    def receipt(self, actor: str, note_no: str, mah_uscc: str | None = None) -> dict[str, Any]:
        return receipts.progress(self.engine, actor, note_no, mah_uscc)

    def confirm_receipt(self, actor: str, request: ReceivingNote) -> WriteResult:
        return receipts.confirm_receipt(self.engine, self.outbox, actor, request)

    # --- movements and stock ---------------------------------------------------------------

    def distribute(self, actor: str, request: Distribution) -> WriteResult:
        return movements.distribute(self.engine, self.outbox, actor, request)

    def vaccinate(self, actor: str, request: Vaccination) -> WriteResult:
        return movements.vaccinate(self.engine, self.outbox, actor, request)

    def return_goods(self, actor: str, request: GoodsReturn) -> WriteResult:
        return movements.return_goods(self.engine, self.outbox, actor, request)

    def report_damage(self, actor: str, request: DamageReport) -> WriteResult:
        return movements.report_damage(self.engine, self.outbox, actor, request)

    def stock(self, actor: str, code: str | None = None) -> dict[str, Any]:
        """The unit's stock; one code of it when ``code`` is given."""
        if code is None:
            return inventory.summary(self.engine, actor)
        return inventory.by_code(self.engine, actor, code)
