"""SQL of the school-entry checks (入学入托查验): checks and their rows, and the set-based
reads a roster's matching needs (children by card, resident id, name key, phone, birth date
and surname; their doses), a chunk of rows at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, bindparam, insert, or_, select, update

from vaxtrace.core.registry import FeedKind
from vaxtrace.store.immunization.recipients import ACTIVE, MERGED
from vaxtrace.store.immunization.schema import (
    basic_data,
    child,
    child_phone,
    journal,
    organisation,
    school_entry_check,
    school_entry_row,
    vaccination_record,
    vaccination_undo,
)

CHILD_COLUMNS = (
    child.c.id,
    child.c.site_uscc,
    child.c.name,
    child.c.sex,
    child.c.birth_date,
    child.c.card_no,
    child.c.resident_id,
    child.c.state,
    child.c.merged_into,
)


# --- checks ------------------------------------------------------------------------------------


def insert_check(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(school_entry_check).values(**values))


def find_check(conn: Connection, check_id: str) -> RowMapping | None:
    query = select(school_entry_check).where(school_entry_check.c.id == check_id)
    return conn.execute(query).mappings().first()


def find_same_file(
    conn: Connection, org_uscc: str, school_division: str, school_name: str, file_sha256: str
) -> RowMapping | None:
    t = school_entry_check
    query = select(t).where(
        t.c.org_uscc == org_uscc,
        t.c.school_division == school_division,
        t.c.school_name == school_name,
        t.c.file_sha256 == file_sha256,
    )
    return conn.execute(query).mappings().first()


def update_check(conn: Connection, check_id: str, **values: Any) -> None:
    t = school_entry_check
    conn.execute(update(t).where(t.c.id == check_id).values(**values))


def checks(
    conn: Connection, *, org_uscc: str | None = None, area_prefix: str | None = None
) -> list[RowMapping]:
    """The checks a unit ran (``org_uscc``) or of the schools in an area, newest first."""
    t = school_entry_check
    query = select(t).order_by(t.c.checked_at.desc(), t.c.id)
    if org_uscc is not None:
        query = query.where(t.c.org_uscc == org_uscc)
    if area_prefix is not None:
        query = query.where(t.c.school_division.like(area_prefix + "%"))
    return list(conn.execute(query).mappings())


# --- rows --------------------------------------------------------------------------------------


def insert_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(school_entry_row), list(rows))


def update_rows(conn: Connection, check_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """New results of rows (``row_no``, ``status``, ``child_id``, ``result``)."""
    if not rows:
        return
    t = school_entry_row
    statement = (
        update(t)
        .where(t.c.check_id == bindparam("b_check"), t.c.row_no == bindparam("b_row"))
        .values(
            status=bindparam("status"), child_id=bindparam("child_id"), result=bindparam("result")
        )
    )
    conn.execute(
        statement,
        [
            {
                "b_check": check_id,
                "b_row": r["row_no"],
                "status": r["status"],
                "child_id": r["child_id"],
                "result": r["result"],
            }
            for r in rows
        ],
    )


def rows_of(
    conn: Connection, check_id: str, statuses: Collection[str] | None = None, chunk: int = 500
) -> Iterator[list[RowMapping]]:
    """A check's rows in roster order, ``chunk`` at a time (keyset pages: bounded memory)."""
    t = school_entry_row
    after = 0
    while True:
        query = (
            select(t)
            .where(t.c.check_id == check_id, t.c.row_no > after)
            .order_by(t.c.row_no)
            .limit(chunk)
        )
        if statuses is not None:
            query = query.where(t.c.status.in_(list(statuses)))
        page = list(conn.execute(query).mappings())
        if not page:
            return
        yield page
        after = int(page[-1]["row_no"])


# --- the children a chunk of rows may be -------------------------------------------------------


def children_by(conn: Connection, column: str, values: Collection[str]) -> list[RowMapping]:
    """Children (any state) whose ``card_no`` or ``resident_id`` is one of ``values``."""
    if not values:
        return []
    key = child.c.card_no if column == "card_no" else child.c.resident_id
    query = select(*CHILD_COLUMNS).where(key.in_(list(values)))
    return list(conn.execute(query).mappings())


