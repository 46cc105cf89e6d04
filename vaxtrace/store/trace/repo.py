"""SQL of the trace role: registry rows, events, codes and set-based checks on code sets."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    RowMapping,
    and_,
    bindparam,
    case,
    column,
    func,
    insert,
    null,
    or_,
    select,
    table,
    text,
    update,
)

from vaxtrace.core.status import TRANSITIONS as STATUS_TRANSITIONS
from vaxtrace.core.status import Action, Status
from vaxtrace.core.times import Earliest, as_utc
from vaxtrace.store.bulk import bulk_insert, lock_for_ids, scratch_table
from vaxtrace.store.trace.schema import (
    batch,
    batch_event,
    containment_history,
    event_code,
    identification_code,
    lot_release,
    product,
    trace_code,
    trace_event,
    write_request,
)

LISTED = "listed_code"
AFFECTED = "affected_code"


# --- events and idempotent writes -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventHeader:
    """What every trace event records besides its payload."""

    bill_type: str
    org_uscc: str
    business_time: datetime
    document_no: str
    client_document_id: str
    source_document: str | None = None
    corrects_event_id: int | None = None


# Statements of every write, built once: building one costs more than running it.
_APPEND_EVENT = insert(trace_event).returning(trace_event.c.id)
_FIND_WRITE = select(write_request).where(
    write_request.c.org_uscc == bindparam("org_uscc"),
    write_request.c.client_document_id == bindparam("client_document_id"),
)
_SAVE_WRITE = insert(write_request)


def append_event(conn: Connection, header: EventHeader, payload: Mapping[str, Any]) -> int:
    """Append one event (never updated afterwards) and return its sequence number."""
    result = conn.execute(
        _APPEND_EVENT,
        {
            "event_uuid": str(uuid.uuid4()),
            "bill_type": header.bill_type,
            "org_uscc": header.org_uscc,
            # UTC, so SQLite (which keeps no offset) stores the same instant as PostgreSQL
            "business_time": header.business_time.astimezone(UTC),
            "recorded_time": datetime.now(UTC),
            "document_no": header.document_no,
            "client_document_id": header.client_document_id,
            "source_document": header.source_document,
            "corrects_event_id": header.corrects_event_id,
            "payload": dict(payload),
        },
    )
    return int(result.scalar_one())


def find_write(conn: Connection, org_uscc: str, client_document_id: str) -> RowMapping | None:
    params = {"org_uscc": org_uscc, "client_document_id": client_document_id}
    return conn.execute(_FIND_WRITE, params).mappings().first()


def save_write(
    conn: Connection,
    *,
    org_uscc: str,
    client_document_id: str,
    operation: str,
    request_sha256: str,
    event_id: int | None,
    response: Mapping[str, Any],
) -> None:
    conn.execute(
        _SAVE_WRITE,
        {
            "org_uscc": org_uscc,
            "client_document_id": client_document_id,
            "operation": operation,
            "request_sha256": request_sha256,
            "event_id": event_id,
            "response": dict(response),
        },
    )


# --- products and batches ---------------------------------------------------------------


def product_by_code(conn: Connection, mah_uscc: str, product_code: str) -> RowMapping | None:
    return (
        conn.execute(
            select(product).where(
                product.c.mah_uscc == mah_uscc, product.c.product_code == product_code
            )
        )
        .mappings()
        .first()
    )


def batch_by_no(conn: Connection, mah_uscc: str, batch_no: str) -> RowMapping | None:
    query = (
        select(batch, product.c.data.label("product_data"), product.c.family)
        .join(product, product.c.id == batch.c.product_id)
        .where(batch.c.mah_uscc == mah_uscc, batch.c.batch_no == batch_no)
    )
    return conn.execute(query).mappings().first()


def identification_codes_of(conn: Connection, product_id: int) -> dict[int, RowMapping]:
    rows = conn.execute(
        select(identification_code).where(identification_code.c.product_id == product_id)
    ).mappings()
    return {int(r["level"]): r for r in rows}


def identification_owners(conn: Connection, codes: Iterable[str]) -> dict[str, RowMapping]:
    query = select(identification_code).where(identification_code.c.code.in_(list(codes)))
    return {r["code"]: r for r in conn.execute(query).mappings()}


# --- commissioning ----------------------------------------------------------------------


def next_code_id(conn: Connection) -> int:
    lock_for_ids(conn, "trace_code")
    return int(conn.execute(select(func.coalesce(func.max(trace_code.c.id), 0))).scalar_one()) + 1


def max_serial(conn: Connection, identification: str, width: int) -> int:
    """Highest numeric serial issued under an identification code (our serials are numbers).

    GS1: only serials of exactly ``width`` digits can collide with the ones we generate, but
    uploaded serials may be shorter or alphanumeric; walk down from the highest code of that
    length past any that is not all digits (codes compare byte-wise on both backends).
    """
    if len(identification) == 7:  # 20-digit family: serial at positions 8–16
        low, high = identification + "0" * 13, identification + "9" * 13
        serial = func.substr(trace_code.c.code, 8, 9)
        query = select(func.max(serial)).where(trace_code.c.code >= low, trace_code.c.code <= high)
        found = conn.execute(query).scalar_one()
        return int(found) if found and str(found).isdigit() else -1
    prefix = f"01{identification}21"
    upper = prefix + ":"  # ":" sorts right after "9": every all-digit serial is below it
    while True:
        query = (
            select(trace_code.c.code)
            .where(
                trace_code.c.code >= prefix + "0" * width,
                trace_code.c.code < upper,
                func.length(trace_code.c.code) == len(prefix) + width,
            )
            .order_by(trace_code.c.code.desc())
            .limit(1)
        )
        code = conn.execute(query).scalar_one_or_none()
        if code is None:
            return -1
        tail = str(code)[len(prefix) :]
        k = next((i for i, ch in enumerate(tail) if not "0" <= ch <= "9"), None)
        if k is None:
            return int(tail)
        # every all-digit serial at or below this code sorts below its digit-only head
        upper = prefix + tail[:k] + (":" if tail[k] > "9" else "")


CODE_COLUMNS = (
    "id",
    "code",
    "level",
    "product_id",
    "batch_id",
    "parent_id",
    "parent_since",
    "status",
    "holder_uscc",
    "commission_event_id",
)


def insert_codes(conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
    """Insert code rows (in ``CODE_COLUMNS`` order) at driver speed."""
    bulk_insert(conn, "trace_code", CODE_COLUMNS, rows)


def existing_codes(conn: Connection, values: Sequence[str], limit: int = 5) -> list[str]:
    load_listed(conn, values)
    query = text(f"SELECT l.value FROM {LISTED} l JOIN trace_code c ON c.code = l.value LIMIT :n")
    return [r[0] for r in conn.execute(query, {"n": limit})]


# --- sets of codes named by a document ---------------------------------------------------


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


_EARLIEST = (
    text(
        # the containers the listed codes are in now (a case holds boxes holds doses: two
        # levels at most; spelled out, so PostgreSQL does not guess a recursion's size)
        f"WITH up(id) AS (SELECT c.parent_id FROM {LISTED} l "
        "JOIN trace_code c ON c.id = l.code_id WHERE c.parent_id IS NOT NULL "
        f"UNION SELECT p.parent_id FROM {LISTED} l JOIN trace_code c ON c.id = l.code_id "
        "JOIN trace_code p ON p.id = c.parent_id WHERE p.parent_id IS NOT NULL), "
        f"steps(id) AS (SELECT ec.event_id FROM {AFFECTED} a "
        "JOIN event_code ec ON ec.code_id = a.code_id "
        "UNION ALL SELECT ec.event_id FROM up JOIN event_code ec ON ec.code_id = up.id) "
        "SELECT (SELECT max(e.business_time) FROM steps s JOIN trace_event e ON e.id = s.id "
        "WHERE e.bill_type NOT IN :control) AS previous_step, "
        "(SELECT max(b.production_date) FROM batch b WHERE b.id IN :batches) AS produced, "
        "(SELECT max(e.business_time) FROM lot_release lr "
        "JOIN trace_event e ON e.id = lr.event_id WHERE lr.batch_id IN :batches) AS released"
    )
    .bindparams(bindparam("control", expanding=True), bindparam("batches", expanding=True))
    .columns(
        column("previous_step", DateTime(timezone=True)),
        column("produced", Date),
        column("released", DateTime(timezone=True)),
    )
)


def affected_earliest(
    conn: Connection, control: Sequence[str], batch_ids: Sequence[int]
) -> Earliest:
    """What a step on the affected set cannot precede, in one query: the latest step recorded
    on its codes or on the containers the listed codes are in (``control`` bill types,
    status-only steps, are no step of the chain), and the latest production date and lot
    release of its batches (``batch_ids``, as the affected set's summary found them)."""
    params = {"control": list(control), "batches": list(batch_ids)}
    row = conn.execute(_EARLIEST, params).mappings().one()
    return _earliest(row["previous_step"], row["produced"], row["released"])


def batches_earliest(conn: Connection, batch_ids: Sequence[int], steps: Sequence[str]) -> Earliest:
    """What a step on whole batches cannot precede: their latest event of a bill type in
    ``steps`` and their latest production date."""
    previous = select(func.max(trace_event.c.business_time)).where(
        trace_event.c.id.in_(
            select(batch_event.c.event_id).where(batch_event.c.batch_id.in_(list(batch_ids)))
        ),
        trace_event.c.bill_type.in_(list(steps)),
    )
    produced = select(func.max(batch.c.production_date)).where(batch.c.id.in_(list(batch_ids)))
    row = conn.execute(select(previous.scalar_subquery(), produced.scalar_subquery())).one()
    return _earliest(row[0], row[1], None)


def _earliest(previous: Any, produced: Any, released: Any) -> Earliest:
    return Earliest(
        previous_step=None if previous is None else as_utc(previous),
        produced=produced,
        released=None if released is None else as_utc(released),
    )


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


def set_status_of_batches(conn: Connection, batch_ids: Sequence[int], action: Action) -> int:
    """Apply ``action`` to every code of the given batches whose status allows it."""
    mapping = STATUS_TRANSITIONS[action]
    result = conn.execute(
        update(trace_code)
        .where(
            trace_code.c.batch_id.in_(list(batch_ids)),
            trace_code.c.status.in_([s.value for s in mapping]),
        )
        .values(
            status=case({b.value: a.value for b, a in mapping.items()}, value=trace_code.c.status)
        )
    )
    return int(result.rowcount)


def batches_status_counts(conn: Connection, batch_ids: Sequence[int]) -> dict[str, int]:
    query = (
        select(trace_code.c.status, func.count())
        .where(trace_code.c.batch_id.in_(list(batch_ids)))
        .group_by(trace_code.c.status)
    )
    return {r[0]: int(r[1]) for r in conn.execute(query)}


def event_by_id(conn: Connection, event_id: int) -> RowMapping | None:
    return conn.execute(select(trace_event).where(trace_event.c.id == event_id)).mappings().first()


def corrections_of(conn: Connection, event_ids: Sequence[int]) -> list[RowMapping]:
    """Correction events citing any of ``event_ids``."""
    query = select(trace_event).where(trace_event.c.corrects_event_id.in_(list(event_ids)))
    return list(conn.execute(query).mappings())


# --- packing ----------------------------------------------------------------------------


def code_rows(conn: Connection, values: Sequence[str]) -> dict[str, RowMapping]:
    query = select(trace_code).where(trace_code.c.code.in_(list(values)))
    return {r["code"]: r for r in conn.execute(query).mappings()}


def set_parent(conn: Connection, child_ids: Sequence[int], parent_id: int, event_id: int) -> None:
    conn.execute(
        update(trace_code)
        .where(trace_code.c.id.in_(list(child_ids)))
        .values(parent_id=parent_id, parent_since=event_id)
    )


def clear_parent(conn: Connection, child_ids: Sequence[int], event_id: int) -> None:
    """Close the current containment of each child into history, then empty it."""
    rows = conn.execute(
        select(trace_code.c.id, trace_code.c.parent_id, trace_code.c.parent_since).where(
            trace_code.c.id.in_(list(child_ids)), trace_code.c.parent_id.is_not(None)
        )
    ).all()
    if not rows:
        return
    conn.execute(
        insert(containment_history),
        [
            {"child_id": r[0], "since_event": r[2], "until_event": event_id, "parent_id": r[1]}
            for r in rows
        ],
    )
    conn.execute(
        update(trace_code)
        .where(trace_code.c.id.in_([r[0] for r in rows]))
        .values(parent_id=None, parent_since=None)
    )


def children_ids(conn: Connection, parent_id: int) -> list[int]:
    query = select(trace_code.c.id).where(trace_code.c.parent_id == parent_id)
    return [int(r[0]) for r in conn.execute(query)]


def link_codes(conn: Connection, code_ids: Iterable[int], event_id: int) -> None:
    rows = [{"code_id": cid, "event_id": event_id} for cid in dict.fromkeys(code_ids)]
    if rows:
        conn.execute(insert(event_code), rows)


def mark_replaced(conn: Connection, old_id: int, new_id: int) -> None:
    conn.execute(
        update(trace_code)
        .where(trace_code.c.id == old_id)
        .values(replaced_by_id=new_id, status=Status.SUSPENDED.value)
    )


def move_children(conn: Connection, old_id: int, new_id: int, event_id: int) -> None:
    kids = children_ids(conn, old_id)
    if kids:
        clear_parent(conn, kids, event_id)
        set_parent(conn, kids, new_id, event_id)


# --- queries ----------------------------------------------------------------------------


def code_detail(conn: Connection, value: str) -> RowMapping | None:
    query = (
        select(
            trace_code,
            batch.c.batch_no,
            batch.c.expiry_date,
            batch.c.production_date,
            product.c.product_code,
            product.c.mah_uscc,
            product.c.data.label("product_data"),
        )
        .join(batch, batch.c.id == trace_code.c.batch_id)
        .join(product, product.c.id == trace_code.c.product_id)
        .where(trace_code.c.code == value)
    )
    return conn.execute(query).mappings().first()


def code_by_id(conn: Connection, code_id: int) -> RowMapping | None:
    return conn.execute(select(trace_code).where(trace_code.c.id == code_id)).mappings().first()


def children_of(conn: Connection, code_id: int) -> list[RowMapping]:
    query = (
        select(trace_code.c.code, trace_code.c.level, trace_code.c.status)
        .where(trace_code.c.parent_id == code_id)
        .order_by(trace_code.c.code)
    )
    return list(conn.execute(query).mappings())


Interval = tuple[int, int, int]  # (code id, from event, until event)
OPEN_END = 2**62


def containment_intervals(conn: Connection, code_id: int) -> list[Interval]:
    """Every container the code was inside, transitively, with the event span it was inside.

    The code itself is included with the full span, so a history is one events query.
    """
    spans: list[Interval] = [(code_id, 0, OPEN_END)]
    frontier: list[Interval] = [(code_id, 0, OPEN_END)]
    while frontier:
        child, lo, hi = frontier.pop()
        current = conn.execute(
            select(trace_code.c.parent_id, trace_code.c.parent_since).where(
                trace_code.c.id == child
            )
        ).first()
        found: list[tuple[int, int, int]] = []
        if current is not None and current[0] is not None:
            found.append((int(current[0]), int(current[1]), OPEN_END))
        past = conn.execute(
            select(
                containment_history.c.parent_id,
                containment_history.c.since_event,
                containment_history.c.until_event,
            ).where(containment_history.c.child_id == child)
        )
        found.extend((int(p), int(s), int(u)) for p, s, u in past)
        for parent, since, until in found:
            start, end = max(lo, since), min(hi, until)
            if start < end:
                spans.append((parent, start, end))
                frontier.append((parent, start, end))
    return spans


def link_batches(conn: Connection, batch_ids: Iterable[int], event_id: int) -> None:
    rows = [{"batch_id": b, "event_id": event_id} for b in dict.fromkeys(batch_ids)]
    if rows:
        conn.execute(insert(batch_event), rows)


def history(
    conn: Connection, spans: Sequence[Interval], batch_id: int, commission_event_id: int
) -> list[RowMapping]:
    """Events on the code, on its batch, or on a container while the code was inside.

    Of the batch's commissions only the code's own counts: the others issued other codes.
    """
    conditions = [
        and_(
            event_code.c.code_id == code_id,
            event_code.c.event_id >= lo,
            event_code.c.event_id < hi,
        )
        for code_id, lo, hi in spans
    ]
    linked = select(event_code.c.event_id).where(or_(*conditions))
    query = (
        select(trace_event)
        .where(
            trace_event.c.id.in_(linked)
            | (
                trace_event.c.id.in_(
                    select(batch_event.c.event_id).where(batch_event.c.batch_id == batch_id)
                )
                & (trace_event.c.bill_type != "commission")
            )
            | (trace_event.c.id == commission_event_id)
        )
        .order_by(trace_event.c.id)
    )
    return list(conn.execute(query).mappings())


def batch_where_now(conn: Connection, batch_id: int) -> list[RowMapping]:
    """Doses of a batch counted by current holder and status."""
    query = (
        select(trace_code.c.holder_uscc, trace_code.c.status, func.count().label("doses"))
        .where(trace_code.c.batch_id == batch_id, trace_code.c.level == 1)
        .group_by(trace_code.c.holder_uscc, trace_code.c.status)
        .order_by(trace_code.c.holder_uscc, trace_code.c.status)
    )
    return list(conn.execute(query).mappings())


def today_utc() -> date:
    return datetime.now(UTC).date()


def lot_release_file(conn: Connection, mah_uscc: str, batch_no: str) -> RowMapping | None:
    """The lot release certificate (批签发证明) of a MAH's batch as filed: (certificate_no,
    certificate_sha256, certificate_media_type, certificate_file); None when none is."""
    query = (
        select(
            lot_release.c.certificate_no,
            lot_release.c.certificate_sha256,
            lot_release.c.certificate_media_type,
            lot_release.c.certificate_file,
        )
        .join(batch, batch.c.id == lot_release.c.batch_id)
        .where(batch.c.mah_uscc == mah_uscc, batch.c.batch_no == batch_no)
    )
    return conn.execute(query).mappings().first()
