"""Following the platform's basic-data change feed (基础数据同步): every connected system pulls
the changes after the last one it applied, keeps a copy of each (so all nodes' basic data
converge on the platform's registry), and takes into registers of its own what its role
needs. The rule of what to take is the role's:

- a trace system takes every organisation (any CDC may be a consignee);
- a provincial immunization system and a supervision system take the organisations their
  system represents at the platform (the province's CDCs and sites, the regulators), and later
  changes of any organisation they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from vaxtrace.core.datasets import Organisation
from vaxtrace.store.basic_data import (
    MirrorTables,
    applied_version,
    copied,
    copy_changes,
    save_version,
)
from vaxtrace.store.engine import read_tx, write_tx

Fetch = Callable[[int], dict[str, Any]]
"""The platform's ``/registry/changes?since=N`` answer."""

ORGANISATION = "organisation"
SYSTEM = "system"
PRODUCT = "product"
"""Kinds of entry in the feed."""


@dataclass(frozen=True)
class Change:
    version: int
    kind: str
    key: str
    data: dict[str, Any]


TakeChanges = Callable[[Connection, MirrorTables, Sequence[Change]], None]
"""A role's rule: given a page of changes (already copied), update its own registers."""

PutOrganisations = Callable[[Connection, list[Organisation]], object]
"""A role's register taking organisations as the registry says them."""
HeldOrganisations = Callable[[Connection, Collection[str]], set[str]]
"""Which of these organisations a node holds in its own register."""


def sync_registry(
    engine: Engine, tables: MirrorTables, source: str, fetch: Fetch, take: TakeChanges
) -> dict[str, Any]:
    """Pull and apply every change after the last one applied, page by page; each page is
    copied, taken and its version saved in one transaction, so a crash resumes where it
    stopped and a page is never half applied."""
    applied = 0
    while True:
        with read_tx(engine) as conn:
            since = applied_version(conn, tables, source)
        page = fetch(since)["changes"]
        if not page:
            return {"source": source, "version": since, "applied": applied}
        changes = [Change(int(c["version"]), c["kind"], c["key"], c["data"]) for c in page]
        with write_tx(engine) as conn:
            copy_changes(conn, tables, page)
            take(conn, tables, changes)
            save_version(conn, tables, source, changes[-1].version)
        applied += len(changes)


def every_organisation(put: PutOrganisations) -> TakeChanges:
    """The trace system's rule: every organisation, as it changes."""

    def take(conn: Connection, _tables: MirrorTables, changes: Sequence[Change]) -> None:
        latest = {c.key: c.data for c in changes if c.kind == ORGANISATION}
        put(conn, [Organisation.model_validate(data) for data in latest.values()])

    return take


def represented_organisations(
    system_id: str, put: PutOrganisations, held: HeldOrganisations
) -> TakeChanges:
    """The rule of a province's or a regulator's system ``system_id``: the organisations it
    represents at the platform (all of them when its own record changes: the platform
    registers organisations before a system may name them, so they were copied on an earlier
    page or this one), and every change of an organisation it holds."""

    def take(conn: Connection, tables: MirrorTables, changes: Sequence[Change]) -> None:
        own = copied(conn, tables, SYSTEM, [system_id]).get(system_id)
        represents = set(own["represents"]) if own else set()
        changed = {c.key for c in changes if c.kind == ORGANISATION}
        wanted = (changed & represents) | held(conn, changed - represents)
        if any(c.kind == SYSTEM and c.key == system_id for c in changes):
            wanted |= represents
        found = copied(conn, tables, ORGANISATION, wanted).values()
        put(conn, [Organisation.model_validate(data) for data in found])

    return take
