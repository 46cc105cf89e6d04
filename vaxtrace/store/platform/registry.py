"""SQL of the platform's registry: versioned basic data, systems, coding-rule entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, func, insert, select, text

from vaxtrace.store.platform.schema import (
    coding_rule,
    journal,
    organisation,
    product,
    registry_change,
    rule_entry,
    system,
)
from vaxtrace.store.rows import update_or_insert

FEED_LOCK = 0x7674_7265_6769
"""The advisory lock (PostgreSQL) registry writers take in turn."""


def lock_feed(conn: Connection) -> None:
    """Let registry writers take turns until commit, so versions commit in the order they are
    drawn: a node that has applied version N never finds a lower one later. (On PostgreSQL two
    writers could otherwise commit 11 before 10; SQLite has one writer at a time already.)"""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})


def record_change(conn: Connection, kind: str, key: str, data: Mapping[str, Any]) -> int:
    """Append to the change feed other nodes pull from; returns the new registry version."""
    result = conn.execute(
        insert(registry_change)
        .values(kind=kind, key=key, data=dict(data), changed_at=datetime.now(UTC))
        .returning(registry_change.c.version)
    )
    version = int(result.scalar_one())
    change = {"version": version, "change": kind, "key": key, "data": dict(data)}
    journal.keep(conn, "registry_change", change)
    return version


def changes_since(conn: Connection, version: int, limit: int) -> list[RowMapping]:
    query = (
        select(registry_change)
        .where(registry_change.c.version > version)
        .order_by(registry_change.c.version)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


def current_version(conn: Connection) -> int:
    found = conn.execute(select(func.max(registry_change.c.version))).scalar_one()
    return 0 if found is None else int(found)


_ORGANISATION = select(organisation).where(organisation.c.uscc == bindparam("uscc"))


def find_organisation(conn: Connection, uscc: str) -> RowMapping | None:
    return conn.execute(_ORGANISATION, {"uscc": uscc}).mappings().first()


def put_organisation(conn: Connection, uscc: str, data: Mapping[str, Any], version: int) -> None:
    update_or_insert(conn, organisation, {"uscc": uscc}, {"data": dict(data), "version": version})


def find_system(conn: Connection, system_id: str) -> RowMapping | None:
    return conn.execute(select(system).where(system.c.system_id == system_id)).mappings().first()


def systems_with_logs(conn: Connection) -> list[dict[str, Any]]:
    """The registered systems that gave their log's verifier key, by system id."""
    rows = conn.execute(select(system.c.data).order_by(system.c.system_id)).scalars()
    return [dict(data) for data in rows if data.get("log_key")]


def put_system(conn: Connection, data: Mapping[str, Any], version: int) -> None:
    values = {
        "role": data["role"],
        "operator_uscc": data["operator_uscc"],
        "data": dict(data),
        "version": version,
    }
    update_or_insert(conn, system, {"system_id": data["system_id"]}, values)


_PRODUCT = select(product).where(
    product.c.mah_uscc == bindparam("mah_uscc"), product.c.product_code == bindparam("code")
)


def find_product(conn: Connection, mah_uscc: str, product_code: str) -> RowMapping | None:
    return conn.execute(_PRODUCT, {"mah_uscc": mah_uscc, "code": product_code}).mappings().first()


def put_product(conn: Connection, data: Mapping[str, Any], version: int) -> None:
    keys = {"mah_uscc": data["mah_uscc"], "product_code": data["product_code"]}
    update_or_insert(conn, product, keys, {"data": dict(data), "version": version})


def add_rule(conn: Connection, system_id: str, mah_uscc: str, data: Mapping[str, Any]) -> int:
    result = conn.execute(
        insert(coding_rule)
        .values(
            system_id=system_id, mah_uscc=mah_uscc, data=dict(data), registered_at=datetime.now(UTC)
        )
        .returning(coding_rule.c.id)
    )
    rule_id = int(result.scalar_one())
    kept = {"rule_id": rule_id, "system_id": system_id, "mah_uscc": mah_uscc, "rule": dict(data)}
    journal.keep(conn, "coding_rule", kept)
    return rule_id


def add_entries(
    conn: Connection, rule_id: int, kind: str, entries: Sequence[str], mah: str, system_id: str
) -> None:
    conn.execute(
        insert(rule_entry),
        [
            {"entry": e, "kind": kind, "rule_id": rule_id, "mah_uscc": mah, "system_id": system_id}
            for e in entries
        ],
    )
    kept = {"rule_id": rule_id, "entry_kind": kind, "entries": list(entries), "mah_uscc": mah}
    journal.keep(conn, "rule_entries", kept | {"system_id": system_id})


def entries_in(
    conn: Connection, values: Sequence[str], kind: str | None = None
) -> list[RowMapping]:
    """Registered entries among ``values`` (of one kind, when given)."""
    found: list[RowMapping] = []
    for start in range(0, len(values), 500):
        query = select(rule_entry).where(rule_entry.c.entry.in_(list(values[start : start + 500])))
        if kind is not None:
            query = query.where(rule_entry.c.kind == kind)
        found.extend(conn.execute(query).mappings())
    return found


def entries_starting(
    conn: Connection, prefix: str, kind: str, not_of: str, limit: int = 5
) -> list[RowMapping]:
    """Entries of ``kind`` beginning with ``prefix`` that belong to another MAH than ``not_of``
    (a range scan on the primary key)."""
    query = (
        select(rule_entry)
        .where(
            rule_entry.c.kind == kind,
            rule_entry.c.entry >= prefix,
            rule_entry.c.entry < prefix + "\uffff",
            rule_entry.c.mah_uscc != not_of,
        )
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


_SYSTEMS_OF_ROLE = select(system.c.system_id, system.c.data).where(
    system.c.role == bindparam("role")
)


def system_representing(conn: Connection, role: str, uscc: str) -> str | None:
    """The system of ``role`` that represents an organisation (e.g. the immunization system
    of a CDC's province), if one is registered."""
    rows = conn.execute(_SYSTEMS_OF_ROLE, {"role": role})
    for system_id, data in rows:
        if uscc in data["represents"]:
            return str(system_id)
    return None


def supervised_areas(conn: Connection) -> list[tuple[str, str]]:
    """(supervision system, division) for every regulator a supervision system represents:
    the areas whose steps the platform copies to it."""
    areas = []
    for system_id, data in conn.execute(_SYSTEMS_OF_ROLE, {"role": "supervision"}):
        for uscc in data["represents"]:
            found = find_organisation(conn, uscc)
            if found is not None:
                areas.append((str(system_id), str(found["data"]["division_code"])))
    return areas


def division_of(conn: Connection, uscc: str) -> str | None:
    """Where a registered organisation is (its GB/T 2260 division code)."""
    found = find_organisation(conn, uscc)
    return None if found is None else str(found["data"]["division_code"])
