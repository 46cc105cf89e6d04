"""What was kept inside a regulator's division, newest first, a page at a time: the query
the steps and the findings share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, RowMapping, Table, select


def newest_in_area(
    conn: Connection,
    table: Table,
    area_prefix: str,
    *,
    before: int | None,
    limit: int,
    **equal: Any,
) -> list[RowMapping]:
    """Rows of ``table`` whose division code starts with ``area_prefix`` (and whose columns
    are ``equal``'s values), newest (highest id) first, below ``before`` when given."""
    c = table.c
    query = (
        select(table)
        .where(c.division_code.like(area_prefix + "%"))
        .order_by(c.id.desc())
        .limit(limit)
    )
    for column, value in equal.items():
        query = query.where(c[column] == value)
    if before is not None:
        query = query.where(c.id < before)
    return list(conn.execute(query).mappings().all())
