"""Address resolution (地址解析): which trace system holds a code, and the public query entry
(公众查询) that asks that system for the code's consumer view."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread

from vaxtrace.core import codes as codes_
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.exchange.public_client import AskOwner
from vaxtrace.roles.platform.service.coding_rules import entry_covering
from vaxtrace.store.engine import Connection, Engine, read_tx
from vaxtrace.store.platform import registry


def resolve(engine: Engine, text: str) -> dict[str, Any]:
    """Which trace system holds this code (any family, typed, scanned or a Digital Link)."""
    code = codes_.parse_field(text, "code")
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
        "code": code.value,
        "family": code.family.value,
        "identification_code": code.identification_code,
        "mah_uscc": row["mah_uscc"],
        "system_id": row["system_id"],
        "endpoint": found["data"]["endpoint"],
    }


async def public_query(engine: Engine, text: str, ask: AskOwner, wait: float) -> dict[str, Any]:
    """A code as typed, scanned or a Digital Link → the owning trace system's consumer view
    (product, MAH, batch, expiry, lot release, status; no personal data).

    Async: the owner is awaited with no worker thread held (in one process the trace role
    needs one to answer); only the resolution, a read, runs in one, once one is free
    within ``wait`` seconds (else 503 ``busy``)."""
    try:
        with anyio.fail_after(wait):
            where = await anyio.to_thread.run_sync(resolve, engine, text)
    except TimeoutError as exc:
        raise DomainError(
            Reason.BUSY, f"no worker free for a public query within {wait:g} s; try again shortly"
        ) from exc
    view = await ask(where["endpoint"], where["code"])
    return {"resolved": {k: where[k] for k in ("system_id", "mah_uscc", "family")}} | view


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
