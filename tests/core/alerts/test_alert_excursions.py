"""A province's excursion step (931) is a finding about the fridge, tiered as the province's
rule book judged it (never judged twice), one alert per excursion."""

from __future__ import annotations

from datetime import UTC, datetime

from vaxtrace.core.alerts.excursions import (
    TEMPERATURE_EXCURSION,
    excursion_finding,
    excursion_tier,
)
from vaxtrace.core.coldchain.rules import Tier, rule_book
from vaxtrace.core.validation.findings import Severity, SubjectKind

SITE = "12320106MB0X00007"
WHEN = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_the_tier_the_province_gave_is_the_severity() -> None:
    for tier in Tier:
        found = excursion_finding(
            org_uscc=SITE,
            division_code="320106",
            document_no="EX-1",
            business_time=WHEN,
            detail={"tier": tier.value, "equipment_id": "F1", "excursion_id": 9},
            codes=3,
        )
        assert found.severity == Severity(tier.value)
        assert found.rule == TEMPERATURE_EXCURSION
        assert found.subject_kind is SubjectKind.FRIDGE
        assert found.subject == f"{SITE}:F1:9"
        assert (found.owing_uscc, found.division_code, found.occurred_at) == (SITE, "320106", WHEN)
        assert found.detail["codes"] == 3 and found.detail["tier"] == tier.value


def test_without_a_tier_the_rule_books_worst_for_its_rule() -> None:
    # the WHO 30-day recorder's freeze alarm (≤ −0.5 °C 60 min) is severe in the rule book;
    # its heat alarm (> +8 °C 10 h) a warning; a reading out of range a notice
    book = rule_book()
    assert excursion_tier({"rule_id": "freeze"}, book) is Tier.SEVERE
    assert excursion_tier({"rule_id": "heat"}, book) is Tier.WARNING
    assert excursion_tier({"rule_id": "out_of_range"}, book) is Tier.NOTICE
    assert excursion_tier({"rule_id": "no-such-rule"}, book) is Tier.WARNING
    assert excursion_tier({}, book) is Tier.WARNING
    assert excursion_tier({"tier": "bogus", "rule_id": "freeze"}, book) is Tier.SEVERE


def test_each_excursion_is_its_own_subject() -> None:
    one = excursion_finding(
        org_uscc=SITE,
        division_code="320106",
        document_no="EX-1",
        business_time=WHEN,
        detail={"equipment_id": "F1", "excursion_id": 1},
        codes=1,
    )
    again = excursion_finding(
        org_uscc=SITE,
        division_code="320106",
        document_no="EX-1",
        business_time=WHEN,
        detail={"equipment_id": "F1", "excursion_id": 1},
        codes=1,
    )
    later = excursion_finding(
        org_uscc=SITE,
        division_code="320106",
        document_no="EX-2",
        business_time=WHEN,
        detail={"equipment_id": "F1", "excursion_id": 2},
        codes=1,
    )
    assert one.key == again.key != later.key
    bare = excursion_finding(
        org_uscc=SITE,
        division_code="320106",
        document_no="EX-3",
        business_time=WHEN,
        detail=None,
        codes=1,
    )
    assert bare.subject == f"{SITE}:-:EX-3"
