"""SQL of the province's cold chain (冷链): temperature records and their readings, excursions,
and the codes an excursion holds.

Times are stored in UTC (SQLite keeps no offset) and answered as aware UTC datetimes. The ids of
records and excursions are handed out here, under a lock, before anything is written: a record's
stored answer names them and records are never updated.

For the dose gate: :func:`excursion_state_of` answers, for the codes asked, the state of the
excursions holding them (``open`` or ``abnormal``; a code no excursion holds, or only ones
decided ``usable``, is absent).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    RowMapping,
    bindparam,
    case,
    exists,
    func,
    insert,
    select,
    text,
    update,
)

from vaxtrace.core.coldchain.decisions import ExcursionState
from vaxtrace.core.coldchain.readings import Reading
from vaxtrace.core.immunization import StockState
from vaxtrace.core.times import as_utc
from vaxtrace.store.bulk import lock_for_ids
from vaxtrace.store.immunization.schema import (
    excursion,
    excursion_code,
    journal,
    temperature_reading,
    temperature_record,
)
from vaxtrace.store.rows import in_batches

HOLDING = (ExcursionState.OPEN.value, ExcursionState.ABNORMAL.value)


# --- records and readings -----------------------------------------------------------------


def next_ids(conn: Connection) -> tuple[int, int]:
    """The next free id of a temperature record and of an excursion; writers queue here until
    this transaction ends, so the ids stay free until it has used them."""
    lock_for_ids(conn, "temperature_record")
    lock_for_ids(conn, "excursion")
    record = conn.execute(select(func.coalesce(func.max(temperature_record.c.id), 0)))
    found = conn.execute(select(func.coalesce(func.max(excursion.c.id), 0)))
    return int(record.scalar_one()) + 1, int(found.scalar_one()) + 1


def find_record(conn: Connection, unit_uscc: str, client_document_id: str) -> RowMapping | None:
    query = select(temperature_record).where(
        temperature_record.c.unit_uscc == unit_uscc,
        temperature_record.c.client_document_id == client_document_id,
    )
    return conn.execute(query).mappings().first()


def add_record(conn: Connection, values: Mapping[str, Any]) -> None:
    """Keep a record (with its explicit id and the answer a retry gets)."""
    conn.execute(insert(temperature_record).values(**_utc_times(values)))
    kept = {"org_uscc": values["unit_uscc"], "record": _utc_times(values)}
    journal.keep(conn, "temperature_record", kept)


def readings_between(
    conn: Connection, unit_uscc: str, equipment_id: str, low: datetime, high: datetime
) -> dict[datetime, float]:
    """The readings already stored for a unit's equipment from ``low`` to ``high``, by time."""
    r = temperature_reading.c
    query = (
        select(r.time, r.celsius)
        .where(
            r.unit_uscc == unit_uscc,
            r.equipment_id == equipment_id,
            r.time >= low.astimezone(UTC),
            r.time <= high.astimezone(UTC),
        )
        .order_by(r.time)
    )
    return {as_utc(time): float(celsius) for time, celsius in conn.execute(query)}


def add_readings(
    conn: Connection,
    *,
    unit_uscc: str,
    equipment_id: str,
    record_id: int,
    readings: Iterable[Reading],
) -> int:
    """Store readings (none of them stored before); answers how many."""
    rows = [
        {
            "unit_uscc": unit_uscc,
            "equipment_id": equipment_id,
            "time": reading.time.astimezone(UTC),
            "celsius": reading.celsius,
            "record_id": record_id,
        }
        for reading in readings
    ]
    if rows:
        conn.execute(insert(temperature_reading), rows)
    return len(rows)


# --- excursions ---------------------------------------------------------------------------


