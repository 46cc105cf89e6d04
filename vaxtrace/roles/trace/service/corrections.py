"""更正 corrections of an earlier event's header (document number, business time, source)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vaxtrace.core.datasets.corrections import Correction
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.core.times import Clock, check_business_time
from vaxtrace.roles.trace.service.writes import write
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.trace.events import EventHeader, append_event, event_by_id
from vaxtrace.store.write_frame import WriteResult


def correct(engine: Engine, actor: str, request: Correction, clock: Clock) -> WriteResult:
    """更正: a new event correcting an earlier event's header; the earlier one stays."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        earlier = event_by_id(conn, request.corrects_event_id)
        if earlier is None or earlier["org_uscc"] != actor:
            raise DomainError(
                Reason.UNKNOWN_EVENT,
                f"no event {request.corrects_event_id} of yours",
                field="corrects_event_id",
            )
        if "business_time" in request.corrected:
            _check_business_time(request.corrected["business_time"], clock)
        body = {
            "reason": request.reason,
            "corrected": request.corrected,
            "corrects_event_id": request.corrects_event_id,
        }
        event_id = append_event(conn, header, body)
        return event_id, body

    return write(engine, actor, "correction", request, apply, bill_type="correction", clock=clock)


def _check_business_time(value: str, clock: Clock) -> None:
    """A corrected business time is ISO 8601 with an offset, and a business time (see
    :mod:`vaxtrace.core.times`)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise DomainError(
            Reason.INVALID_DATETIME,
            "business_time: ISO 8601 expected",
            field="corrected.business_time",
        ) from exc
    if moment.tzinfo is None:
        raise DomainError(
            Reason.TIMEZONE_MISSING,
            "business_time needs an offset",
            field="corrected.business_time",
        )
    check_business_time(moment, now=clock.now(), skew=clock.skew, field="corrected.business_time")
