"""召回管理 at the supervision node: recall levels and their time limits as data, the
milestones a recall must meet, where each unit of a recall is and how far it is complete,
and when a recall may close. Pure: the store finds each unit's latest step, these decide."""

from vaxtrace.core.recalls.closing import check_closing, closing_summary
from vaxtrace.core.recalls.levels import (
    SEVERITY,
    TIME_LIMITS,
    Milestone,
    MilestoneKind,
    RecallFacts,
    TimeLimits,
    milestones,
    overdue,
)
from vaxtrace.core.recalls.notice import NOTICE, RecallNotice, notice_of, read_notice
from vaxtrace.core.recalls.orders import RecallClosing, RecallOrder
from vaxtrace.core.recalls.units import (
    ACCOUNTED_FOR,
    MOVEMENTS,
    ONWARD,
    Completion,
    LatestStep,
    Placed,
    UnitState,
    completion,
    placed,
)

__all__ = [
    "ACCOUNTED_FOR",
    "MOVEMENTS",
    "NOTICE",
    "ONWARD",
    "SEVERITY",
    "TIME_LIMITS",
    "Completion",
    "LatestStep",
    "Milestone",
    "MilestoneKind",
    "Placed",
    "RecallClosing",
    "RecallFacts",
    "RecallNotice",
    "RecallOrder",
    "TimeLimits",
    "UnitState",
    "check_closing",
    "closing_summary",
    "completion",
    "milestones",
    "notice_of",
    "overdue",
    "placed",
    "read_notice",
]
