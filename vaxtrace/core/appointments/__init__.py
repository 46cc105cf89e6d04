"""Public services of a vaccination site (pure): its opening hours (``hours``) and its
appointment slots with the rules of booking them (``slots``)."""

from vaxtrace.core.appointments.hours import SiteHours, next_opening, open_now, status
from vaxtrace.core.appointments.slots import (
    LIVE,
    Booking,
    Reschedule,
    SlotOpening,
    State,
    check_bookable,
    check_opening,
    remaining,
)

__all__ = [
    "LIVE",
    "Booking",
    "Reschedule",
    "SiteHours",
    "SlotOpening",
    "State",
    "check_bookable",
    "check_opening",
    "next_opening",
    "open_now",
    "remaining",
    "status",
]
