"""SQL of the recipients (受种者): children, their guardians' phones, moves and merges, and the
vaccination records that name them. Personal data is written here and nowhere else: the
journal keeps a child's pseudonymous id and a digest (:func:`journal_child`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, or_, select, update

from vaxtrace.store.immunization.schema import (
    child,
    child_merge,
    child_move,
    child_phone,
    journal,
    vaccination_record,
    vaccination_undo,
)

ACTIVE = "active"
MERGED = "merged"
MOVED_OUT = "moved_out"


def insert_child(conn: Connection, values: Mapping[str, Any], phones: Iterable[str]) -> None:
    conn.execute(insert(child).values(**values))
    add_phones(conn, str(values["id"]), phones)


def add_phones(conn: Connection, child_id: str, phones: Iterable[str]) -> None:
    rows = [{"child_id": child_id, "phone": p} for p in dict.fromkeys(phones)]
    if rows:
        conn.execute(insert(child_phone), rows)


def find_child(conn: Connection, child_id: str) -> RowMapping | None:
    return conn.execute(select(child).where(child.c.id == child_id)).mappings().first()


def find_by_card(conn: Connection, card_no: str) -> RowMapping | None:
    return conn.execute(select(child).where(child.c.card_no == card_no)).mappings().first()


PERSON_COLUMNS = (
    child.c.id,
    child.c.site_uscc,
    child.c.name,
    child.c.sex,
    child.c.birth_date,
    child.c.resident_id,
)


def people_near(
    conn: Connection,
    *,
    name_key: str,
    birth_date: date,
    phones: Collection[str],
    resident_id: str | None,
) -> list[RowMapping]:
    """Active children sharing one blocking key with a new one: the same-sounding name, the
    birth date, a guardian phone or the resident id (each indexed)."""
    keys = [child.c.name_key == name_key, child.c.birth_date == birth_date]
    if phones:
        by_phone = select(child_phone.c.child_id).where(child_phone.c.phone.in_(list(phones)))
        keys.append(child.c.id.in_(by_phone))
    if resident_id is not None:
        keys.append(child.c.resident_id == resident_id)
    query = select(*PERSON_COLUMNS).where(child.c.state == ACTIVE, or_(*keys))
    return list(conn.execute(query).mappings())


def active_people(conn: Connection) -> list[RowMapping]:
    """Every active child of the province, for the nightly duplicate pass."""
    query = select(*PERSON_COLUMNS).where(child.c.state == ACTIVE).order_by(child.c.id)
    return list(conn.execute(query).mappings())


def phones_of(conn: Connection, child_ids: Collection[str] | None = None) -> dict[str, list[str]]:
    """Guardian phones by child (of ``child_ids``, or of every child)."""
    query = select(child_phone.c.child_id, child_phone.c.phone).order_by(
        child_phone.c.child_id, child_phone.c.phone
    )
    if child_ids is not None:
        if not child_ids:
            return {}
        query = query.where(child_phone.c.child_id.in_(list(child_ids)))
    found: dict[str, list[str]] = defaultdict(list)
    for child_id, phone in conn.execute(query):
        found[str(child_id)].append(str(phone))
    return found


def children_of(
    conn: Connection, site_uscc: str, state: str | None, limit: int
) -> list[RowMapping]:
    """A site's children, newest registration first."""
    query = (
        select(child)
        .where(child.c.site_uscc == site_uscc)
        .order_by(child.c.registered_at.desc(), child.c.id)
        .limit(limit)
    )
    if state is not None:
        query = query.where(child.c.state == state)
    return list(conn.execute(query).mappings())


def hand_to_site(conn: Connection, child_id: str, site_uscc: str, now: datetime) -> None:
    conn.execute(
        update(child).where(child.c.id == child_id).values(site_uscc=site_uscc, updated_at=now)
    )


def set_state(
    conn: Connection, child_id: str, state: str, now: datetime, merged_into: str | None = None
) -> None:
    values: dict[str, Any] = {"state": state, "updated_at": now}
    if merged_into is not None:
        values["merged_into"] = merged_into
    conn.execute(update(child).where(child.c.id == child_id).values(**values))


def update_personal(conn: Connection, child_id: str, now: datetime, **values: Any) -> None:
    """What a merge adds to the kept child: guardians, a resident id, the new digest."""
    conn.execute(update(child).where(child.c.id == child_id).values(updated_at=now, **values))


def record_move(conn: Connection, **values: Any) -> None:
    conn.execute(insert(child_move).values(**values))


def record_merge(conn: Connection, **values: Any) -> None:
    conn.execute(insert(child_merge).values(**values))


def moves_of(conn: Connection, child_ids: Collection[str]) -> list[RowMapping]:
    query = (
        select(child_move)
        .where(child_move.c.child_id.in_(list(child_ids)))
        .order_by(child_move.c.id)
    )
    return list(conn.execute(query).mappings())


def merges_into(conn: Connection, child_ids: Collection[str]) -> list[RowMapping]:
    query = (
        select(child_merge)
        .where(child_merge.c.kept_id.in_(list(child_ids)))
        .order_by(child_merge.c.id)
    )
    return list(conn.execute(query).mappings())


def merged_family(conn: Connection, child_id: str) -> list[str]:
    """The child and every record merged into it, at any depth (its doses are the child's)."""
    found = [child_id]
    frontier = [child_id]
    while frontier:
        query = select(child.c.id).where(child.c.merged_into.in_(frontier))
        frontier = [str(i) for i in conn.execute(query).scalars() if i not in found]
        found.extend(frontier)
    return found


def doses_of(conn: Connection, refs: Collection[str]) -> list[RowMapping]:
    """The vaccination records naming any of ``refs`` (at every site), not undone, oldest
    first."""
    query = (
        select(vaccination_record)
        .outerjoin(vaccination_undo, vaccination_undo.c.record_id == vaccination_record.c.id)
        .where(vaccination_record.c.vaccinee_ref.in_(list(refs)), vaccination_undo.c.id.is_(None))
        .order_by(vaccination_record.c.vaccinated_at, vaccination_record.c.id)
    )
    return list(conn.execute(query).mappings())


def journal_child(conn: Connection, kind: str, body: Mapping[str, Any]) -> int:
    """Journal a decision about a child. ``body`` must name no personal data: the child's
    pseudonymous id, the site (``org_uscc``, who reads the entry) and digests."""
    return journal.keep(conn, kind, body)
