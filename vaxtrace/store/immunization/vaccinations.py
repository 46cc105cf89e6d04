"""SQL of the vaccination records (接种记录) and their undo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, text, update

from vaxtrace.core.immunization import StockState, Vaccination
from vaxtrace.core.times import as_utc
from vaxtrace.store.immunization.schema import stock, vaccination_record, vaccination_undo

_RECORD = text(
    "INSERT INTO vaccination_record (site_uscc, document_no, code, product_code, mah_uscc, "
    "batch_no, expiry_date, vaccinated_at, vaccinator, dose_number, vaccinee_ref, recorded_by, "
    "recorded_at) "
    "SELECT :site, :document_no, s.code, b.product_code, s.mah_uscc, s.batch_no, "
    "b.expiry_date, :business_time, :vaccinator, :dose_number, :vaccinee_ref, :recorded_by, "
    ":recorded_at FROM stock s "
    "LEFT JOIN batch b ON b.mah_uscc = s.mah_uscc AND b.batch_no = s.batch_no "
    "WHERE s.code = :code"
)


FROM_REQUEST = {"document_no", "business_time", "vaccinator", "dose_number", "vaccinee_ref"}
"""What a vaccination record takes from the request as sent (its code, canonical, apart)."""


def record_vaccination(
    conn: Connection,
    request: Vaccination,
    *,
    site: str,
    code: str,
    recorded_by: str,
    recorded_at: datetime,
) -> None:
    """The record of a dose just used, with its product, MAH, batch and expiry from the
    province's own records, in one statement."""
    values = request.model_dump(include=FROM_REQUEST)
    who = {"site": site, "code": code, "recorded_by": recorded_by, "recorded_at": recorded_at}
    conn.execute(_RECORD, values | who)


def find_record(conn: Connection, site_uscc: str, document_no: str) -> RowMapping | None:
    """A site's vaccination record by its document number, with its undo (if any)."""
    query = (
        select(vaccination_record, vaccination_undo.c.document_no.label("undone_by"))
        .outerjoin(vaccination_undo, vaccination_undo.c.record_id == vaccination_record.c.id)
        .where(
            vaccination_record.c.site_uscc == site_uscc,
            vaccination_record.c.document_no == document_no,
        )
    )
    return conn.execute(query).mappings().first()


def record_undo(conn: Connection, **values: Any) -> None:
    conn.execute(insert(vaccination_undo).values(**values))


def restore_used(
    conn: Connection, code: str, holder_uscc: str, now: datetime, stepped_at: datetime
) -> int:
    """A used dose back in its site's stock by an undo at ``stepped_at``; answers 1 when it
    was used there."""
    result = conn.execute(
        update(stock)
        .where(
            stock.c.code == code,
            stock.c.holder_uscc == holder_uscc,
            stock.c.state == StockState.USED.value,
        )
        .values(state=StockState.IN_STOCK.value, updated_at=now, stepped_at=as_utc(stepped_at))
    )
    return int(result.rowcount)


def records_of(
    conn: Connection, site_uscc: str, vaccinee_ref: str | None, limit: int
) -> list[RowMapping]:
    """A site's vaccination records, newest first; one recipient's with ``vaccinee_ref``."""
    query = (
        select(vaccination_record, vaccination_undo.c.document_no.label("undone_by"))
        .outerjoin(vaccination_undo, vaccination_undo.c.record_id == vaccination_record.c.id)
        .where(vaccination_record.c.site_uscc == site_uscc)
        .order_by(vaccination_record.c.id.desc())
        .limit(limit)
    )
    if vaccinee_ref is not None:
        query = query.where(vaccination_record.c.vaccinee_ref == vaccinee_ref)
    return list(conn.execute(query).mappings())