def children_near(
    conn: Connection,
    *,
    name_keys: Collection[str],
    phones: Collection[str],
    births_by_surname: Collection[tuple[date, str]],
) -> list[RowMapping]:
    """Active children sharing a blocking key with any row of a chunk: a same-sounding name,
    a guardian phone, or a birth date with the same surname (first character)."""
    keys = []
    if name_keys:
        keys.append(child.c.name_key.in_(list(name_keys)))
    if phones:
        by_phone = select(child_phone.c.child_id).where(child_phone.c.phone.in_(list(phones)))
        keys.append(child.c.id.in_(by_phone))
    by_surname: dict[date, set[str]] = defaultdict(set)
    for born, surname in births_by_surname:
        by_surname[born].add(surname)
    found: dict[str, RowMapping] = {}
    if keys:
        query = select(*CHILD_COLUMNS).where(child.c.state == ACTIVE, or_(*keys))
        found.update((str(r["id"]), r) for r in conn.execute(query).mappings())
    births = sorted(by_surname)
    for start in range(0, len(births), 200):
        part = births[start : start + 200]
        query = select(*CHILD_COLUMNS).where(
            child.c.state == ACTIVE,
            or_(
                *(
                    and_(
                        child.c.birth_date == born,
                        or_(
                            *(
                                child.c.name.startswith(s, autoescape=True)
                                for s in sorted(by_surname[born])
                            )
                        ),
                    )
                    for born in part
                )
            ),
        )
        found.update((str(r["id"]), r) for r in conn.execute(query).mappings())
    return list(found.values())


def _starts(surname: str) -> Any:
    return child.c.name.startswith(surname, autoescape=True)


def kept_children(conn: Connection, ids: Collection[str]) -> dict[str, RowMapping]:
    """Children by id (to follow a merged record to the one kept)."""
    if not ids:
        return {}
    query = select(*CHILD_COLUMNS).where(child.c.id.in_(list(ids)))
    return {str(r["id"]): r for r in conn.execute(query).mappings()}


def phones_of(conn: Connection, child_ids: Collection[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    ids = list(child_ids)
    for start in range(0, len(ids), 900):
        query = select(child_phone.c.child_id, child_phone.c.phone).where(
            child_phone.c.child_id.in_(ids[start : start + 900])
        )
        for child_id, phone in conn.execute(query):
            found[str(child_id)].append(str(phone))
    return found


def merged_into(conn: Connection, kept_ids: Collection[str]) -> dict[str, list[str]]:
    """Every record merged into each of ``kept_ids`` (at any depth): its doses are the kept
    child's."""
    family: dict[str, list[str]] = {k: [k] for k in kept_ids}
    root = {k: k for k in kept_ids}
    frontier = list(kept_ids)
    while frontier:
        query = select(child.c.id, child.c.merged_into).where(
            child.c.merged_into.in_(frontier), child.c.state == MERGED
        )
        frontier = []
        for merged, into in conn.execute(query):
            top = root[str(into)]
            if str(merged) not in root:
                root[str(merged)] = top
                family[top].append(str(merged))
                frontier.append(str(merged))
    return family


def doses_of(conn: Connection, refs: Collection[str]) -> dict[str, list[RowMapping]]:
    """The doses (``vaccinee_ref``, ``mah_uscc``, ``product_code``, ``vaccinated_at``) of
    each of ``refs``, not undone, oldest first."""
    found: dict[str, list[RowMapping]] = defaultdict(list)
    ids = list(refs)
    for start in range(0, len(ids), 900):
        record = vaccination_record.c
        query = (
            select(record.vaccinee_ref, record.mah_uscc, record.product_code, record.vaccinated_at)
            .outerjoin(vaccination_undo, vaccination_undo.c.record_id == vaccination_record.c.id)
            .where(
                vaccination_record.c.vaccinee_ref.in_(ids[start : start + 900]),
                vaccination_undo.c.id.is_(None),
            )
            .order_by(vaccination_record.c.vaccinated_at, vaccination_record.c.id)
        )
        for r in conn.execute(query).mappings():
            found[str(r["vaccinee_ref"])].append(r)
    return found


def journal_check(conn: Connection, kind: str, body: Mapping[str, Any]) -> int:
    """Journal a check or re-check: ids, counts and digests, never personal data."""
    return journal.keep(conn, kind, body)


def names_of(conn: Connection, usccs: Collection[str]) -> dict[str, str]:
    """Organisations' names (the province's units, else the registry's copy: MAHs)."""
    wanted = [u for u in dict.fromkeys(usccs) if u]
    if not wanted:
        return {}
    found = {
        str(r["key"]): str(r["data"].get("name"))
        for r in conn.execute(
            select(basic_data.data.c.key, basic_data.data.c.data).where(
                basic_data.data.c.kind == FeedKind.ORGANISATION.value,
                basic_data.data.c.key.in_(wanted),
            )
        ).mappings()
        if isinstance(r["data"], dict) and r["data"].get("name")
    }
    query = select(organisation.c.uscc, organisation.c.name).where(organisation.c.uscc.in_(wanted))
    found.update((str(u), str(n)) for u, n in conn.execute(query))
    return found


def units(conn: Connection) -> list[RowMapping]:
    """The province's CDCs and vaccination sites (uscc, kind, division), by division."""
    query = select(organisation.c.uscc, organisation.c.kind, organisation.c.division_code)
    query = query.order_by(organisation.c.division_code, organisation.c.uscc)
    return list(conn.execute(query).mappings())
