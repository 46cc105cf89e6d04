"""SQL of the province's stock by code, set-based: a document's codes go into a scratch table
once, every check is one query over it, and a move is one statement over the codes and
everything inside them (a recursive walk of ``stock.parent_code``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    RowMapping,
    bindparam,
    insert,
    select,
    text,
)

from vaxtrace.core.immunization import StockState
from vaxtrace.core.province_replay import BATCH_FACTS
from vaxtrace.core.signals import BatchFacts
from vaxtrace.core.times import Earliest, as_utc
from vaxtrace.store.bulk import bulk_insert, scratch_table
from vaxtrace.store.immunization.safety import as_date
from vaxtrace.store.immunization.schema import (
    journal,
    stock,
)

LISTED = "province_listed"
"""The codes a document names, canonical."""
AFFECTED = "province_affected"
"""The listed codes and everything inside them now."""
IN_STOCK = StockState.IN_STOCK.value


def load_listed(conn: Connection, codes: Sequence[str]) -> None:
    """Put a document's (distinct, canonical) codes in the scratch table."""
    scratch_table(conn, LISTED, "code VARCHAR(120) PRIMARY KEY")
    bulk_insert(conn, LISTED, ("code",), ((c,) for c in codes))


def unknown_listed(conn: Connection, limit: int = 5) -> list[str]:
    """Listed codes the province never received."""
    query = text(
        f"SELECT l.code FROM {LISTED} l LEFT JOIN stock s ON s.code = l.code "
        "WHERE s.code IS NULL ORDER BY l.code LIMIT :n"
    )
    return [r[0] for r in conn.execute(query, {"n": limit})]


def listed_elsewhere(conn: Connection, holder_uscc: str, limit: int = 5) -> list[RowMapping]:
    """Listed codes another organisation holds: (code, holder_uscc)."""
    query = text(
        f"SELECT s.code, s.holder_uscc FROM {LISTED} l CROSS JOIN stock s "
        "WHERE s.code = l.code AND s.holder_uscc <> :holder ORDER BY l.code LIMIT :n"
    )
    return list(conn.execute(query, {"holder": holder_uscc, "n": limit}).mappings())


def listed_present(conn: Connection, limit: int = 5) -> list[str]:
    """Listed codes the province has and did not return (a receipt cannot take them again)."""
    query = text(
        f"SELECT s.code FROM {LISTED} l CROSS JOIN stock s "
        "WHERE s.code = l.code AND s.state <> :returned_state ORDER BY l.code LIMIT :n"
    )
    return [
        r[0] for r in conn.execute(query, {"returned_state": StockState.RETURNED.value, "n": limit})
    ]


def expand_listed(conn: Connection) -> list[str]:
    """Fill the affected set: listed codes (all in stock, checked before) and everything
    inside them now. Answers listed codes that are also inside another listed code (empty
    when all is well)."""
    scratch_table(conn, AFFECTED, "code VARCHAR(120)")
    conn.exec_driver_sql(
        f"INSERT INTO {AFFECTED} (code) "
        "WITH RECURSIVE sub(code) AS ("
        f"SELECT s.code FROM {LISTED} l CROSS JOIN stock s WHERE s.code = l.code "
        "UNION ALL SELECT s.code FROM sub CROSS JOIN stock s WHERE s.parent_code = sub.code) "
        "SELECT code FROM sub"
    )
    query = text(
        f"SELECT code FROM {AFFECTED} GROUP BY code HAVING count(*) > 1 ORDER BY code LIMIT 5"
    )
    return [r[0] for r in conn.execute(query)]


def affected_count(conn: Connection) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {AFFECTED}")).scalar_one())


def suppliers_of_listed(conn: Connection) -> set[str]:
    """The MAHs that supplied the listed codes."""
    query = text(
        f"SELECT DISTINCT s.mah_uscc FROM {LISTED} l CROSS JOIN stock s WHERE s.code = l.code"
    )
    return {str(r[0]) for r in conn.execute(query)}


def holds_anything(conn: Connection, code: str) -> bool:
    """Whether a code is a container with something still inside it."""
    query = select(stock.c.code).where(stock.c.parent_code == code).limit(1)
    return conn.execute(query).first() is not None


