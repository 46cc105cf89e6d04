"""接种前核验: the dose gate as a vaccination site asks it — read-only before injecting, and inside
the vaccination write — with every decision audited (who, where, when, code, answer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.codes import TraceCode
from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.dose_gate import DoseDecision, Label, decide_dose
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import Unit
from vaxtrace.roles.immunization.service.lookups import known_unit, parse, require_kind
from vaxtrace.store.batched import Appender
from vaxtrace.store.engine import Connection, Engine, write_tx
from vaxtrace.store.held_reads import HeldReads
from vaxtrace.store.immunization import safety


def decide(conn: Connection, site_uscc: str, scanned: TraceCode, at: datetime) -> DoseDecision:
    """The gate's decision on a scanned code at a site, from the province's own records."""
    facts = safety.dose_facts(conn, scanned.value)
    return decide_dose(facts, site_uscc, Label(scanned.batch_no, scanned.expiry), at)


def audit_row(
    site_uscc: str, code: str, purpose: str, reasons: Sequence[str], at: datetime
) -> dict[str, Any]:
    """The gate's audit row of a decision: allowed when no reason stops the dose."""
    return safety.dose_check_row(
        org_uscc=site_uscc,
        code=code,
        purpose=purpose,
        allowed=not reasons,
        reasons=reasons,
        at=at,
    )


def audit(
    conn: Connection, site_uscc: str, code: str, purpose: str, decision: DoseDecision
) -> None:
    """Keep a decision in the caller's transaction (a vaccination's, with the dose given)."""
    reasons = [r.value for r in decision.reasons]
    safety.record_dose_check(conn, audit_row(site_uscc, code, purpose, reasons, datetime.now(UTC)))


def check_dose(
    reads: HeldReads, kept: Appender, acting: Unit | None, actor: str, text: str
) -> dict[str, Any]:
    """May the site ``actor`` (``acting``: the unit, None if not of this province) give this
    dose now? Read-only for the stock, one query for the facts (through ``reads``); the
    decision is kept in the gate's audit (``kept``, written in batches)."""
    require_kind(known_unit(acting, actor), OrgKind.POV, "check a dose before vaccinating")
    scanned = parse(text, "code")
    now = datetime.now(UTC)
    facts = safety.dose_facts_at_once(reads, scanned.value)
    decision = decide_dose(facts, actor, Label(scanned.batch_no, scanned.expiry), now)
    kept.append(audit_row(actor, scanned.value, "check", [r.value for r in decision.reasons], now))
    batch = None if facts is None else facts.batch
    return {
        "code": scanned.value,
        "site_uscc": actor,
        "checked_at": now.isoformat(),
        "batch_no": None if batch is None else batch.batch_no,
        "expiry_date": None
        if batch is None or batch.expiry_date is None
        else batch.expiry_date.isoformat(),
    } | decision.as_dict()


def audit_refused(engine: Engine, actor: str, text: str, error: DomainError) -> None:
    """Keep a refused vaccination's gate decision (its own transaction rolled back)."""
    reasons = error.details.get("reasons")
    if not reasons:
        return
    row = audit_row(actor, text.strip(), "vaccination", list(reasons), datetime.now(UTC))
    with write_tx(engine) as conn:
        safety.record_dose_check(conn, row)
