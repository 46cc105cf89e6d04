"""温度记录: storage and transport temperature series (the cold chain)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Engine, insert

from vaxtrace.core.datasets.temperature import TemperatureRecord
from vaxtrace.core.times import Clock, check_business_time
from vaxtrace.roles.trace.service.writes import WriteResult, write
from vaxtrace.store.trace import repo
from vaxtrace.store.trace.repo import EventHeader
from vaxtrace.store.trace.schema import temperature_record


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
        event_id = repo.append_event(conn, header, summary)
        conn.execute(
            insert(temperature_record).values(
                event_id=event_id,
                kind=request.kind,
                equipment_id=request.equipment_id,
                related_document_no=request.related_document_no,
                start_time=request.start_time.astimezone(UTC),
                end_time=request.end_time.astimezone(UTC),
                min_celsius=request.minimum,
                max_celsius=request.maximum,
                readings=[[r.time.isoformat(), r.celsius] for r in request.readings],
            )
        )
        return event_id, summary

    return write(engine, actor, "temperature", request, apply, bill_type="temperature", clock=clock)
