"""Validation of the chain (追溯数据校验): every rule of vaxtrace.core.validation over what this
node was told, in full on demand or on what arrived since the last run; each finding kept
once (a repeat finds nothing new) and journaled, so that ``verify`` can rebuild them.

The rules read in one snapshot (reads never hold up the exchange's writes); the run, its new
findings and their alerts are written after, in one short transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from vaxtrace.core.supervision import area_prefix
from vaxtrace.core.validation.caught import finding_of
from vaxtrace.core.validation.findings import RuleFinding
from vaxtrace.core.validation.rules import LATE_REPORT_HOURS, RULES
from vaxtrace.roles.supervision.service import alerts
from vaxtrace.store.engine import Engine, read_tx, write_tx
from vaxtrace.store.supervision import validation as store

FULL = "full"
INCREMENTAL = "incremental"


def run_validation(
    engine: Engine,
    *,
    full: bool,
    late_report_hours: float = LATE_REPORT_HOURS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Apply every rule in full, or to the steps received since the last run (and the codes
    and batches they concern); keep the findings not kept before. Answers the run's figures
    and its new findings (``new``, for the alerts)."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    found: list[RuleFinding] = []
    with read_tx(engine) as conn:
        through = store.last_step_id(conn)
        after = 0 if full else store.last_validated(conn)
        served = store.regulated_divisions(conn)
        areas = tuple(area_prefix(d) for d in served) if served else ("",)
        scope = store.Scope(after=after, through=through, full=full, areas=areas)
        if not full and after >= through:
            return _answer(INCREMENTAL, scope, 0, [], clock)
        codes = store.codes_in(conn, scope)
        for rule in RULES:
            if progress is not None:
                progress(rule.id)
            found.extend(
                finding_of(rule, step)
                for step in store.caught(conn, rule.id, scope, late_report_hours)
            )
    run = {
        "kind": FULL if full else INCREMENTAL,
        "after_step_id": after,
        "through_step_id": through,
        "codes": codes,
        "started_at": started,
    }
    with write_tx(engine) as conn:
        new = store.keep_findings(conn, run, _distinct(found))
        alerts.open_alerts(conn, new)
    return _answer(str(run["kind"]), scope, codes, new, clock)


def _distinct(found: list[RuleFinding]) -> list[RuleFinding]:
    """One finding per key (a code caught by a rule on several steps is one finding)."""
    return list({f.key: f for f in found}.values())


def _answer(
    kind: str, scope: store.Scope, codes: int, new: list[RuleFinding], clock: float
) -> dict[str, Any]:
    by_rule: dict[str, int] = {}
    for f in new:
        by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
    return {
        "kind": kind,
        "after_step_id": scope.after,
        "through_step_id": scope.through,
        "codes": codes,
        "found": len(new),
        "by_rule": by_rule,
        "seconds": round(time.perf_counter() - clock, 3),
        "new": new,
    }
