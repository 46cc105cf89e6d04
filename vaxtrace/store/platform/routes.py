"""SQL of where the platform sent goods of each batch, so a MAH's safety signal about a batch
reaches every immunization system that holds or expects it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, insert, select

from vaxtrace.store.platform.schema import batch_route, journal
from vaxtrace.store.rows import in_batches


def add_routes(
    conn: Connection, mah_uscc: str, batch_nos: Iterable[str], system_id: str, consignee: str
) -> None:
    """Remember that goods of these batches went to ``system_id`` for ``consignee``."""
    wanted = list(dict.fromkeys(batch_nos))
    if not wanted:
        return
    known = set(
        conn.execute(
            select(batch_route.c.batch_no).where(
                batch_route.c.mah_uscc == mah_uscc,
                batch_route.c.system_id == system_id,
                batch_route.c.consignee_uscc == consignee,
                batch_route.c.batch_no.in_(wanted),
            )
        ).scalars()
    )
    rows = [
        {"mah_uscc": mah_uscc, "batch_no": b, "system_id": system_id, "consignee_uscc": consignee}
        for b in wanted
        if b not in known
    ]
    if rows:
        conn.execute(insert(batch_route), rows)
        journal.keep(conn, "batch_routes", {"routes": rows})


def routes_of(conn: Connection, mah_uscc: str, batch_nos: Sequence[str]) -> list[tuple[str, str]]:
    """(system id, consignee) pairs that received goods of any of the MAH's batches."""
    found: set[tuple[str, str]] = set()
    for part in in_batches(list(batch_nos)):
        query = select(batch_route.c.system_id, batch_route.c.consignee_uscc).where(
            batch_route.c.mah_uscc == mah_uscc, batch_route.c.batch_no.in_(part)
        )
        found.update((str(s), str(c)) for s, c in conn.execute(query))
    return sorted(found)
