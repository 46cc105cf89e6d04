"""Basic data (基础数据) a connected system keeps from the platform's registry: a copy of every
organisation, connected system and product the platform registers, and how far its change feed
has been applied. Every role that pulls the feed (trace, immunization, supervision) has both
tables (:func:`mirror_tables`); what a role takes further into registers of its own (a
province its CDCs and sites, say) is its rule, in :mod:`vaxtrace.exchange.basic_data`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    update,
)


@dataclass(frozen=True)
class MirrorTables:
    sync: Table
    """``registry_sync``: the last feed version applied, per source (platform base URL)."""
    data: Table
    """``basic_data``: the latest of each registered thing, by kind and key."""


def mirror_tables(metadata: MetaData) -> MirrorTables:
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
    return MirrorTables(sync, data)


def applied_version(conn: Connection, tables: MirrorTables, source: str) -> int:
    query = select(tables.sync.c.version).where(tables.sync.c.source == source)
    found = conn.execute(query).scalar_one_or_none()
    return 0 if found is None else int(found)


def save_version(conn: Connection, tables: MirrorTables, source: str, version: int) -> None:
    where = tables.sync.c.source == source
    if conn.execute(update(tables.sync).where(where).values(version=version)).rowcount == 0:
        conn.execute(insert(tables.sync).values(source=source, version=version))


def copy_changes(
    conn: Connection, tables: MirrorTables, changes: Sequence[Mapping[str, Any]]
) -> None:
    """Keep the latest of each (kind, key) among ``changes`` (feed entries, oldest first):
    the rows they replace are deleted and the newest written, two statements a page."""
    latest = {(c["kind"], c["key"]): c for c in changes}
    if not latest:
        return
    table = tables.data
    conn.execute(delete(table).where(_keyed(table, latest)))
    conn.execute(
        insert(table),
        [
            {"kind": kind, "key": key, "version": int(c["version"]), "data": c["data"]}
            for (kind, key), c in latest.items()
        ],
    )


def copied(
    conn: Connection, tables: MirrorTables, kind: str, keys: Iterable[str]
) -> dict[str, Any]:
    """The data of each of ``keys`` of ``kind`` that the node has a copy of."""
    wanted = sorted(set(keys))
    found: dict[str, Any] = {}
    table = tables.data
    for start in range(0, len(wanted), 500):
        query = select(table.c.key, table.c.data).where(
            table.c.kind == kind, table.c.key.in_(wanted[start : start + 500])
        )
        found.update({str(key): data for key, data in conn.execute(query)})
    return found


def summary(conn: Connection, tables: MirrorTables) -> dict[str, dict[str, int]]:
    """How far each source's feed is applied, and how many copies the node holds by kind."""
    applied = conn.execute(select(tables.sync.c.source, tables.sync.c.version))
    data = tables.data
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
