"""温度记录: storage and transport temperature series (the cold chain)."""

from __future__ import annotations

from typing import Any

from vaxtrace.core.datasets.temperature import TemperatureRecord
from vaxtrace.core.times import Clock, check_business_time
from vaxtrace.roles.trace.service.writes import write
from vaxtrace.store.engine import Connection, Engine
from vaxtrace.store.trace.events import EventHeader, append_event
from vaxtrace.store.trace.temperature import add_temperature_record
from vaxtrace.store.write_frame import WriteResult


def record_temperature(
    engine: Engine, actor: str, request: TemperatureRecord, clock: Clock
) -> WriteResult:
    """温度记录: a storage or transport temperature series, none of it in the future."""

    def apply(conn: Connection, header: EventHeader) -> tuple[int, dict[str, Any]]:
        check_business_time(request.end_time, now=clock.now(), skew=clock.skew, field="end_time")
        summary = {
            "kind": request.kind,
            "equipment_id": request.equipment_id,
            "related_document_no": request.related_document_no,
            "min_celsius": request.minimum,
            "max_celsius": request.maximum,
            "readings": len(request.readings),
        }
        event_id = append_event(conn, header, summary)
        add_temperature_record(conn, event_id, request)
        return event_id, summary

    return write(engine, actor, "temperature", request, apply, bill_type="temperature", clock=clock)
