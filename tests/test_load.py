"""The bounded load suite, over two layouts: ``vaxtrace serve --role all`` on the demo's data,
and separate nodes (platform, a MAH's trace node, a province node: each its own process over
mutual TLS). Each route class is driven by 64 and then 256 connections for
``VAXTRACE_LOAD_SECONDS`` (a few seconds here; ``bench/load.py`` runs the full minute): no
answer but the documented ones (429 / 503 are "not now"), no wrong body, no transport failure,
no connection left without an answer; every route and every node's /health answer at once
after each run, and each node's memory stays flat (:func:`memory_flat`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from vaxtrace.sim.load import (
    NOT_NOW,
    Layout,
    answers_at_once,
    drive,
    memory_flat,
    start_all,
    start_separate,
)

SECONDS = float(os.environ.get("VAXTRACE_LOAD_SECONDS", "3"))
CONNECTIONS = (64, 256)


STARTS = {"role all": start_all, "separate nodes": start_separate}
SEPARATE_CLASSES = ["public query", "staff write", "receipt scan", "dose-check", "exchange post"]
"""Over separate nodes: public queries at the platform (which asks the MAH's trace node),
staff writes, receipt scans and dose-checks at the province, exchange posts of envelopes the
platform took already (each a duplicate) — all over mutual TLS."""


@pytest.fixture(scope="module", params=list(STARTS))
def layout(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Layout]:
    started = STARTS[request.param](tmp_path_factory.mktemp("load"))
    try:
        yield started
    finally:
        started.stop()


def _every_class_holds(layout: Layout, connections: int) -> None:
    before = layout.memory()
    lines = []
    for route in layout.classes:
        run = drive(route, seconds=SECONDS, connections=connections)
        lines.append(run.line())
        assert run.answered > 0, run.line()
        assert not run.unexpected(route.allowed | NOT_NOW), run.line()
        after = {r.name: answers_at_once(r) for r in layout.classes}
        assert all(s in r.allowed for r, s in zip(layout.classes, after.values(), strict=True)), (
            f"after {route.name}: {after}"
        )
        assert set(layout.health().values()) == {200}, f"after {route.name}: {layout.health()}"
    grown = layout.memory()
    print("\n".join(lines), f"\nmemory {before} → {grown} MiB")
    for node, mib in grown.items():
        assert memory_flat(before[node], mib), f"{node}: {before[node]:.0f} → {mib:.0f} MiB"


@pytest.mark.parametrize("connections", CONNECTIONS)
def test_every_route_class_holds_under_load(layout: Layout, connections: int) -> None:
    if layout.name == "separate nodes":
        assert [r.name for r in layout.classes] == SEPARATE_CLASSES
    _every_class_holds(layout, connections)
