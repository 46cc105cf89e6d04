"""温度超标告警: a province's cold-chain excursion, as the supervision system is told of it (a
931 step, see :mod:`vaxtrace.core.supervision`), is a finding about the fridge or shipment.

Its tier (提示 notice / 警告 warning / 严重 severe, by duration and magnitude) is not judged a
second time here: the province judged it with the versioned rule book
(``core/data/coldchain_rules.toml``, :mod:`vaxtrace.core.coldchain.rules`: WHO 30-day recorder
freeze ≤ −0.5 °C for 60 min and heat > +8 °C for 10 h; WHO shipping indicators ≥ 45 °C 1 h,
≥ 30 °C 10 h cumulative …; DOMAIN.md §7, §10) and the step says which (``detail.tier``). A step
that does not say is judged by the worst tier any rule set gives its rule, else as a warning
(an excursion holds its codes until a person decides)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vaxtrace.core.coldchain.rules import RuleBook, Tier, rule_book
from vaxtrace.core.validation.findings import RuleFinding, Severity, SubjectKind

TEMPERATURE_EXCURSION = "temperature_excursion"
"""The rule an excursion alert is raised under (温度超标; not the dose gate's
``cold_chain_excursion``, a dose used after one)."""

UNKNOWN_EQUIPMENT = "-"


def severity_of(tier: Tier) -> Severity:
    """An excursion's tier as an alert's severity (the two scales are the same three)."""
    return Severity(tier.value)


def excursion_tier(detail: Mapping[str, Any], book: RuleBook | None = None) -> Tier:
    """The tier the province gave the excursion; else the worst its rule has in any rule set
    of the book; else warning."""
    given = detail.get("tier")
    if given in {t.value for t in Tier}:
        return Tier(given)
    rule_id = detail.get("rule_id")
    tiers = [
        rule.tier
        for rule_set in (book or rule_book()).rule_sets
        for rule in rule_set.rules
        if rule.id == rule_id
    ]
    return max(tiers, key=lambda t: t.rank, default=Tier.WARNING)


def fridge_subject(org_uscc: str, detail: Mapping[str, Any], document_no: str) -> str:
    """The subject of an excursion alert: ``{org_uscc}:{equipment}`` (the fridge or vehicle)
    and which excursion of it (the province's excursion id, else the step's document), so
    that each excursion is one alert and the same one reported again is no new alert."""
    equipment = str(detail.get("equipment_id") or UNKNOWN_EQUIPMENT)
    which = detail.get("excursion_id")
    return f"{org_uscc}:{equipment}:{which if which is not None else document_no}"


def excursion_finding(
    *,
    org_uscc: str,
    division_code: str,
    document_no: str,
    business_time: datetime,
    detail: Mapping[str, Any] | None,
    codes: int,
    book: RuleBook | None = None,
) -> RuleFinding:
    """The finding a 931 step is: owed by the unit whose fridge or shipment it was, where
    that unit is, at the excursion's end."""
    facts = dict(detail or {})
    tier = excursion_tier(facts, book)
    return RuleFinding(
        rule=TEMPERATURE_EXCURSION,
        severity=severity_of(tier),
        subject_kind=SubjectKind.FRIDGE,
        subject=fridge_subject(org_uscc, facts, document_no),
        owing_uscc=org_uscc,
        division_code=division_code,
        occurred_at=business_time,
        detail=facts | {"tier": tier.value, "document_no": document_no, "codes": codes},
    )
