"""Address resolution (地址解析): which trace system holds a code, and the public query entry
(公众查询) that asks that system for the code's consumer view.

The public query keeps where each identification code resolved for :data:`KEPT_SECONDS` (per
platform database): a parent's scan then needs no worker thread and no read of the registry.
A coding rule or a trace system's endpoint changed reaches the public queries within that
second; a code no rule covers is looked up every time (never kept). What the trace system
says of the code itself (its status: locked, recalled…) is asked every time."""

from __future__ import annotations

import time
import weakref
from typing import Any

import anyio
import anyio.to_thread

from vaxtrace.core import codes as codes_
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.exchange.public_client import AskOwner
from vaxtrace.roles.platform.service.coding_rules import entry_covering
from vaxtrace.roles.platform.service.notices import notices_of_batch
from vaxtrace.store.engine import Connection, Engine, read_tx
from vaxtrace.store.platform import registry


def resolve(engine: Engine, text: str) -> dict[str, Any]:
    """Which trace system holds this code (any family, typed, scanned or a Digital Link)."""
    code = codes_.parse_field(text, "code")
    return {
        "code": code.value,
        "family": code.family.value,
        "identification_code": code.identification_code,
    } | _owner_of(engine, code)


def _owner_of(engine: Engine, code: codes_.TraceCode) -> dict[str, Any]:
    """The MAH, trace system and its endpoint for ``code``; refused when no rule covers it."""
    with read_tx(engine) as conn:
        row = entry_covering(
            conn, code.identification_code, gs1=code.family is codes_.CodeFamily.GS1
        )
        if row is None:
            raise DomainError(
                Reason.NO_RULE,
                f"no registered coding rule covers {code.identification_code}",
                field="code",
            )
        found = registry.find_system(conn, row["system_id"])
    assert found is not None
    return {
        "mah_uscc": row["mah_uscc"],
        "system_id": row["system_id"],
        "endpoint": found["data"]["endpoint"],
    }


KEPT_SECONDS = 1.0
"""How long the public query keeps where an identification code resolved (see the module)."""

KEPT_CODES = 10_000
"""Identification codes kept at most (all are forgotten when more would be)."""

_kept: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str], tuple[float, dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


def _kept_owner(engine: Engine, code: codes_.TraceCode) -> dict[str, Any] | None:
    found = _kept.get(engine, {}).get((code.identification_code, code.family.value))
    if found is None or found[0] <= time.monotonic():
        return None
    return found[1]


def _keep_owner(engine: Engine, code: codes_.TraceCode, owner: dict[str, Any]) -> None:
    kept = _kept.setdefault(engine, {})
    if len(kept) >= KEPT_CODES:
        kept.clear()
    key = (code.identification_code, code.family.value)
    kept[key] = (time.monotonic() + KEPT_SECONDS, owner)


async def public_query(engine: Engine, text: str, ask: AskOwner, wait: float) -> dict[str, Any]:
    """A code as typed, scanned or a Digital Link → the owning trace system's consumer view
    (product, MAH, batch, expiry, lot release, status; no personal data), with the public
    recall notices of its batch (``recall_notices``) when there are any.

    Async: the owner is awaited with no worker thread held (in one process the trace role
    needs one to answer). Where the code resolves is kept a second (see the module); else
    the resolution, a read, runs in a worker thread once one is free within ``wait`` seconds
    (else 503 ``busy``)."""
    code = codes_.parse_field(text, "code")
    owner = _kept_owner(engine, code)
    if owner is None:
        try:
            with anyio.fail_after(wait):
                owner = await anyio.to_thread.run_sync(_owner_of, engine, code)
        except TimeoutError as exc:
            raise DomainError(
                Reason.BUSY,
                f"no worker free for a public query within {wait:g} s; try again shortly",
            ) from exc
        _keep_owner(engine, code, owner)
    view = await ask(owner["endpoint"], code.value)
    resolved = {
        "system_id": owner["system_id"],
        "mah_uscc": owner["mah_uscc"],
        "family": code.family.value,
    }
    recalled = await notices_of_batch(engine, owner["mah_uscc"], view.get("batch_no"), wait)
    return {"resolved": resolved} | view | ({"recall_notices": recalled} if recalled else {})


def owners(conn: Connection, texts: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """Each code with the trace system holding it (None where no rule covers it);
    resolved once per identification code."""
    systems: dict[str, str | None] = {}
    answer: list[tuple[str, str | None]] = []
    for text in texts:
        try:
            code = codes_.parse_code(text)
        except codes_.CodeError:
            answer.append((text, None))
            continue
        key = code.identification_code
        if key not in systems:
            row = entry_covering(
                conn, code.identification_code, gs1=code.family is codes_.CodeFamily.GS1
            )
            systems[key] = None if row is None else str(row["system_id"])
        answer.append((text, systems[key]))
    return answer
