"""SQL of the due lists: each active child's forecast next doses (``child_forecast``), written
for a few children in a write's transaction or rebuilt whole in batches, and a site's due list
read from it through its index by (site, recommended date)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    String,
    cast,
    delete,
    distinct,
    func,
    or_,
    select,
    tuple_,
)

from vaxtrace.store.bulk import bulk_insert
from vaxtrace.store.immunization.schema import (
    basic_data,
    child,
    child_forecast,
    vaccination_record,
    vaccination_undo,
)

ACTIVE = "active"

COLUMNS = (
    "child_id",
    "vaccine",
    "dose",
    "site_uscc",
    "earliest",
    "recommended",
    "overdue",
    "latest",
    "edition",
    "computed_on",
)
"""A forecast row, in the order :func:`put` takes its values."""

ForecastRow = tuple[str, str, int, str, date, date, date | None, date | None, str, date]


def kept_record(conn: Connection, child_id: str) -> str:
    """The record a child's doses count for: itself, or the record it was merged into (at any
    depth)."""
    seen = {child_id}
    current = child_id
    while True:
        into = conn.execute(select(child.c.merged_into).where(child.c.id == current)).scalar()
        if into is None or into in seen:
            return current
        seen.add(str(into))
        current = str(into)


def lock_children(conn: Connection, child_ids: Collection[str]) -> list[RowMapping]:
    """The children (locked on PostgreSQL until the transaction ends, so two writes refreshing
    one child's forecast take turns and the second reads the first's doses)."""
    query = (
        select(child.c.id, child.c.site_uscc, child.c.birth_date, child.c.sex, child.c.state)
        .where(child.c.id.in_(list(child_ids)))
        .order_by(child.c.id)
        .with_for_update()
    )
    return list(conn.execute(query).mappings())


def families(conn: Connection, child_ids: Collection[str]) -> dict[str, list[str]]:
    """Each child with every record merged into it, at any depth (whose doses are its own)."""
    found: dict[str, list[str]] = {c: [c] for c in child_ids}
    owner = {c: c for c in child_ids}
    frontier = list(child_ids)
    while frontier:
        query = select(child.c.id, child.c.merged_into).where(child.c.merged_into.in_(frontier))
        frontier = []
        for merged, into in conn.execute(query):
            merged, root = str(merged), owner[str(into)]
            if merged in owner:
                continue
            owner[merged] = root
            found[root].append(merged)
            frontier.append(merged)
    return found


Given = tuple[datetime, str | None, str]
"""A dose given: its time, product code and MAH."""


def doses_by_ref(conn: Connection, refs: Collection[str]) -> dict[str, list[Given]]:
    """(time, product code, MAH) of the vaccination records naming each of ``refs``, not
    undone, oldest first."""
    query = (
        select(
            vaccination_record.c.vaccinee_ref,
            vaccination_record.c.vaccinated_at,
            vaccination_record.c.product_code,
            vaccination_record.c.mah_uscc,
        )
        .outerjoin(vaccination_undo, vaccination_undo.c.record_id == vaccination_record.c.id)
        .where(vaccination_record.c.vaccinee_ref.in_(list(refs)), vaccination_undo.c.id.is_(None))
        .order_by(vaccination_record.c.vaccinated_at, vaccination_record.c.id)
    )
    found: dict[str, list[Given]] = defaultdict(list)
    for ref, at, product, mah in conn.execute(query):
        found[str(ref)].append((at, product, str(mah)))
    return found


def generic_names(conn: Connection, keys: Collection[str]) -> dict[str, str | None]:
    """通用名 of the products (``MAH/product_code``) the registry's copy has."""
    if not keys:
        return {}
    table = basic_data.data
    query = select(table.c.key, table.c.data).where(
        table.c.kind == "product", table.c.key.in_(list(keys))
    )
    return {str(key): dict(data).get("generic_name") for key, data in conn.execute(query)}


