"""``SupervisionService``: the use cases of the supervision system (监管系统) gathered into the
one object the API, CLI and federation use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from vaxtrace.core.alerts.contacts import Contact
from vaxtrace.core.alerts.escalation import EscalationPolicy
from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.flows import GroupBy, Level, Period
from vaxtrace.core.recalls import RecallClosing, RecallOrder
from vaxtrace.core.regulator_locks import LockOrder, LockResolution
from vaxtrace.core.validation.findings import RuleFinding
from vaxtrace.core.validation.rules import LATE_REPORT_HOURS
from vaxtrace.exchange.delivery import FromPlatform, Outbox
from vaxtrace.exchange.envelope import Verifier
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.exchange.registry_feed import Fetch
from vaxtrace.log.service import LedgerService, names_reader
from vaxtrace.notify.base import Notifier
from vaxtrace.roles.supervision.service import (
    alerts,
    flows,
    locks,
    recalls,
    receiving,
    regulators,
    validation,
    views,
)
from vaxtrace.store.engine import Engine, write_tx
from vaxtrace.store.supervision.exchange import exchange_store

PROGRESS_EVERY = timedelta(hours=1)
"""How often the alerts' round keeps each open recall's progress (its completion over time)."""


class SupervisionService:
    """The supervision node: what it was told, and who may see which part."""

    def __init__(
        self,
        engine: Engine,
        platform_id: str,
        platform_key: Verifier | None,
        *,
        ledger: LedgerService | None = None,
        late_report_hours: float = LATE_REPORT_HOURS,
        escalation: EscalationPolicy | None = None,
        notifiers: Sequence[Notifier] = (),
        notify_max_attempts: int = 5,
        outbox: Outbox | None = None,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        """Towards the platform: a regulator's locks go down the chain through it, and the
        public notices of recalls (None: no exchange)."""
        if outbox is not None:
            outbox.on_refused = locks.refused_by_platform
        self.late_report_hours = late_report_hours
        """及时性: hours a step may take to reach the platform (the late_report rule)."""
        self.escalation = escalation or EscalationPolicy()
        """How long an open alert of each severity waits at its tier before it climbs."""
        self.notifiers = list(notifiers)
        """The channels alerts are sent on (none: notices wait, queued)."""
        self.notify_max_attempts = notify_max_attempts
        self._progress_kept_at: datetime | None = None
        self.ledger = ledger
        """Signs checkpoints over the journal; every decision is journaled whether or not."""
        if ledger is not None:
            ledger.readers = self  # a regulator's staff read the entries naming it
        self.from_platform = FromPlatform(engine, exchange_store(), platform_id, platform_key)
        self.tokens = regulators.staff_tokens(engine)
        """The staff's API tokens (the one token service, over this role's table)."""

    def close(self) -> None:
        """Let go of the notifiers' connections."""
        for notifier in self.notifiers:
            notifier.close()

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

    # --- validation of the chain ---------------------------------------------------------------

    def validate(
        self, *, full: bool = False, progress: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """Apply every validation rule, in full or to what arrived since the last run; the
        run's figures and its new findings (``new``)."""
        return validation.run_validation(
            self.engine, full=full, late_report_hours=self.late_report_hours, progress=progress
        )

    def rule_findings(
        self, actor: str, *, rule: str | None = None, before: int | None = None, limit: int = 100
    ) -> dict[str, Any]:
        """What the validation rules found inside the actor's division, newest first."""
        return views.rule_findings(self.engine, actor, rule=rule, before=before, limit=limit)

    # --- alerts (告警) ---------------------------------------------------------------------------

    def open_alerts(self, findings: Sequence[RuleFinding], now: datetime | None = None) -> int:
        """Raise an alert for each new finding (a key seen before raises nothing), in one
        transaction; answers how many were raised."""
        with write_tx(self.engine) as conn:
            return alerts.open_alerts(conn, findings, now)

    def alerts_from_excursions(self) -> int:
        """Raise the alerts of excursion steps kept before alerts existed."""
        return alerts.alerts_from_excursions(self.engine)

    def alerts(
        self,
        actor: str,
        *,
        state: str | None = None,
        rule: str | None = None,
        severity: str | None = None,
        mine: bool = False,
        before: int | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """The alerts the actor sees, newest first, a page at a time."""
        return alerts.listing(
            self.engine,
            actor,
            state=state,
            rule=rule,
            severity=severity,
            mine=mine,
            before=before,
            limit=limit,
        )

    def alert(self, actor: str, alert_id: int) -> dict[str, Any]:
        """One alert the actor sees, with its history and notices."""
        return alerts.one(self.engine, actor, alert_id)

    def acknowledge_alert(
        self, actor: str, alert_id: int, note: str | None = None
    ) -> dict[str, Any]:
        return alerts.acknowledge(self.engine, actor, alert_id, note)

    def resolve_alert(self, actor: str, alert_id: int, reason: str | None) -> dict[str, Any]:
        return alerts.resolve(self.engine, actor, alert_id, reason)

    def alert_contacts(self, actor: str) -> dict[str, Any]:
        return alerts.contacts(self.engine, actor)

    def put_alert_contacts(self, actor: str, people: Sequence[Contact]) -> dict[str, Any]:
        return alerts.put_contacts(self.engine, actor, people)

    def division_contacts(self, division_code: str) -> dict[str, Any]:
        return alerts.division_contacts(self.engine, division_code)

    def put_division_contacts(
        self, division_code: str, people: Sequence[Contact]
    ) -> dict[str, Any]:
        """The operator sets a division's alert contacts (national: ``000000``)."""
        return alerts.put_division_contacts(self.engine, division_code, people)

    def contact_gaps(self) -> list[dict[str, Any]]:
        """Regulators' divisions with fewer alert contacts than drug GSP asks for."""
        return alerts.contact_gaps(self.engine)

    def alert_tick(self, now: datetime | None = None) -> dict[str, Any]:
        """One round of the alerts' background work: open recalls' missed milestones raise
        their alerts (and, once an hour, their progress is kept), the alerts due climb, then
        the notices due are sent on this node's notifiers."""
        at = now or datetime.now(UTC)
        with write_tx(self.engine) as conn:
            overdue = recalls.overdue_milestones(conn, at)
            raised = alerts.open_alerts(conn, overdue, now) if overdue else 0
            if self._progress_kept_at is None or at - self._progress_kept_at >= PROGRESS_EVERY:
                recalls.record_progress(conn, at)
                self._progress_kept_at = at
        climbed = alerts.escalate_due(self.engine, self.escalation, now)
        sent = alerts.notify_pending(
            self.engine, self.notifiers, now, max_attempts=self.notify_max_attempts
        )
        return {"recalls_overdue": raised, "escalation": climbed, "notices": sent}

    # --- flows and statistics (流向与统计) ----------------------------------------------------

    def batch_flow(
        self, actor: str, mah_uscc: str, batch_no: str, *, period: Period = "day"
    ) -> dict[str, Any]:
        """One batch's flow inside the actor's division, Sankey-ready (see service.flows)."""
        return flows.batch_flow(self.engine, actor, mah_uscc, batch_no, period=period)

    def statistics(
        self,
        actor: str,
        *,
        group_by: GroupBy,
        level: Level = "province",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """Doses shipped, received, used, returned, lost and in stock inside the actor's
        division, per division, product, MAH or month, shaped for a chart."""
        return flows.statistics(
            self.engine, actor, group_by=group_by, level=level, since=since, until=until
        )

    def recall_progress(self, actor: str, *, level: Level = "province") -> dict[str, Any]:
        """Where each recalled batch's doses inside the actor's division are now, per
        division: returned, destroyed, used, still out, and the share come back."""
        return flows.recall_progress(self.engine, actor, level=level)

    # --- regulators' locks (监管锁定) ------------------------------------------------------------

    def lock(self, actor: str, order: LockOrder) -> dict[str, Any]:
        """Lock a MAH's batches or codes seen inside the actor's area, with reason and
        evidence; sent down the chain through the platform."""
        return locks.lock(self.engine, self.outbox, actor, order)

    def resolve_lock(self, actor: str, lock_id: int, resolution: LockResolution) -> dict[str, Any]:
        """Resolve a pending lock made inside the actor's area: normal, to be recalled or
        abnormal."""
        return locks.resolve(self.engine, self.outbox, actor, lock_id, resolution)

    def locks(self, actor: str, *, before: int | None = None, limit: int = 100) -> dict[str, Any]:
        """The lock orders made inside the actor's area, newest first."""
        return locks.locks(self.engine, actor, before=before, limit=limit)

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
