"""Basic data (基础数据) a connected system keeps from the platform's registry: a copy of every
organisation, connected system and product the platform registers, and how far its change feed
has been applied. Every role that pulls the feed (trace, immunization, supervision) has both
tables (:func:`registry_copy_tables`), which its store package hands to the feed as a
:class:`BasicDataStore`; what a role takes further into registers of its own (a province its
CDCs and sites, say: an :class:`OwnRegister`) is its rule, in
:mod:`vaxtrace.exchange.registry_feed`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
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

from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.store import columns as col
from vaxtrace.store.rows import held_keys, in_batches, put_rows, update_or_insert


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
        col.required("version", BigInteger),
    )
    data = Table(
        "basic_data",
        metadata,
        Column("kind", String(30), primary_key=True),
        Column("key", String(60), primary_key=True),
        col.required("version", BigInteger),
        col.required("data", JSON),
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


@dataclass(frozen=True)
class BasicDataStore:
    """A node's copy of the platform's registry as the change feed works on it (the functions
    of this module over one role's :class:`RegistryCopy`)."""

    copy: RegistryCopy

    def applied_version(self, conn: Connection, source: str) -> int:
        """The last feed version of ``source`` applied here (0 before the first)."""
        return applied_version(conn, self.copy, source)

    def save_version(self, conn: Connection, source: str, version: int) -> None:
        save_version(conn, self.copy, source, version)

    def copy_changes(self, conn: Connection, changes: Sequence[Change]) -> None:
        """Keep the latest of each (kind, key) among ``changes`` (see :func:`copy_changes`)."""
        copy_changes(conn, self.copy, changes)

    def copied(self, conn: Connection, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        """The data of each of ``keys`` of ``kind`` that the node has a copy of."""
        return copied(conn, self.copy, kind, keys)


def organisations_table(
    metadata: MetaData, name: str, *more: Column[Any], kinds: bool = True
) -> Table:
    """A role's table of the organisations its staff belong to (the register an
    :class:`OwnRegister` keeps, or a trace system's own): keyed by USCC, with their name,
    their kind unless ``kinds`` is false (a register of one kind), their division and
    ``more``."""
    kind = [col.required("kind", String(20))] if kinds else []
    return Table(
        name,
        metadata,
        col.uscc_key(),
        col.required("name", String(200)),
        *kind,
        col.division_code(),
        *more,
    )


@dataclass(frozen=True)
class OwnRegister:
    """A node's own register of the organisations it serves (a province's CDCs and sites, a
    supervision system's regulators): its table, the kinds it keeps, its row of one."""

    table: Table
    kinds: frozenset[OrgKind]
    row: Callable[[Organisation], dict[str, Any]]

    def put(self, conn: Connection, orgs: Iterable[Organisation]) -> None:
        """Keep the rows of ``orgs`` of a kind this register keeps as the registry says."""
        put_rows(conn, self.table, [self.row(o) for o in orgs if o.kind in self.kinds])

    def put_one(self, conn: Connection, org: Organisation) -> dict[str, Any]:
        """Add or update one organisation the node serves; its row as kept."""
        row = self.row(org)
        put_rows(conn, self.table, [row])
        return row

    def held(self, conn: Connection, usccs: Collection[str]) -> set[str]:
        return held_keys(conn, self.table, usccs)


def _keyed(table: Table, keys: Iterable[tuple[str, str]]) -> Any:
    by_kind: dict[str, list[str]] = {}
    for kind, key in keys:
        by_kind.setdefault(kind, []).append(key)
    return or_(
        *(and_(table.c.kind == kind, table.c.key.in_(group)) for kind, group in by_kind.items())
    )
