"""What a rule's catch means: the finding it is (subject, owing party, where, when, facts),
from the step the rule caught as the store reads it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vaxtrace.core.times import as_utc
from vaxtrace.core.validation.findings import RuleFinding, SubjectKind, document_subject
from vaxtrace.core.validation.rules import REQUIRED_COLUMNS, REQUIRED_FIELDS, Owing, Rule


def finding_of(rule: Rule, step: Mapping[str, Any]) -> RuleFinding:
    """The finding ``rule`` makes of ``step`` (its bill type, doer, counterparty, division,
    document number, business time, detail; ``n`` codes caught, ``sample`` one of them)."""
    document = document_subject(step["bill_type"], step["org_uscc"], step["document_no"])
    on_code = rule.subject_kind is SubjectKind.CODE
    owing = step["org_uscc"]
    if rule.owing is Owing.COUNTERPARTY and step["counterparty_uscc"]:
        owing = step["counterparty_uscc"]
    detail: dict[str, Any] = {
        "bill_type": step["bill_type"],
        "org_uscc": step["org_uscc"],
        "document_no": step["document_no"],
    }
    if step["n"]:
        detail |= {"codes_caught": int(step["n"]), "code": step["sample"]}
    if step.get("counterparty_uscc"):
        detail["counterparty_uscc"] = step["counterparty_uscc"]
    if rule.id == "required_fields":
        detail["missing"] = missing_fields(step)
    if rule.id == "late_report" and step.get("reported_at") is not None:
        late = as_utc(step["reported_at"]) - as_utc(step["business_time"])
        detail["hours_late"] = round(late.total_seconds() / 3600, 1)
    return RuleFinding(
        rule=rule.id,
        severity=rule.severity,
        subject_kind=rule.subject_kind,
        subject=str(step["sample"]) if on_code else document,
        owing_uscc=owing,
        division_code=step["division_code"],
        occurred_at=as_utc(step["business_time"]),
        detail=detail,
    )


def missing_fields(step: Mapping[str, Any]) -> list[str]:
    """The fields its scenario requires that ``step`` lacks."""
    detail = step.get("detail") or {}
    return [
        name
        for name in REQUIRED_FIELDS.get(step["bill_type"], ())
        if (step.get(name) if name in REQUIRED_COLUMNS else detail.get(name)) is None
    ]
