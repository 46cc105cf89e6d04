"""The logger record of a delivery's journey, as a receiver uploads it before confirming the
receipt (``POST /immunization/v1/temperature-records``, kind transport)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


def journey_record(delivery: str, arrived: datetime, celsius: float = 5.0) -> dict[str, Any]:
    """Two hours of readings at ``celsius`` before ``arrived``, naming ``delivery``."""
    return {
        "client_document_id": f"trip-{delivery}-{celsius}",
        "equipment_id": f"VAN-{delivery}-{celsius}",  # a vehicle, or the cool box it came in
        "kind": "transport",
        "product_class": "freeze_sensitive_2_8",
        "related_document_no": delivery,
        "readings": [
            {"time": (arrived - timedelta(minutes=10 * n)).isoformat(), "celsius": celsius}
            for n in range(12, -1, -1)
        ],
    }
