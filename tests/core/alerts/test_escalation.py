"""An unhandled alert climbs county → city → province → national, after the wait its
severity allows; a severity with no wait never climbs, nor does a national alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vaxtrace.core.alerts.escalation import EscalationPolicy, next_tier, tiers
from vaxtrace.core.validation.findings import Severity

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("division", "up"),
    [("320106", "320100"), ("320100", "320000"), ("320000", "000000"), ("000000", None)],
)
def test_each_tier_and_the_one_above(division: str, up: str | None) -> None:
    assert next_tier(division) == up


def test_a_county_climbs_through_every_tier() -> None:
    assert tiers("320106") == ["320106", "320100", "320000", "000000"]
    assert tiers("110000") == ["110000", "000000"]
    assert tiers("000000") == ["000000"]


def test_an_alert_is_due_after_its_severitys_wait() -> None:
    policy = EscalationPolicy.from_hours({"severe": 4, "warning": 24})
    assert policy.due_at(Severity.SEVERE, T0, "320106") == T0 + timedelta(hours=4)
    assert not policy.is_due(Severity.SEVERE, T0, "320106", T0 + timedelta(hours=3, minutes=59))
    assert policy.is_due(Severity.SEVERE, T0, "320106", T0 + timedelta(hours=4))
    assert not policy.is_due(Severity.WARNING, T0, "320106", T0 + timedelta(hours=23))
    assert policy.is_due(Severity.WARNING, T0, "320100", T0 + timedelta(hours=24))


def test_notices_and_national_alerts_never_climb() -> None:
    policy = EscalationPolicy.from_hours({"severe": 4})
    far = T0 + timedelta(days=365)
    assert policy.due_at(Severity.NOTICE, T0, "320106") is None
    assert not policy.is_due(Severity.NOTICE, T0, "320106", far)
    assert not policy.is_due(Severity.SEVERE, T0, "000000", far)
    assert policy.cutoffs(far) == {Severity.SEVERE: far - timedelta(hours=4)}


@pytest.mark.parametrize("hours", [{"urgent": 1.0}, {"severe": 0.0}, {"warning": -2.0}])
def test_a_policy_names_severities_with_positive_waits(hours: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EscalationPolicy.from_hours(hours)
