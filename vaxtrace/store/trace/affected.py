"""The set of codes a document names (listed codes) and everything inside them now (the
affected set): loaded into scratch tables once per step, checked set-based, then moved along
the status table in one update."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    case,
    column,
    null,
    select,
    table,
    text,
    update,
)

from vaxtrace.core.status import TRANSITIONS as STATUS_TRANSITIONS
from vaxtrace.core.status import Action
from vaxtrace.store.bulk import scratch_table
from vaxtrace.store.trace.schema import trace_code

LISTED = "listed_code"
"""Scratch table of a step: the codes its document names, each with its id (NULL: unknown)."""
AFFECTED = "affected_code"
"""Scratch table of a step: the listed codes and every code inside them now."""

_LOAD_LISTED = {  # the values come as one parameter: a JSON array, or a PostgreSQL array
    "sqlite": text(
        f"INSERT INTO {LISTED} (value, code_id) SELECT v.value, "
        "(SELECT id FROM trace_code WHERE code = v.value) FROM json_each(:values) v"
    ),
    "postgresql": text(
        f"INSERT INTO {LISTED} (value, code_id) SELECT v.value, "
        "(SELECT id FROM trace_code WHERE code = v.value) "
        "FROM unnest(CAST(:values AS text[])) AS v(value)"
    ),
}


def load_listed(conn: Connection, values: Sequence[str]) -> None:
    """Put a document's codes in the scratch table, each with its id (NULL: unknown), in one
    statement."""
    scratch_table(conn, LISTED, "value VARCHAR(120) PRIMARY KEY, code_id BIGINT")
    dialect = conn.dialect.name
    given = json.dumps(values) if dialect == "sqlite" else list(values)
    conn.execute(_LOAD_LISTED[dialect], {"values": given})


def unknown_listed(conn: Connection, limit: int = 5) -> list[str]:
    query = text(f"SELECT value FROM {LISTED} WHERE code_id IS NULL ORDER BY value LIMIT :n")
    return [r[0] for r in conn.execute(query, {"n": limit})]


def foreign_listed(conn: Connection, mah_uscc: str, limit: int = 5) -> list[str]:
    """Listed codes of products that belong to another MAH."""
    query = text(
        f"SELECT l.value FROM {LISTED} l JOIN trace_code c ON c.id = l.code_id "
        "JOIN product p ON p.id = c.product_id WHERE p.mah_uscc <> :mah ORDER BY l.value LIMIT :n"
    )
    return [r[0] for r in conn.execute(query, {"mah": mah_uscc, "n": limit})]


_INSIDE = {
    # PostgreSQL estimates the walk's rows at thousands a level and then hashes or sorts the
    # whole of trace_code for it; a lateral subquery it cannot flatten (OFFSET 0) makes each
    # step an index lookup by parent, as SQLite plans it anyway
    "postgresql": "SELECT k.id FROM sub CROSS JOIN LATERAL "
    "(SELECT c.id FROM trace_code c WHERE c.parent_id = sub.id OFFSET 0) k",
    "sqlite": "SELECT c.id FROM trace_code c JOIN sub ON c.parent_id = sub.id",
}


def expand(conn: Connection) -> None:
    """Fill the affected set: listed codes and everything inside them now."""
    scratch_table(conn, AFFECTED, "code_id BIGINT")
    conn.exec_driver_sql(
        f"INSERT INTO {AFFECTED} (code_id) "
        f"WITH RECURSIVE sub(id) AS (SELECT code_id FROM {LISTED} "
        f"UNION ALL {_INSIDE[conn.dialect.name]}) SELECT id FROM sub"
    )


def listed_twice(conn: Connection) -> list[str]:
    """Listed codes that are also inside another listed code (empty when all is well)."""
    # MATERIALIZED: else PostgreSQL may walk the whole code index in order for the LIMIT
    query = text(
        f"WITH twice AS MATERIALIZED (SELECT code_id FROM {AFFECTED} "
        "GROUP BY code_id HAVING count(*) > 1) "
        "SELECT c.code FROM twice t JOIN trace_code c ON c.id = t.code_id ORDER BY c.code LIMIT 5"
    )
    return [r[0] for r in conn.execute(query)]


def affected_status_counts(conn: Connection) -> list[tuple[str, int, str]]:
    """(status, count, an example code) over the affected set."""
    query = text(
        f"SELECT c.status, count(*), min(c.code) FROM {AFFECTED} a "
        "JOIN trace_code c ON c.id = a.code_id GROUP BY c.status ORDER BY c.status"
    )
    return [(r[0], int(r[1]), r[2]) for r in conn.execute(query)]


def affected_not_held(conn: Connection, holder_uscc: str, limit: int = 5) -> list[RowMapping]:
    # MATERIALIZED: joined first, then sorted; with the join and the LIMIT in one query,
    # PostgreSQL walks trace_code in code order against the scratch table (minutes on 1M codes)
    query = text(
        f"WITH elsewhere AS MATERIALIZED (SELECT c.code, c.holder_uscc FROM {AFFECTED} a "
        "JOIN trace_code c ON c.id = a.code_id WHERE c.holder_uscc <> :holder) "
        "SELECT code, holder_uscc FROM elsewhere ORDER BY code LIMIT :n"
    )
    return list(conn.execute(query, {"holder": holder_uscc, "n": limit}).mappings())


@dataclass(frozen=True, slots=True)
class Affected:
    """What the checks of a step on a set of codes need to know of its affected set."""

    statuses: list[tuple[str, int, str]]
    """(status, count, the least code) as :func:`affected_status_counts` answers."""
    batches: Sequence[Mapping[str, Any]]
    """One row per batch as :func:`affected_batches` answers."""


_BATCH_FACTS = (
    "batch_id",
    "batch_no",
    "expiry_date",
    "customs_clearance_no",
    "product_code",
    "imported",
    "certificate_no",
    "release_conclusion",
)
_SUMMARY = text(  # counted per batch and status first, then joined to the few batches
    "WITH g AS (SELECT c.batch_id, c.status, count(*) AS n, count(DISTINCT c.id) AS distinct_n, "
    "min(c.code) AS example, sum(CASE WHEN c.level = 1 THEN 1 ELSE 0 END) AS doses, "
    "sum(CASE WHEN c.holder_uscc <> :holder THEN 1 ELSE 0 END) AS elsewhere "
    f"FROM {AFFECTED} a JOIN trace_code c ON c.id = a.code_id GROUP BY c.batch_id, c.status) "
    "SELECT b.id AS batch_id, b.batch_no, b.expiry_date, b.customs_clearance_no, "
    "p.product_code, p.imported, lr.certificate_no, lr.conclusion AS release_conclusion, "
    "g.status, g.n, g.distinct_n, g.example, g.doses, g.elsewhere, "
    f"(SELECT count(*) FROM {AFFECTED}) AS affected, "
    f"(SELECT count(*) FROM {LISTED} l JOIN trace_code f ON f.id = l.code_id "
    "JOIN product fp ON fp.id = f.product_id WHERE fp.mah_uscc <> :mah) AS foreign_n "
    "FROM g JOIN batch b ON b.id = g.batch_id JOIN product p ON p.id = b.product_id "
    "LEFT JOIN lot_release lr ON lr.batch_id = b.id ORDER BY b.batch_no, b.id"
)


def affected_summary(conn: Connection, mah: str | None, holder: str | None) -> Affected | None:
    """Statuses and batches of the affected set in one query, when nothing in it is to be
    refused before its statuses are: every listed code known and (unless ``mah`` is None)
    that MAH's, none also inside a listed container, every affected code at ``holder``
    (unless None). None when any of that fails: the one-question-each queries above then
    say which codes and why.
    """
    rows = conn.execute(_SUMMARY, {"mah": mah, "holder": holder}).mappings().all()
    if not rows:
        return None
    first = rows[0]
    if mah is not None and first["foreign_n"]:
        return None
    if sum(r["n"] for r in rows) != first["affected"]:
        return None  # an unknown code (its NULL id joins nothing), or a code without its batch
    if any(r["n"] != r["distinct_n"] or r["elsewhere"] for r in rows):
        return None
    statuses: dict[str, tuple[int, str]] = {}
    batches: dict[int, dict[str, Any]] = {}
    for r in rows:
        n, example = statuses.get(r["status"], (0, r["example"]))
        statuses[r["status"]] = (n + int(r["n"]), min(example, r["example"]))
        facts = batches.setdefault(r["batch_id"], {k: r[k] for k in _BATCH_FACTS} | {"doses": 0})
        facts["doses"] += int(r["doses"])
    return Affected(
        [(status, n, example) for status, (n, example) in sorted(statuses.items())],
        list(batches.values()),  # in batch_no order, as the query sorts them
    )


def affected_batches(conn: Connection) -> list[dict[str, Any]]:
    """Per batch of the affected set: doses, expiry, lot release and customs facts."""
    query = text(
        f"SELECT b.id AS batch_id, b.batch_no, b.expiry_date, b.customs_clearance_no, "
        "p.product_code, p.imported, lr.certificate_no, lr.conclusion AS release_conclusion, "
        "sum(CASE WHEN c.level = 1 THEN 1 ELSE 0 END) AS doses "
        f"FROM {AFFECTED} a JOIN trace_code c ON c.id = a.code_id "
        "JOIN batch b ON b.id = c.batch_id JOIN product p ON p.id = b.product_id "
        "LEFT JOIN lot_release lr ON lr.batch_id = b.id "
        "GROUP BY b.id, b.batch_no, b.expiry_date, b.customs_clearance_no, p.product_code, "
        "p.imported, lr.certificate_no, lr.conclusion ORDER BY b.batch_no"
    )
    return [r._asdict() for r in conn.execute(query)]


_LINK_LISTED = text(
    f"INSERT INTO event_code (code_id, event_id) SELECT code_id, :event_id FROM {LISTED}"
)
_IN_CONTAINERS = text(
    f"SELECT c.code FROM {LISTED} l JOIN trace_code c ON c.id = l.code_id "
    "WHERE c.parent_id IS NOT NULL ORDER BY c.code"
)
_CLOSE_CONTAINMENT = text(
    "INSERT INTO containment_history (child_id, since_event, until_event, parent_id) "
    f"SELECT c.id, c.parent_since, :event_id, c.parent_id FROM {LISTED} l "
    "JOIN trace_code c ON c.id = l.code_id WHERE c.parent_id IS NOT NULL"
)
_CONTENTS = text(
    f"SELECT p.code, c.code FROM {AFFECTED} a JOIN trace_code c ON c.id = a.code_id "
    "JOIN trace_code p ON p.id = c.parent_id ORDER BY p.code, c.code"
)


def link_listed(conn: Connection, event_id: int) -> None:
    conn.execute(_LINK_LISTED, {"event_id": event_id})


def detach_listed(conn: Connection, event_id: int) -> list[str]:
    """Listed codes leave their containers (an implicit unpack): close each containment into
    history and return those codes; :func:`apply_action` with ``unpack`` then empties their
    current container, in the one update of the step."""
    detached = [r[0] for r in conn.execute(_IN_CONTAINERS)]
    if detached:
        conn.execute(_CLOSE_CONTAINMENT, {"event_id": event_id})
    return detached


_LISTED_BATCHES = text(
    f"SELECT c.code, b.batch_no, p.product_code, b.production_date, b.expiry_date, "
    "lr.certificate_no, lr.authority, lr.release_date, lr.certificate_sha256 "
    f"FROM {LISTED} l JOIN trace_code c ON c.id = l.code_id "
    "JOIN batch b ON b.id = c.batch_id JOIN product p ON p.id = b.product_id "
    "LEFT JOIN lot_release lr ON lr.batch_id = b.id AND lr.conclusion = 'pass' "
    "ORDER BY b.batch_no, c.code"
)


def listed_batches(conn: Connection) -> list[RowMapping]:
    """Each listed code with its batch's master data and lot release (batch_no order): what
    a receiver's gate checks a code against."""
    return list(conn.execute(_LISTED_BATCHES).mappings())


