"""接种前核验: the dose gate as a vaccination site asks it — read-only before injecting, and inside
the vaccination write — with every decision audited (who, where, when, code, answer)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from vaxtrace.core.codes import TraceCode
from vaxtrace.core.datasets import OrgKind
from vaxtrace.core.dose_gate import DoseDecision, DoseReason, Label, decide_dose
from vaxtrace.core.errors import Conflict, DomainError
from vaxtrace.roles.immunization.service.lookups import parse, require_kind, unit
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.immunization import safety

UNREADABLE_AS_DOSE = frozenset({DoseReason.UNKNOWN_CODE, DoseReason.NOT_A_DOSE})
"""Reasons that say the scan is not of a dose of this province at all (422); every other
refusal clashes with the dose's state (409)."""


def decide(conn: Connection, site_uscc: str, scanned: TraceCode, at: datetime) -> DoseDecision:
    """The gate's decision on a scanned code at a site, from the province's own records."""
    facts = safety.dose_facts(conn, scanned.value)
    return decide_dose(facts, site_uscc, Label(scanned.batch_no, scanned.expiry), at)


def refusal(decision: DoseDecision, field: str = "code") -> DomainError:
    """The refusal of a dose the gate stops: the first reason, with all of them."""
    first = decision.reasons[0]
    cls = DomainError if first in UNREADABLE_AS_DOSE else Conflict
    return cls(
        first.value,
        "this dose may not be given: " + "; ".join(decision.messages),
        field=field,
        details={"reasons": [r.value for r in decision.reasons]},
    )


def audit(
    conn: Connection, site_uscc: str, code: str, purpose: str, decision: DoseDecision
) -> None:
    safety.record_dose_check(
        conn,
        org_uscc=site_uscc,
        code=code,
        purpose=purpose,
        allowed=decision.allowed,
        reasons=[r.value for r in decision.reasons],
        at=datetime.now(UTC),
    )


def check_dose(engine: Engine, actor: str, text: str) -> dict[str, Any]:
    """May this site give this dose now? Read-only for the stock; the decision is audited."""
    scanned = parse(text, "code")
    now = datetime.now(UTC)
    with read_tx(engine) as conn:
        require_kind(unit(conn, actor), OrgKind.POV, "check a dose before vaccinating")
        decision = decide(conn, actor, scanned, now)
        facts = safety.dose_facts(conn, scanned.value)
    with write_tx(engine) as conn:
        audit(conn, actor, scanned.value, "check", decision)
    batch = None if facts is None else facts.batch
    return {
        "code": scanned.value,
        "site_uscc": actor,
        "checked_at": now.isoformat(),
        "batch_no": None if batch is None else batch.batch_no,
        "expiry_date": None if batch is None or batch.expiry_date is None
        else batch.expiry_date.isoformat(),
    } | decision.as_dict()


def audit_refused(engine: Engine, actor: str, text: str, error: DomainError) -> None:
    """Keep a refused vaccination's gate decision (its own transaction rolled back)."""
    reasons = error.details.get("reasons")
    if not reasons:
        return
    with write_tx(engine) as conn:
        safety.record_dose_check(
            conn,
            org_uscc=actor,
            code=text.strip(),
            purpose="vaccination",
            allowed=False,
            reasons=list(reasons),
            at=datetime.now(UTC),
        )
