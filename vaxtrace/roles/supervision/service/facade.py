"""``SupervisionService``: the use cases of the supervision system (监管系统) gathered into the
one object the API, CLI and federation use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.recalls import RecallClosing, RecallOrder
from vaxtrace.exchange.delivery import FromPlatform, Outbox
from vaxtrace.exchange.envelope import Verifier
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.registry_feed import Fetch
from vaxtrace.log.service import LedgerService, names_reader
from vaxtrace.roles.supervision.service import recalls, receiving, regulators, views
from vaxtrace.store.engine import Engine, write_tx
from vaxtrace.store.supervision.exchange import exchange_store


class SupervisionService:
    """The supervision node: what it was told, and who may see which part."""

    def __init__(
        self,
        engine: Engine,
        platform_id: str,
        platform_key: Verifier | None,
        *,
        ledger: LedgerService | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        """Towards the platform: the public notices of recalls (None: no exchange)."""
        self.ledger = ledger
        """Signs checkpoints over the journal; every decision is journaled whether or not."""
        if ledger is not None:
            ledger.readers = self  # a regulator's staff read the entries naming it
        self.from_platform = FromPlatform(engine, exchange_store(), platform_id, platform_key)
        self.tokens = regulators.staff_tokens(engine)
        """The staff's API tokens (the one token service, over this role's table)."""

    # --- the exchange (mutual TLS) ---------------------------------------------------------

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Steps and findings the platform copied here, in sequence order; each taken once,
        all or none."""
        taken = self.from_platform.take(
            caller.system_id, envelopes, receiving.read, receiving.record
        )
        if self.outbox is not None:  # a MAH's recall opened or closed: the public is told
            with write_tx(self.engine) as conn:
                recalls.publish_notices(conn, self.outbox)
        return taken

    # --- regulators and their staff ----------------------------------------------------------

    def register_organisation(self, org: Organisation) -> dict[str, Any]:
        """Add or update a regulator (药品监督管理部门) whose staff use this system."""
        return regulators.register_organisation(self.engine, org)

    def sync_registry(self, system_id: str, source: str, fetch: Fetch) -> dict[str, Any]:
        """Apply the platform's basic-data changes since the last sync, taking the regulators
        system ``system_id`` represents there and every later change of one it serves."""
        return regulators.sync_registry(self.engine, system_id, source, fetch)

    def issue_token(self, org_uscc: str, label: str = "api") -> str:
        """An API token for a regulator's staff; only its SHA-256 is stored."""
        return self.tokens.issue(org_uscc, label)

    def authenticate(self, token: str) -> str | None:
        return self.tokens.holder(token)

    def may_read_event(self, reader: str, document: bytes) -> bool:
        return names_reader(reader, document)

    # --- what a regulator sees -----------------------------------------------------------------

    def steps(
        self,
        actor: str,
        *,
        bill_type: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """The steps done inside the actor's division, newest first, a page at a time."""
        return views.steps(self.engine, actor, bill_type=bill_type, before=before, limit=limit)

    def findings(
        self, actor: str, *, before: int | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """What went wrong inside the actor's division (reports refused by their receiver,
        where the unit that did the step is), newest first, a page at a time."""
        return views.findings(self.engine, actor, before=before, limit=limit)

    def chain(self, actor: str, code: str) -> dict[str, Any]:
        """The chain of ``code`` as this node knows it, every step in time order, if a step
        of it was done inside the actor's division (else not found)."""
        return views.chain(self.engine, actor, code)

    # --- recalls (召回管理) -----------------------------------------------------------------

    def recalls(self, actor: str, *, before: int | None = None, limit: int = 100) -> dict[str, Any]:
        """The recalls the actor sees (its MAHs', and those with units in its area)."""
        return recalls.recalls(self.engine, actor, before=before, limit=limit)

    def recall(self, actor: str, recall_id: int, now: datetime | None = None) -> dict[str, Any]:
        """One recall: units by state and holder, completion, progress, milestones."""
        return recalls.recall(self.engine, actor, recall_id, now or datetime.now(UTC))

    def order_recall(
        self, actor: str, order: RecallOrder, now: datetime | None = None
    ) -> dict[str, Any]:
        """责令召回: a regulator of the MAH's area orders a recall."""
        return recalls.order_recall(
            self.engine, actor, order, now or datetime.now(UTC), self.outbox
        )

    def close_recall(
        self, actor: str, recall_id: int, closing: RecallClosing, now: datetime | None = None
    ) -> dict[str, Any]:
        """召回完成: closed when complete, or with a justification."""
        return recalls.close_recall(
            self.engine, actor, recall_id, closing, now or datetime.now(UTC), self.outbox
        )
