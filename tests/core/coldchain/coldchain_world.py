"""What the cold-chain tests share: the rule sets in force on a day of April 2024 and a series
built from stretches of temperature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from vaxtrace.core.coldchain.readings import Reading
from vaxtrace.core.coldchain.rules import rule_book

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 4, 2, 0, 0, tzinfo=CST)
NOW = datetime(2024, 5, 1, tzinfo=UTC)
FREEZE_SENSITIVE = rule_book().in_force("freeze_sensitive_2_8", T0)
NOT_FREEZE_SENSITIVE = rule_book().in_force("not_freeze_sensitive_2_8", T0)
FROZEN = rule_book().in_force("frozen_minus_20", T0)


def series(*stretches: tuple[float, int], every: int = 10, start: datetime = T0) -> list[Reading]:
    """Readings every ``every`` minutes: each stretch is (celsius, minutes it lasts), then one
    closing reading at 5 °C."""
    readings, t = [], start
    for celsius, minutes in stretches:
        for _ in range(minutes // every):
            readings.append(Reading(t, celsius))
            t += timedelta(minutes=every)
    readings.append(Reading(t, 5.0))
    return readings