def affected_codes(conn: Connection) -> list[str]:
    """Every code of the affected set (listed codes and what they hold now), in order."""
    query = text(
        f"SELECT DISTINCT c.code FROM {AFFECTED} a JOIN trace_code c ON c.id = a.code_id "
        "ORDER BY c.code"
    )
    return [str(r[0]) for r in conn.execute(query)]


def contents_of_affected(conn: Connection) -> dict[str, list[str]]:
    """What each container of the affected set holds directly (codes, in order): the packing
    a receiver needs to verify and break down what it got."""
    contents: dict[str, list[str]] = {}
    for parent, child in conn.execute(_CONTENTS):
        contents.setdefault(str(parent), []).append(str(child))
    return contents


def apply_action(
    conn: Connection, action: Action, *, holder_uscc: str | None = None, unpack: bool = False
) -> None:
    """Move every affected code along the status table (already checked) and set its holder;
    with ``unpack``, listed codes are also taken out of their containers (see
    :func:`detach_listed`). One update: a row rewritten twice costs PostgreSQL a second new
    version of it and of each of its index entries."""
    statement = _apply_action(action, holder_uscc is not None, unpack)
    conn.execute(statement, {} if holder_uscc is None else {"holder": holder_uscc})


@functools.cache
def _apply_action(action: Action, moves: bool, unpack: bool) -> Any:
    mapping = STATUS_TRANSITIONS[action]
    values: dict[str, Any] = {
        "status": case(
            {before.value: after.value for before, after in mapping.items()},
            value=trace_code.c.status,
            else_=trace_code.c.status,
        )
    }
    if moves:
        values["holder_uscc"] = bindparam("holder")
    if unpack:
        listed: Any = trace_code.c.id.in_(select(column("code_id")).select_from(table(LISTED)))
        values["parent_id"] = case((listed, null()), else_=trace_code.c.parent_id)
        values["parent_since"] = case((listed, null()), else_=trace_code.c.parent_since)
    affected_ids: Any = select(column("code_id")).select_from(table(AFFECTED))
    return update(trace_code).where(trace_code.c.id.in_(affected_ids)).values(**values)


_CODE_BATCHES = text(
    f"SELECT DISTINCT c.code, b.batch_no FROM {AFFECTED} a "
    "JOIN trace_code c ON c.id = a.code_id JOIN batch b ON b.id = c.batch_id "
    "ORDER BY b.batch_no, c.code"
)


def affected_code_batches(conn: Connection) -> list[tuple[str, str]]:
    """Every code of the affected set with its batch number (batch, then code order)."""
    return [(str(r[0]), str(r[1])) for r in conn.execute(_CODE_BATCHES)]
