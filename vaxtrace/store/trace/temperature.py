"""温度记录 temperature series of storage and transport (the cold chain)."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import Connection, insert

from vaxtrace.core.datasets.temperature import TemperatureRecord
from vaxtrace.store.trace.schema import temperature_record


def add_temperature_record(conn: Connection, event_id: int, request: TemperatureRecord) -> None:
    """Keep a series with its readings, times in UTC."""
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
