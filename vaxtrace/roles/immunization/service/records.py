"""接种记录: the vaccination records a site keeps (Vaccine Administration Law Art. 46)."""

from __future__ import annotations

from typing import Any

from vaxtrace.store.engine import Engine, read_tx
from vaxtrace.store.immunization import vaccinations


def vaccination_records(
    engine: Engine, actor: str, vaccinee_ref: str | None, limit: int
) -> list[dict[str, Any]]:
    """A site's records, newest first: vaccine, MAH, dose code, batch, expiry, time, site,
    vaccinator, dose number and the recipient's reference; an undone one says by what."""
    with read_tx(engine) as conn:
        rows = vaccinations.records_of(conn, actor, vaccinee_ref, limit)
    return [
        {
            "document_no": r["document_no"],
            "code": r["code"],
            "product_code": r["product_code"],
            "mah_uscc": r["mah_uscc"],
            "batch_no": r["batch_no"],
            "expiry_date": None if r["expiry_date"] is None else str(r["expiry_date"]),
            "vaccinated_at": r["vaccinated_at"].isoformat(),
            "site_uscc": r["site_uscc"],
            "vaccinator": r["vaccinator"],
            "dose_number": r["dose_number"],
            "vaccinee_ref": r["vaccinee_ref"],
            "undone_by": r["undone_by"],
        }
        for r in rows
    ]
