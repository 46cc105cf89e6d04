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

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.registry import FeedKind
from vaxtrace.store.basic_data import BasicDataStore, Change, OwnRegister
from vaxtrace.store.engine import read_tx, write_tx

Fetch = Callable[[int], dict[str, Any]]
"""The platform's ``/registry/changes?since=N`` answer."""

TakeChanges = Callable[[Connection, BasicDataStore, Sequence[Change]], None]
"""A role's rule: given a page of changes (already copied), update its own registers."""


def follow_registry(
    engine: Engine, copy: BasicDataStore, source: str, fetch: Fetch, take: TakeChanges
) -> dict[str, Any]:
    """Pull and apply every change after the last one applied, page by page; each page is
    copied, taken and its version saved in one transaction, so a crash resumes where it
    stopped and a page is never half applied."""
    applied = 0
    while True:
        with read_tx(engine) as conn:
            since = copy.applied_version(conn, source)
        page = fetch(since)["changes"]
        if not page:
            return {"source": source, "version": since, "applied": applied}
        changes = [Change(int(c["version"]), c["kind"], c["key"], c["data"]) for c in page]
        with write_tx(engine) as conn:
            copy.copy_changes(conn, changes)
            take(conn, copy, changes)
            copy.save_version(conn, source, max(c.version for c in changes))
        applied += len(changes)


def every_organisation(put: Callable[[Connection, list[Organisation]], object]) -> TakeChanges:
    """The trace system's rule: every organisation, as it changes."""

    def take(conn: Connection, _copy: BasicDataStore, changes: Sequence[Change]) -> None:
        latest = {c.key: c.data for c in changes if c.kind == FeedKind.ORGANISATION}
        put(conn, [Organisation.model_validate(data) for data in latest.values()])

    return take


def represented_organisations(system_id: str, register: OwnRegister) -> TakeChanges:
    """The rule of a province's or a regulator's system ``system_id``: the organisations that
    run it or that it represents at the platform (all of them when its own record changes:
    the platform registers organisations before a system may name them, so they were copied
    on an earlier page or this one), and every change of an organisation it holds."""

    def take(conn: Connection, copy: BasicDataStore, changes: Sequence[Change]) -> None:
        own = copy.copied(conn, FeedKind.SYSTEM, [system_id]).get(system_id)
        served = {own["operator_uscc"], *own["represents"]} if own else set()
        changed = {c.key for c in changes if c.kind == FeedKind.ORGANISATION}
        wanted = (changed & served) | register.held(conn, changed - served)
        if any(c.kind == FeedKind.SYSTEM and c.key == system_id for c in changes):
            wanted |= served
        found = copy.copied(conn, FeedKind.ORGANISATION, wanted).values()
        register.put(conn, [Organisation.model_validate(data) for data in found])

    return take