def put(conn: Connection, child_ids: Collection[str], rows: Sequence[ForecastRow]) -> None:
    """The forecasts of ``child_ids`` are ``rows`` from now (any earlier ones replaced)."""
    ids = list(child_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(delete(child_forecast).where(child_forecast.c.child_id.in_(chunk)))
    if rows:
        bulk_insert(conn, "child_forecast", COLUMNS, list(rows))


def active_ids(conn: Connection, after: str, limit: int) -> list[str]:
    """Active children by id after ``after`` (a rebuild's next batch)."""
    query = (
        select(child.c.id)
        .where(child.c.state == ACTIVE, child.c.id > after)
        .order_by(child.c.id)
        .limit(limit)
    )
    return [str(i) for i in conn.execute(query).scalars()]


def drop_inactive(conn: Connection) -> int:
    """Forget the forecasts of children no longer active (merged, moved out)."""
    inactive = select(child.c.id).where(child.c.state != ACTIVE)
    result = conn.execute(delete(child_forecast).where(child_forecast.c.child_id.in_(inactive)))
    return int(result.rowcount)


def batches(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


DueRow = tuple[str, str, int, str, str, str | None, str | None]
"""A due list's dose, dates as ISO text: child_id, vaccine, dose, earliest, recommended,
overdue, latest."""

ChildRow = tuple[str, str, str, str]
"""A due list's child: name, birth date (ISO), card number, guardians (JSON text)."""


def _text(column: Any) -> Any:
    """A date or JSON column as the text it is kept as (ISO dates on both backends): a due
    list reads thousands of rows and answers them as text."""
    return cast(column, String)


Cursor = tuple[date, str, str]
"""Where a page of a due list ends: its last dose's (recommended, child_id, vaccine)."""


def _due_where(
    site_uscc: str,
    first: date,
    last: date,
    overdue_by: date | None,
    not_overdue_by: date | None,
) -> list[Any]:
    f = child_forecast.c
    where = [f.site_uscc == site_uscc, f.recommended <= last]
    where.append(or_(f.latest.is_(None), f.latest >= first))
    if overdue_by is not None:
        where.append(f.overdue <= overdue_by)
    if not_overdue_by is not None:
        where.append(or_(f.overdue.is_(None), f.overdue > not_overdue_by))
    return where


def due(
    conn: Connection,
    site_uscc: str,
    first: date,
    last: date,
    *,
    overdue_by: date | None = None,
    not_overdue_by: date | None = None,
    after: Cursor | None = None,
    limit: int = 1000,
) -> list[DueRow]:
    """The doses a site's children are due for by ``last`` (recommended on or before it) and
    may still be given on ``first`` (the last day allowed not before it); with ``overdue_by``,
    only those overdue by that day; with ``not_overdue_by``, only those not. In the order of
    the index (recommended date, child, vaccine), ``limit`` of them from ``after``."""
    f = child_forecast.c
    where = _due_where(site_uscc, first, last, overdue_by, not_overdue_by)
    if after is not None:
        where.append(tuple_(f.recommended, f.child_id, f.vaccine) > tuple_(*after))
    query = (
        select(
            f.child_id,
            f.vaccine,
            f.dose,
            _text(f.earliest),
            _text(f.recommended),
            _text(f.overdue),
            _text(f.latest),
        )
        .where(*where)
        .order_by(f.recommended, f.child_id, f.vaccine)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(query)]


def due_totals(
    conn: Connection,
    site_uscc: str,
    first: date,
    last: date,
    *,
    overdue_by: date | None = None,
    not_overdue_by: date | None = None,
) -> tuple[int, int]:
    """How many doses a whole due list has, and of how many children."""
    f = child_forecast.c
    query = select(func.count(), func.count(distinct(f.child_id))).where(
        *_due_where(site_uscc, first, last, overdue_by, not_overdue_by)
    )
    doses, children = conn.execute(query).one()
    return int(doses), int(children)


def children_of(conn: Connection, child_ids: Collection[str]) -> dict[str, ChildRow]:
    """Children's name, birth date, card number and guardians (JSON text), by id."""
    c = child.c
    ids = sorted(set(child_ids))
    found: dict[str, ChildRow] = {}
    for start in range(0, len(ids), 500):
        query = select(c.id, c.name, _text(c.birth_date), c.card_no, _text(c.guardians)).where(
            c.id.in_(ids[start : start + 500])
        )
        found.update({str(r[0]): (r[1], r[2], r[3], r[4]) for r in conn.execute(query)})
    return found


def due_everywhere(conn: Connection, first: date, last: date) -> list[RowMapping]:
    """The doses due by ``last`` that may still be given on ``first``, at every site, with
    the children's guardians (the reminder job's list)."""
    f = child_forecast.c
    query = (
        select(
            f.child_id,
            f.site_uscc,
            f.vaccine,
            f.dose,
            f.earliest,
            f.recommended,
            f.overdue,
            f.latest,
            child.c.name,
            child.c.guardians,
        )
        .join(child, child.c.id == f.child_id)
        .where(f.recommended <= last, or_(f.latest.is_(None), f.latest >= first))
        .order_by(f.site_uscc, f.recommended, f.child_id, f.vaccine)
    )
    return list(conn.execute(query).mappings())


def of_child(conn: Connection, child_id: str) -> list[RowMapping]:
    query = (
        select(child_forecast)
        .where(child_forecast.c.child_id == child_id)
        .order_by(child_forecast.c.vaccine)
    )
    return list(conn.execute(query).mappings())


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(child_forecast)).scalar_one())
