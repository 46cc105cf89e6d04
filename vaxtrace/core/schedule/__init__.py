"""The national immunization schedule as versioned data, and the pure evaluation and forecast
engine over it (vaxtrace/core/data/schedule_national.toml; README "The immunization
schedule")."""

from vaxtrace.core.schedule.ages import Duration, add_months, age_on, parse_duration
from vaxtrace.core.schedule.data import Schedule, national_schedule, parse_schedule
from vaxtrace.core.schedule.engine import (
    Child,
    DoseGiven,
    DoseVerdict,
    Evaluation,
    Status,
    evaluate,
    parse_child,
    summary,
)

__all__ = [
    "Child",
    "DoseGiven",
    "DoseVerdict",
    "Duration",
    "Evaluation",
    "Schedule",
    "Status",
    "add_months",
    "age_on",
    "evaluate",
    "national_schedule",
    "parse_child",
    "parse_duration",
    "parse_schedule",
    "summary",
]
