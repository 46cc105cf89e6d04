"""SQL of what the province's stock views read: an organisation's codes by state, its loose
codes, one code and what it holds, doses held grouped by what the dose gate judges them by,
the units of an area, the product copies of the registry."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, func, select, text

from vaxtrace.core.dose_gate import StockPlace
from vaxtrace.store.immunization.schema import basic_data, organisation, stock

IN_STOCK = StockPlace.IN_STOCK.value


def by_state(conn: Connection, holder_uscc: str) -> dict[str, int]:
    """How many codes an organisation holds, by state."""
    query = (
        select(stock.c.state, func.count())
        .where(stock.c.holder_uscc == holder_uscc)
        .group_by(stock.c.state)
    )
    return {str(state): int(n) for state, n in conn.execute(query)}


def loose_in_stock(conn: Connection, holder_uscc: str, limit: int) -> list[RowMapping]:
    """The outermost codes an organisation has in stock, with how many codes each holds
    directly: (code, mah_uscc, inside)."""
    inner = stock.alias("inner")
    inside = (
        select(func.count())
        .select_from(inner)
        .where(inner.c.parent_code == stock.c.code)
        .scalar_subquery()
    )
    query = (
        select(stock.c.code, stock.c.mah_uscc, inside.label("inside"))
        .where(
            stock.c.holder_uscc == holder_uscc,
            stock.c.state == IN_STOCK,
            stock.c.parent_code.is_(None),
        )
        .order_by(stock.c.code)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def code_row(conn: Connection, code: str) -> RowMapping | None:
    return conn.execute(select(stock).where(stock.c.code == code)).mappings().first()


def inside_of(conn: Connection, code: str) -> list[str]:
    """The codes directly inside a container."""
    query = select(stock.c.code).where(stock.c.parent_code == code).order_by(stock.c.code)
    return [str(c) for c in conn.execute(query).scalars()]


HELD_PLACES = (StockPlace.IN_STOCK.value, StockPlace.IN_TRANSIT.value)
"""States of a code its holder still has: in stock, or on its way in (not yet confirmed)."""

_EXCURSION_HELD = (
    "SELECT xc.code, max(CASE WHEN x.state = 'abnormal' THEN 2 ELSE 1 END) AS held "
    "FROM excursion_code xc JOIN excursion x ON x.id = xc.excursion_id "
    "WHERE x.state IN ('open', 'abnormal') GROUP BY xc.code"
)
"""Codes a cold-chain excursion holds: 2 abnormal, 1 open (as the dose gate reads them)."""

_GROUPED = "s.holder_uscc, s.mah_uscc, s.batch_no, s.state, s.mah_status, h.held"

_HELD_DOSES = (
    "SELECT g.holder_uscc, g.mah_uscc, b.product_code, g.batch_no, b.expiry_date, g.state, "
    "g.mah_status, b.lot_release_no, b.lock_kind, b.recall_no, g.held, g.code, "
    "0 AS holds_codes, g.doses FROM ("
    f"SELECT {_GROUPED}, min(s.code) AS code, count(*) AS doses FROM stock s "
    f"LEFT JOIN ({_EXCURSION_HELD}) h ON h.code = s.code "
    "{area_join}"
    "WHERE s.state IN :places {holder} "
    "AND NOT EXISTS (SELECT 1 FROM stock i WHERE i.parent_code = s.code) "
    "AND substr(s.code, 1, 7) NOT IN :boxes20 "
    "AND NOT (s.code LIKE '01%' AND substr(s.code, 3, 14) IN :boxes_gs1) "
    f"GROUP BY {_GROUPED}) g "
    "LEFT JOIN batch b ON b.mah_uscc = g.mah_uscc AND b.batch_no = g.batch_no"
)
"""Doses grouped by code-level facts first, then joined to their batch (one lookup a group,
not a dose)."""


def held_doses(
    conn: Connection,
    *,
    holder_uscc: str | None = None,
    area_prefix: str | None = None,
    container_ids: Collection[str] = (),
) -> list[RowMapping]:
    """Doses held (in stock or in transit), counted in one GROUP BY over everything the gate
    judges them by: holder, MAH, product, batch, expiry, place, the MAH's status, lot release,
    lock, recall and cold-chain hold; each group with one of its codes (``code``).

    A dose is a code with nothing inside it whose identification code is not one of
    ``container_ids`` (the box and case identification codes of the products the node knows:
    an emptied box is not a dose). Only ``holder_uscc``'s, or only those of units whose
    division code starts with ``area_prefix`` (a CDC's area), when given."""
    holder = "" if holder_uscc is None else "AND s.holder_uscc = :holder"
    area_join = ""
    if area_prefix is not None:
        area_join = "JOIN organisation o ON o.uscc = s.holder_uscc AND o.division_code LIKE :area "
    query = text(_HELD_DOSES.format(area_join=area_join, holder=holder)).bindparams(
        bindparam("places", expanding=True),
        bindparam("boxes20", expanding=True),
        bindparam("boxes_gs1", expanding=True),
    )
    params: dict[str, Any] = {
        "places": list(HELD_PLACES),
        "boxes20": [c for c in container_ids if len(c) == 7] or [""],
        "boxes_gs1": [c for c in container_ids if len(c) == 14] or [""],
        "holder": holder_uscc,
        "area": f"{area_prefix}%",
    }
    return list(conn.execute(query, params).mappings())


def units_in_area(conn: Connection, area_prefix: str) -> list[RowMapping]:
    """The CDCs and sites whose division code starts with ``area_prefix``, by division."""
    query = (
        select(organisation)
        .where(organisation.c.division_code.like(f"{area_prefix}%"))
        .order_by(organisation.c.division_code, organisation.c.uscc)
    )
    return list(conn.execute(query).mappings())


def product_copies(conn: Connection) -> dict[str, dict[str, Any]]:
    """The products of the platform's registry this node has a copy of, by
    ``MAH/product_code``."""
    table = basic_data.data
    query = select(table.c.key, table.c.data).where(table.c.kind == "product")
    return {str(key): dict(data) for key, data in conn.execute(query)}
