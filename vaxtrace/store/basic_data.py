"""Basic data (基础数据) a connected system keeps from the platform's registry: a copy of every
organisation, connected system and product the platform registers, and how far its change feed
has been applied. Every role that pulls the feed (trace, immunization, supervision) has both
tables (:func:`registry_copy_tables`); what a role takes further into registers of its own (a
province its CDCs and sites, say) is its rule, in :mod:`vaxtrace.exchange.registry_feed`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
)

from vaxtrace.store.rows import in_batches, update_or_insert


@dataclass(frozen=True)
class Change:
    """One entry of the platform's change feed."""

    version: int
    kind: str
    key: str
    data: dict[str, Any]


@dataclass(frozen=True)
class RegistryCopy:
    sync: Table
    """``registry_sync``: the last feed version applied, per source (platform base URL)."""
    data: Table
    """``basic_data``: the latest of each registered thing, by kind and key."""


def registry_copy_tables(metadata: MetaData) -> RegistryCopy:
    """A role's ``registry_sync`` and ``basic_data`` tables."""
    sync = Table(
        "registry_sync",
        metadata,
        Column("source", String(200), primary_key=True),
        Column("version", BigInteger, nullable=False),
    )
    data = Table(
        "basic_data",
        metadata,
        Column("kind", String(30), primary_key=True),
        Column("key", String(60), primary_key=True),
        Column("version", BigInteger, nullable=False),
        Column("data", JSON, nullable=False),
    )
    return RegistryCopy(sync, data)


def applied_version(conn: Connection, copy: RegistryCopy, source: str) -> int:
    query = select(copy.sync.c.version).where(copy.sync.c.source == source)
    found = conn.execute(query).scalar_one_or_none()
    return 0 if found is None else int(found)


def save_version(conn: Connection, copy: RegistryCopy, source: str, version: int) -> None:
    update_or_insert(conn, copy.sync, {"source": source}, {"version": version})


def copy_changes(conn: Connection, copy: RegistryCopy, changes: Sequence[Change]) -> None:
    """Keep the latest of each (kind, key) among ``changes`` (feed entries, oldest first):
    the rows they replace are deleted and the newest written, two statements a page."""
    latest = {(c.kind, c.key): c for c in changes}
    if not latest:
        return
    table = copy.data
    conn.execute(delete(table).where(_keyed(table, latest)))
    conn.execute(
        insert(table),
        [
            {"kind": kind, "key": key, "version": c.version, "data": c.data}
            for (kind, key), c in latest.items()
        ],
    )


def copied(conn: Connection, copy: RegistryCopy, kind: str, keys: Iterable[str]) -> dict[str, Any]:
    """The data of each of ``keys`` of ``kind`` that the node has a copy of."""
    found: dict[str, Any] = {}
    table = copy.data
    for batch in in_batches(sorted(set(keys))):
        query = select(table.c.key, table.c.data).where(
            table.c.kind == kind, table.c.key.in_(batch)
        )
        found.update({str(key): data for key, data in conn.execute(query)})
    return found


def summary(conn: Connection, copy: RegistryCopy) -> dict[str, dict[str, int]]:
    """How far each source's feed is applied, and how many copies the node holds by kind."""
    applied = conn.execute(select(copy.sync.c.source, copy.sync.c.version))
    data = copy.data
    counts = conn.execute(select(data.c.kind, func.count()).group_by(data.c.kind))
    return {
        "applied": {str(source): int(version) for source, version in applied},
        "copies": {str(kind): int(n) for kind, n in counts},
    }


def _keyed(table: Table, keys: Iterable[tuple[str, str]]) -> Any:
    by_kind: dict[str, list[str]] = {}
    for kind, key in keys:
        by_kind.setdefault(kind, []).append(key)
    return or_(
        *(and_(table.c.kind == kind, table.c.key.in_(group)) for kind, group in by_kind.items())
    )
