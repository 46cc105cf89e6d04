"""What a regulator sees (监管查询): the steps and the findings inside its division (province,
city or county), newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.refusal import refusal_fields
from vaxtrace.core.supervision import area_prefix
from vaxtrace.core.times import as_stored
from vaxtrace.core.validation.rules import BY_ID, RULES
from vaxtrace.roles.supervision.service.regulators import division
from vaxtrace.store.engine import Connection, Engine, RowMapping, read_tx
from vaxtrace.store.supervision import findings as findings_store
from vaxtrace.store.supervision import steps as steps_store
from vaxtrace.store.supervision import validation as validation_store

MAX_STEPS = 1000
"""Steps one page of ``steps`` answers at most."""

MAX_FINDINGS = 1000
"""Findings one page of ``findings`` answers at most."""


def steps(
    engine: Engine,
    actor: str,
    *,
    bill_type: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """The steps done inside the actor's division, newest first, a page at a time."""
    most = min(max(limit, 1), MAX_STEPS)
    area, rows = _in_area(
        engine,
        actor,
        lambda conn, prefix: steps_store.steps_in(
            conn, prefix, bill_type=bill_type, before=before, limit=most
        ),
    )
    return {"division_code": area, "steps": [_step_view(r) for r in rows]}


def findings(
    engine: Engine, actor: str, *, before: int | None = None, limit: int = 100
) -> dict[str, Any]:
    """What went wrong inside the actor's division (reports refused by their receiver,
    where the unit that did the step is), newest first, a page at a time."""
    most = min(max(limit, 1), MAX_FINDINGS)
    area, rows = _in_area(
        engine,
        actor,
        lambda conn, prefix: findings_store.findings_in(conn, prefix, before=before, limit=most),
    )
    return {"division_code": area, "findings": [_finding_view(r) for r in rows]}


def rule_findings(
    engine: Engine,
    actor: str,
    *,
    rule: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """What the validation rules found where the step at fault happened inside the actor's
    division (of one rule, when given), newest first, a page at a time."""
    if rule is not None and rule not in BY_ID:
        raise DomainError(Reason.UNKNOWN_RULE, f"no validation rule {rule!r}", field="rule")
    most = min(max(limit, 1), MAX_FINDINGS)
    area, rows = _in_area(
        engine,
        actor,
        lambda conn, prefix: validation_store.findings_in(
            conn, prefix, rule=rule, before=before, limit=most
        ),
    )
    return {"division_code": area, "findings": [_rule_finding_view(r) for r in rows]}


def _rule_finding_view(row: Any) -> dict[str, Any]:
    rule = BY_ID.get(row["rule"])
    return {
        "id": int(row["id"]),
        "rule": row["rule"],
        "severity": row["severity"],
        "description": None if rule is None else rule.description,
        "subject_kind": row["subject_kind"],
        "subject": row["subject"],
        "owing_uscc": row["owing_uscc"],
        "division_code": row["division_code"],
        "occurred_at": as_stored(row["occurred_at"]).isoformat(),
        "found_at": as_stored(row["found_at"]).isoformat(),
        "detail": row["detail"],
    }


def rules() -> dict[str, Any]:
    """The validation rules, as a regulator reads them."""
    return {
        "rules": [
            {
                "id": r.id,
                "severity": r.severity.value,
                "subject_kind": r.subject_kind.value,
                "owing": r.owing.value,
                "description": r.description,
            }
            for r in RULES
        ]
    }


def _in_area(
    engine: Engine, actor: str, read: Callable[[Connection, str], list[RowMapping]]
) -> tuple[str, list[RowMapping]]:
    """The actor's division, and what ``read`` finds inside it (given its area prefix)."""
    with read_tx(engine) as conn:
        area = division(conn, actor)
        return area, read(conn, area_prefix(area))


def chain(engine: Engine, actor: str, code: str) -> dict[str, Any]:
    """Every step this node knows of on ``code`` (its own and its batch's), in time order;
    not found unless a step on it was done inside the actor's division (so a regulator learns
    nothing of a code outside its area, not even that it exists)."""
    with read_tx(engine) as conn:
        area = division(conn, actor)
        if not steps_store.code_seen_in(conn, code, area_prefix(area)):
            raise DomainError(
                Reason.CODE_NOT_SEEN, f"no step of {code} in division {area}", field="code"
            )
        batch = steps_store.batch_of(conn, code)
        rows = steps_store.chain_of(conn, code)
    return {
        "code": code,
        "division_code": area,
        "batch": None if batch is None else dict(batch),
        "steps": [_chain_step(r) for r in rows],
    }


def _chain_step(row: Any) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "event_id": row["event_id"],
        "bill_type": row["bill_type"],
        "org_uscc": row["org_uscc"],
        "division_code": row["division_code"],
        "document_no": row["document_no"],
        "business_time": as_stored(row["business_time"]).isoformat(),
        "mah_uscc": row["mah_uscc"],
        "batch_nos": list(row["batch_nos"] or ()),
        "detail": row["detail"],
        "data_owner": row["data_owner"],
        "reported_by": row["reported_by"],
    }


def _finding_view(row: Any) -> dict[str, Any]:
    detail = row["detail"]
    return {
        "id": int(row["id"]),
        "kind": row["kind"],
        "org_uscc": row["org_uscc"],
        "division_code": row["division_code"],
        **refusal_fields(row, detail),
        "refused_by": detail.get("receiver_system_id"),
        "reported_by": detail.get("origin_system_id"),
        "advice": detail.get("advice"),
        "found_at": as_stored(row["found_at"]).isoformat(),
        "received_at": as_stored(row["received_at"]).isoformat(),
    }


def _step_view(row: Any) -> dict[str, Any]:
    """A step as listed: its chain view and every code it names."""
    return _chain_step(row) | {"codes": list(row["codes"])}