def overlapping_excursion(
    conn: Connection,
    *,
    unit_uscc: str,
    equipment_id: str,
    rule_id: str,
    start: datetime,
    end: datetime,
) -> int | None:
    """An excursion already recorded for the same rule on the same equipment over part of
    ``start``..``end`` (a series seen again with more readings around it), if any."""
    e = excursion.c
    query = (
        select(e.id)
        .where(
            e.unit_uscc == unit_uscc,
            e.equipment_id == equipment_id,
            e.rule_id == rule_id,
            e.start_time <= end.astimezone(UTC),
            e.end_time >= start.astimezone(UTC),
        )
        .order_by(e.id)
        .limit(1)
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


_HELD_THEN = (
    "FROM stock WHERE holder_uscc = :unit AND state = :in_stock "
    "AND (stepped_at IS NULL OR stepped_at <= :until)"
)
"""The codes a unit has in stock that were there by ``until`` (came in no later; codes
received before arrivals were kept count as there): an excursion holds those, not what
arrived after it ended."""
_UNTIL = bindparam("until", type_=DateTime(timezone=True))


def in_stock_count(conn: Connection, unit_uscc: str, until: datetime) -> int:
    """How many codes (every level) a unit has in stock that were there by ``until``."""
    query = text(f"SELECT count(*) {_HELD_THEN}").bindparams(_UNTIL)
    return int(conn.execute(query, _held_then(unit_uscc, until)).scalar_one())


def _held_then(unit_uscc: str, until: datetime) -> dict[str, Any]:
    return {"unit": unit_uscc, "in_stock": StockState.IN_STOCK.value, "until": as_utc(until)}


def add_excursion(conn: Connection, values: Mapping[str, Any], *, hold: bool = True) -> int:
    """Record an open excursion (with its explicit id) and, with ``hold``, hold every code the
    unit had in stock by its end — containers and everything in them — in one statement;
    answers how many codes it holds."""
    conn.execute(insert(excursion).values(**_utc_times(values)))
    journal.keep(
        conn, "excursion", {"org_uscc": values["unit_uscc"], "excursion": _utc_times(values)}
    )
    if not hold:
        return 0
    held = text(
        f"INSERT INTO excursion_code (excursion_id, code) SELECT :excursion, code {_HELD_THEN}"
    ).bindparams(_UNTIL)
    params = {"excursion": values["id"]} | _held_then(values["unit_uscc"], values["end_time"])
    return int(conn.execute(held, params).rowcount)


def journey_records(conn: Connection, unit_uscc: str, document_no: str) -> list[RowMapping]:
    """The transport records a unit uploaded for a delivery (``related_document_no``), each
    with whether an excursion of it still holds (open, or judged abnormal): (id, holds)."""
    holds = exists().where(
        excursion.c.record_id == temperature_record.c.id, excursion.c.state.in_(HOLDING)
    )
    query = (
        select(temperature_record.c.id, holds.label("holds"))
        .where(
            temperature_record.c.unit_uscc == unit_uscc,
            temperature_record.c.kind == "transport",
            temperature_record.c.related_document_no == document_no,
        )
        .order_by(temperature_record.c.id)
    )
    return list(conn.execute(query).mappings())


def excursion_row(conn: Connection, excursion_id: int) -> RowMapping | None:
    return conn.execute(select(excursion).where(excursion.c.id == excursion_id)).mappings().first()


def excursions_of(
    conn: Connection, unit_uscc: str, state: ExcursionState | None = None, limit: int = 500
) -> list[RowMapping]:
    """A unit's excursions, newest first."""
    query = select(excursion).where(excursion.c.unit_uscc == unit_uscc)
    if state is not None:
        query = query.where(excursion.c.state == state.value)
    query = query.order_by(excursion.c.start_time.desc(), excursion.c.id.desc()).limit(limit)
    return list(conn.execute(query).mappings())


def codes_held(conn: Connection, excursion_id: int, limit: int) -> list[str]:
    query = (
        select(excursion_code.c.code)
        .where(excursion_code.c.excursion_id == excursion_id)
        .order_by(excursion_code.c.code)
        .limit(limit)
    )
    return [str(code) for code in conn.execute(query).scalars()]


def decide(
    conn: Connection,
    excursion_id: int,
    *,
    state: ExcursionState,
    decided_by: str,
    reason: str,
    at: datetime,
) -> bool:
    """Close an open excursion with a person's decision; False if it was no longer open."""
    result = conn.execute(
        update(excursion)
        .where(excursion.c.id == excursion_id, excursion.c.state == ExcursionState.OPEN.value)
        .values(
            state=state.value,
            decided_by=decided_by,
            decision_reason=reason,
            decided_at=at.astimezone(UTC),
        )
    )
    if int(result.rowcount) != 1:
        return False
    decision = {"excursion_id": excursion_id, "state": state.value, "reason": reason}
    journal.keep(conn, "excursion_decision", decision | {"decided_by": decided_by, "at": at})
    return True


def excursion_state_of(conn: Connection, codes: Collection[str]) -> dict[str, str]:
    """For the dose gate: each of ``codes`` (canonical, any level) held by an excursion not
    decided usable, with the worst state holding it: ``abnormal`` (kept out for good) over
    ``open`` (pending a decision). Codes held by nothing are absent. Answers codes as held:
    ask for a dose and, if needed, the containers it came in."""
    worst = func.max(case((excursion.c.state == ExcursionState.ABNORMAL.value, 1), else_=0))
    found: dict[str, str] = {}
    for batch in in_batches(sorted(set(codes))):
        query = (
            select(excursion_code.c.code, worst)
            .join(excursion, excursion.c.id == excursion_code.c.excursion_id)
            .where(excursion_code.c.code.in_(batch), excursion.c.state.in_(HOLDING))
            .group_by(excursion_code.c.code)
        )
        for code, abnormal in conn.execute(query):
            found[str(code)] = HOLDING[1] if abnormal else HOLDING[0]
    return found


def _utc_times(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}
