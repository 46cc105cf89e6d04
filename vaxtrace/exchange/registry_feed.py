"""Following the platform's basic-data change feed (基础数据同步): every connected system pulls
the changes after the last one it applied, keeps a copy of each (so all nodes' basic data
converge on the platform's registry), and takes into registers of its own what its role
needs. The rule of what to take is the role's:

- a trace system takes every organisation (any CDC may be a consignee);
- a provincial immunization system and a supervision system take the organisations that run
  their system or that it represents at the platform (the province's CDCs and sites, the
  regulators), and later changes of any organisation they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table

from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.registry import FeedKind
from vaxtrace.store.basic_data import (
    Change,
    RegistryCopy,
    applied_version,
    copied,
    copy_changes,
    save_version,
)
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.rows import held_keys, put_rows

Fetch = Callable[[int], dict[str, Any]]
"""The platform's ``/registry/changes?since=N`` answer."""

TakeChanges = Callable[[Connection, RegistryCopy, Sequence[Change]], None]
"""A role's rule: given a page of changes (already copied), update its own registers."""


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

    def held(self, conn: Connection, usccs: Collection[str]) -> set[str]:
        return held_keys(conn, self.table, usccs)


def follow_registry(
    engine: Engine, copy: RegistryCopy, source: str, fetch: Fetch, take: TakeChanges
) -> dict[str, Any]:
    """Pull and apply every change after the last one applied, page by page; each page is
    copied, taken and its version saved in one transaction, so a crash resumes where it
    stopped and a page is never half applied."""
    applied = 0
    while True:
        with read_tx(engine) as conn:
            since = applied_version(conn, copy, source)
        page = fetch(since)["changes"]
        if not page:
            return {"source": source, "version": since, "applied": applied}
        changes = [Change(int(c["version"]), c["kind"], c["key"], c["data"]) for c in page]
        with write_tx(engine) as conn:
            copy_changes(conn, copy, changes)
            take(conn, copy, changes)
            save_version(conn, copy, source, max(c.version for c in changes))
        applied += len(changes)


def every_organisation(put: Callable[[Connection, list[Organisation]], object]) -> TakeChanges:
    """The trace system's rule: every organisation, as it changes."""

    def take(conn: Connection, _copy: RegistryCopy, changes: Sequence[Change]) -> None:
        latest = {c.key: c.data for c in changes if c.kind == FeedKind.ORGANISATION}
        put(conn, [Organisation.model_validate(data) for data in latest.values()])

    return take


def represented_organisations(system_id: str, register: OwnRegister) -> TakeChanges:
    """The rule of a province's or a regulator's system ``system_id``: the organisations that
    run it or that it represents at the platform (all of them when its own record changes:
    the platform registers organisations before a system may name them, so they were copied
    on an earlier page or this one), and every change of an organisation it holds."""

    def take(conn: Connection, copy: RegistryCopy, changes: Sequence[Change]) -> None:
        own = copied(conn, copy, FeedKind.SYSTEM, [system_id]).get(system_id)
        served = {own["operator_uscc"], *own["represents"]} if own else set()
        changed = {c.key for c in changes if c.kind == FeedKind.ORGANISATION}
        wanted = (changed & served) | register.held(conn, changed - served)
        if any(c.kind == FeedKind.SYSTEM and c.key == system_id for c in changes):
            wanted |= served
        found = copied(conn, copy, FeedKind.ORGANISATION, wanted).values()
        register.put(conn, [Organisation.model_validate(data) for data in found])

    return take