def detach_listed(conn: Connection, now: datetime) -> list[str]:
    """Take listed codes out of their containers (a box leaves its opened case); answers
    the codes taken out."""
    query = text(
        f"SELECT s.code FROM {LISTED} l CROSS JOIN stock s "
        "WHERE s.code = l.code AND s.parent_code IS NOT NULL ORDER BY l.code"
    )
    detached = [r[0] for r in conn.execute(query)]
    if detached:
        conn.execute(
            text(
                "UPDATE stock SET parent_code = NULL, updated_at = :now "
                f"WHERE code IN (SELECT code FROM {LISTED}) AND parent_code IS NOT NULL"
            ),
            {"now": now},
        )
    return detached


def move_affected(
    conn: Connection,
    holder_uscc: str,
    from_states: Collection[str],
    *,
    to_holder: str,
    to_state: StockState,
    now: datetime,
    stepped_at: datetime,
) -> int:
    """Hand every affected code that ``holder_uscc`` holds in one of ``from_states`` to
    ``to_holder`` (the holder itself, for a write-off) in ``to_state`` by a step at
    ``stepped_at``, in one statement; answers how many moved."""
    query = text(
        "UPDATE stock SET holder_uscc = :to_holder, state = :to_state, updated_at = :now, "
        "stepped_at = :stepped_at WHERE code IN ("
        f"SELECT s.code FROM {AFFECTED} a CROSS JOIN stock s WHERE s.code = a.code "
        "AND s.holder_uscc = :holder AND s.state IN :from_states)"
    ).bindparams(bindparam("from_states", expanding=True), STEPPED_AT)
    result = conn.execute(
        query,
        {
            "to_holder": to_holder,
            "to_state": to_state.value,
            "now": now,
            "stepped_at": as_utc(stepped_at),
            "holder": holder_uscc,
            "from_states": list(from_states),
        },
    )
    return int(result.rowcount)


STEPPED_AT = bindparam("stepped_at", type_=DateTime(timezone=True))
"""``stepped_at`` bound as the column stores it (on SQLite, text in one format that sorts)."""


def earliest_for_affected(conn: Connection) -> Earliest:
    """What a step on the affected codes cannot precede: their last recorded step and their
    batches' production."""
    row = conn.execute(
        text(
            "SELECT max(s.stepped_at) AS stepped, max(b.production_date) AS produced "
            f"FROM {AFFECTED} a CROSS JOIN stock s "
            "LEFT JOIN batch b ON b.mah_uscc = s.mah_uscc AND b.batch_no = s.batch_no "
            "WHERE s.code = a.code"
        )
    ).one()
    stepped = _as_datetime(row.stepped)
    return Earliest(
        previous_step=None if stepped is None else as_utc(stepped),
        produced=as_date(row.produced),
    )


