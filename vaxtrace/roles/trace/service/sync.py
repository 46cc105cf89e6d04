"""Basic data from the platform: apply its change feed so this node's registry converges."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from vaxtrace.core.datasets import Organisation
from vaxtrace.roles.trace.service.registry import put_organisation
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.trace.schema import registry_sync

Fetch = Callable[[int], dict[str, Any]]
"""The platform's ``/registry/changes?since=N`` answer."""


def _version(conn: Connection, source: str) -> int:
    query = select(registry_sync.c.version).where(registry_sync.c.source == source)
    found = conn.execute(query).scalar_one_or_none()
    return 0 if found is None else int(found)


def _save_version(conn: Connection, source: str, version: int) -> None:
    if conn.execute(select(registry_sync).where(registry_sync.c.source == source)).first():
        conn.execute(
            registry_sync.update().where(registry_sync.c.source == source).values(version=version)
        )
    else:
        conn.execute(insert(registry_sync).values(source=source, version=version))


def sync_registry(engine: Engine, source: str, fetch: Fetch) -> dict[str, Any]:
    """Pull and apply every change after the last one applied, page by page; each page is
    applied with its version in one transaction, so a crash resumes where it stopped."""
    applied = 0
    while True:
        with read_tx(engine) as conn:
            since = _version(conn, source)
        changes = fetch(since)["changes"]
        if not changes:
            return {"source": source, "version": since, "applied": applied}
        with write_tx(engine) as conn:
            for change in changes:
                if change["kind"] == "organisation":
                    put_organisation(conn, Organisation.model_validate(change["data"]))
            _save_version(conn, source, int(changes[-1]["version"]))
        applied += len(changes)
