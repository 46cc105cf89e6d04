"""``PlatformService``: the use cases of the collaborative platform (协同服务平台) gathered into
the one object the API, CLI and federation use."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.basic_data import VaccineProduct
from vaxtrace.core.registry import ConnectedSystem, RegisteredCodingRule, RegisteredOrganisation
from vaxtrace.core.signals import CertificateFile
from vaxtrace.exchange.delivery import Inbox, Outbox, Refused
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.public_client import AskOwner, OwnerAsker
from vaxtrace.log.service import LedgerService
from vaxtrace.roles.platform.service import (
    certificates,
    coding_rules,
    forwarding,
    notices,
    refusals,
    registry,
    resolution,
)
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx
from vaxtrace.store.platform import registry as platform_registry
from vaxtrace.store.platform.exchange import exchange_store


class PlatformService:
    """The platform's node: its registry, its exchange (an inbox, and an outbox once it has
    its own system id) and address resolution."""

    def __init__(
        self, engine: Engine, outbox: Outbox | None = None, *, ledger: LedgerService | None = None
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        """Signs checkpoints over the journal (whose documents nobody reads over HTTP: the
        platform's callers are systems, not staff); every decision is journaled whether or
        not."""
        self.inbox = Inbox(exchange_store())
        self.outbox = outbox

    @property
    def outbox(self) -> Outbox | None:
        """Where the platform forwards to connected systems; None until it has its own
        system id. What a receiver refuses from it travels back (see :meth:`_refused`)."""
        return self._outbox

    @outbox.setter
    def outbox(self, outbox: Outbox | None) -> None:
        self._outbox = outbox
        if outbox is not None:
            outbox.on_refused = self._refused

    # --- registry (basic data) ----------------------------------------------------------

    def register_organisation(self, org: RegisteredOrganisation) -> dict[str, Any]:
        """Add or update an organisation; every change enters the feed once."""
        return registry.register_organisation(self.engine, org)

    def witnessed_logs(self) -> list[tuple[str, str]]:
        """(log routes' base URL, log verifier key) of every registered system that gave its
        log's key: the logs the platform witnesses."""
        with read_tx(self.engine) as conn:
            found = platform_registry.systems_with_logs(conn)
        return [
            (f"{str(s['endpoint']).rstrip('/')}/{s['role']}/v1/ledger", str(s["log_key"]))
            for s in found
        ]

    def register_system(self, item: ConnectedSystem) -> dict[str, Any]:
        """Register a connected system and the organisations it may submit data for."""
        return registry.register_system(self.engine, item)

    def changes(self, since: int) -> dict[str, Any]:
        """Basic-data changes after ``since``, oldest first, a page at a time."""
        return registry.changes(self.engine, since)

    def changes_for(self, caller: SystemIdentity, since: int) -> dict[str, Any]:
        """:meth:`changes` for a connected system: only a registered one reads the feed."""
        return registry.changes_for(self.engine, caller, since)

    def register_coding_rule(
        self, caller: SystemIdentity, rule: RegisteredCodingRule
    ) -> dict[str, Any]:
        """A trace system registers a MAH's coding rule; overlaps with another MAH's refused."""
        return coding_rules.register_coding_rule(self.engine, caller, rule)

    def register_product(self, caller: SystemIdentity, product: VaccineProduct) -> dict[str, Any]:
        """A trace system registers a product of a MAH it represents (see
        :func:`registry.register_product`)."""
        return registry.register_product(self.engine, caller, product)

    # --- the exchange (数据交换) ------------------------------------------------------------

    def receive_envelope(self, caller: SystemIdentity, envelope: Any) -> dict[str, Any]:
        """Take one signed envelope (see :meth:`receive_batch`)."""
        return self.receive_batch(caller, [envelope])[0]

    def receive_batch(self, caller: SystemIdentity, envelopes: list[Any]) -> list[dict[str, Any]]:
        """Take a batch of signed envelopes from a connected system, each once, all or none,
        and forward what was taken (see :mod:`forwarding`)."""
        return forwarding.receive_batch(self.engine, self.inbox, self.outbox, caller, envelopes)

    def _refused(self, conn: Connection, message: RowMapping, refused: Refused) -> None:
        """A system refused a message the platform sent it (see :func:`refusals.take_refusal`)."""
        assert self.outbox is not None
        refusals.take_refusal(conn, self.outbox, message, refused)

    def exchange_alerts(self, limit: int = 100) -> list[dict[str, Any]]:
        """The latest data taken but not routable, and messages refused by the systems they
        were forwarded to, newest first, for the operator."""
        return refusals.exchange_alerts(self.engine, limit)

    # --- the public query entry (公众查询) and certificates ----------------------------------

    async def public_query(self, text: str, ask: AskOwner, wait: float) -> dict[str, Any]:
        """A code → the owning trace system's consumer view (see
        :func:`resolution.public_query`)."""
        return await resolution.public_query(self.engine, text, ask, wait)

    def recall_notices(self, *, state: str | None = None, limit: int = 100) -> dict[str, Any]:
        """召回公告: the public recall notices, the latest started first."""
        return notices.recall_notices(self.engine, state=state, limit=limit)

    async def lot_release_certificate(
        self,
        caller: SystemIdentity,
        batch: tuple[str, str],
        asker: OwnerAsker,
        wait: float,
    ) -> CertificateFile:
        """批签发证明 of a MAH's batch (``batch``: MAH, batch number), from the trace system
        that represents the MAH (see :mod:`certificates`)."""
        return await certificates.lot_release_certificate(self.engine, caller, batch, asker, wait)

    # --- address resolution ----------------------------------------------------------------

    def resolve(self, text: str) -> dict[str, Any]:
        """Which trace system holds this code (any family, typed, scanned or a Digital Link)."""
        return resolution.resolve(self.engine, text)