def _as_datetime(value: Any) -> datetime | None:
    """A time as the database hands back an aggregate of it (SQLite: text)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def clear_returned(conn: Connection) -> None:
    """Forget the earlier, returned stay of listed codes that come back (and of whatever
    was inside them when they left), so the new receipt records them afresh."""
    conn.execute(
        text(
            "WITH RECURSIVE sub(code) AS ("
            f"SELECT s.code FROM {LISTED} l CROSS JOIN stock s WHERE s.code = l.code "
            "AND s.state = :returned_state "
            "UNION ALL SELECT s.code FROM sub CROSS JOIN stock s WHERE s.parent_code = sub.code "
            "AND s.state = :returned_state) "
            "DELETE FROM stock WHERE code IN (SELECT code FROM sub)"
        ),
        {"returned_state": StockState.RETURNED.value},
    )


def put_in_stock(
    conn: Connection,
    placement: Sequence[tuple[str, str | None]],
    *,
    holder_uscc: str,
    mah_uscc: str,
    receipt_id: int,
    now: datetime,
    stepped_at: datetime,
    batches: Mapping[str, str] | None = None,
) -> None:
    """Add received codes, each with the container it is in (None: loose) and its batch
    (``batches``, by code), received at ``stepped_at``, in one statement."""
    conn.execute(
        insert(stock),
        [
            {
                "code": code,
                "parent_code": parent,
                "holder_uscc": holder_uscc,
                "state": IN_STOCK,
                "mah_uscc": mah_uscc,
                "receipt_id": receipt_id,
                "updated_at": now,
                "stepped_at": as_utc(stepped_at),
                "batch_no": (batches or {}).get(code),
            }
            for code, parent in placement
        ],
    )


RECEIVED = "province_received"
"""The codes a confirmation receives, each with the container it stays in."""


def receive_in_transit(
    conn: Connection,
    placement: Sequence[tuple[str, str | None]],
    *,
    holder_uscc: str,
    receipt_id: int,
    now: datetime,
    stepped_at: datetime,
) -> int:
    """Put codes on their way to ``holder_uscc`` in its stock, each in the container
    ``placement`` names (None: loose), as of the receiving note ``receipt_id`` received at
    ``stepped_at``, in one statement; answers how many were in transit to it."""
    scratch_table(conn, RECEIVED, "code VARCHAR(120) PRIMARY KEY, parent_code VARCHAR(120)")
    bulk_insert(conn, RECEIVED, ("code", "parent_code"), placement)
    result = conn.execute(
        text(
            "UPDATE stock SET state = :in_stock, receipt_id = :receipt, updated_at = :now, "
            "stepped_at = :stepped_at, "
            f"parent_code = (SELECT r.parent_code FROM {RECEIVED} r WHERE r.code = stock.code) "
            f"WHERE code IN (SELECT code FROM {RECEIVED}) "
            "AND holder_uscc = :holder AND state = :transit_state"
        ).bindparams(STEPPED_AT),
        {
            "in_stock": IN_STOCK,
            "receipt": receipt_id,
            "now": now,
            "stepped_at": as_utc(stepped_at),
            "holder": holder_uscc,
            "transit_state": StockState.IN_TRANSIT.value,
        },
    )
    return int(result.rowcount)


def affected_tree(conn: Connection) -> list[RowMapping]:
    """The affected codes with the container each is in and its batch, in code order:
    (code, parent_code, mah_uscc, batch_no)."""
    query = text(
        "SELECT s.code, s.parent_code, s.mah_uscc, s.batch_no "
        f"FROM {AFFECTED} a CROSS JOIN stock s WHERE s.code = a.code ORDER BY a.code"
    )
    return list(conn.execute(query).mappings())


# --- disposal (报废 216, 销毁 205) -------------------------------------------------------------


def listed_not_in(conn: Connection, states: Collection[str], limit: int = 5) -> list[RowMapping]:
    """Listed codes in none of ``states``: (code, state)."""
    query = text(
        f"SELECT s.code, s.state FROM {LISTED} l CROSS JOIN stock s "
        "WHERE s.code = l.code AND s.state NOT IN :states ORDER BY l.code LIMIT :n"
    ).bindparams(bindparam("states", expanding=True))
    return list(conn.execute(query, {"states": list(states), "n": limit}).mappings())


def owner_signals_of_affected(conn: Connection) -> list[RowMapping]:
    """What the MAHs signalled about the affected codes, each combination once with one of its
    codes: (mah_status, lock_kind, under_recall, code)."""
    query = text(
        "SELECT s.mah_status, b.lock_kind, "
        "CASE WHEN b.recall_no IS NULL THEN 0 ELSE 1 END AS under_recall, min(s.code) AS code "
        f"FROM {AFFECTED} a CROSS JOIN stock s "
        "LEFT JOIN batch b ON b.mah_uscc = s.mah_uscc AND b.batch_no = s.batch_no "
        "WHERE s.code = a.code "
        "AND (s.mah_status IS NOT NULL OR b.lock_kind IS NOT NULL OR b.recall_no IS NOT NULL) "
        "GROUP BY s.mah_status, b.lock_kind, CASE WHEN b.recall_no IS NULL THEN 0 ELSE 1 END"
    )
    return list(conn.execute(query).mappings())


# --- the journal of what decides the stock ---------------------------------------------------


def journal_batch_facts(
    conn: Connection, mah_uscc: str, note_no: str, facts: Sequence[BatchFacts]
) -> None:
    """Journal the batch data a shipping note carried (the note is journaled by its digest
    only), in the transaction that takes it: the ``batch`` table follows from the journal
    (:func:`vaxtrace.core.province_replay.batches_kept`)."""
    batches = [f.model_dump(mode="json") for f in facts]
    body = {"mah_uscc": mah_uscc, "note_no": note_no, "batches": batches}
    journal.keep(conn, BATCH_FACTS, body)
