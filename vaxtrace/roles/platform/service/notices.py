"""召回公告 at the public entry: the recall notices supervision systems sent, listed for the
public, and the ones of a code's batch added to the code's public view.

A code's public view is the platform's busiest answer: the noticed batches are kept in memory
per platform database for :data:`KEPT_SECONDS` and read again (in a worker thread, within the
public query's wait) only when that is over, so a parent's scan reads no table for them."""

from __future__ import annotations

import time
import weakref
from typing import Any

import anyio
import anyio.to_thread

from vaxtrace.core.times import as_stored
from vaxtrace.store.engine import Engine, RowMapping, read_tx
from vaxtrace.store.platform import recall_notices as store

MAX_NOTICES = 1000
"""Notices one page of the public list answers at most."""

KEPT_SECONDS = 1.0
"""How long the noticed batches are kept before they are read again."""

KEPT_BATCHES = 100_000
"""Noticed batches kept at most (recalls are rare: the latest started first)."""

_Batches = dict[tuple[str, str], list[dict[str, Any]]]
_kept: weakref.WeakKeyDictionary[Engine, tuple[float, _Batches]] = weakref.WeakKeyDictionary()


def recall_notices(engine: Engine, *, state: str | None, limit: int) -> dict[str, Any]:
    """The public recall notices, the latest started first."""
    with read_tx(engine) as conn:
        rows = store.notices(conn, state=state, limit=min(max(limit, 1), MAX_NOTICES))
    return {"recalls": [_notice(r) for r in rows]}


async def notices_of_batch(
    engine: Engine, mah_uscc: str, batch_no: str | None, wait: float
) -> list[dict[str, Any]]:
    """The notices naming a MAH's batch, from the batches kept (read again once they are
    older than :data:`KEPT_SECONDS`; if no worker is free within ``wait``, the older ones
    answer)."""
    if batch_no is None:
        return []
    kept = _kept.get(engine)
    if kept is None or kept[0] <= time.monotonic():
        try:
            with anyio.fail_after(wait):
                batches = await anyio.to_thread.run_sync(_read_batches, engine)
            kept = (time.monotonic() + KEPT_SECONDS, batches)
            _kept[engine] = kept
        except TimeoutError:
            if kept is None:
                return []
    return kept[1].get((mah_uscc, batch_no), [])


def _read_batches(engine: Engine) -> _Batches:
    batches: _Batches = {}
    with read_tx(engine) as conn:
        for row in store.notices_by_batch(conn, KEPT_BATCHES):
            batches.setdefault((row["mah_uscc"], row["batch_no"]), []).append(
                {
                    "recall_no": row["recall_no"],
                    "level": int(row["level"]),
                    "state": row["state"],
                    "started_at": as_stored(row["started_at"]).isoformat(),
                    "closed_at": _moment(row["closed_at"]),
                }
            )
    return batches


def _moment(value: Any) -> str | None:
    return None if value is None else as_stored(value).isoformat()


def _notice(row: RowMapping) -> dict[str, Any]:
    return {
        "mah_uscc": row["mah_uscc"],
        "recall_no": row["recall_no"],
        "level": int(row["level"]),
        "batch_nos": list(row["batch_nos"]),
        "reason": row["reason"],
        "ordered": bool(row["ordered"]),
        "started_at": as_stored(row["started_at"]).isoformat(),
        "state": row["state"],
        "closed_at": _moment(row["closed_at"]),
        "published_by": row["published_by"],
    }
