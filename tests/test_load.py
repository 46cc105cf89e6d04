"""The bounded load suite: ``vaxtrace serve --role all`` on the demo's data, each route class
driven by 64 and then 256 connections for ``VAXTRACE_LOAD_SECONDS`` (a few seconds here;
``bench/load.py`` runs the full minute): no answer but the documented ones (429 / 503 are
"not now"), no transport failure, every route answers at once after each run, and the
server's memory stays flat."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from vaxtrace.sim.load import LoadDemo, drive, resident_mib, route_classes, start_demo

SECONDS = float(os.environ.get("VAXTRACE_LOAD_SECONDS", "3"))
CONNECTIONS = (64, 256)
NOT_NOW = {429, 503}
GROWTH_MIB = 150.0
"""How much the server's memory may grow over the whole suite (caches filling, the pool)."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadDemo]:
    running = start_demo(tmp_path_factory.mktemp("load"))
    try:
        yield running
    finally:
        running.node.stop()


def _answers_at_once(d: LoadDemo) -> None:
    """After a run, every route class answers a single request within a few seconds."""
    with httpx.Client(base_url=d.base, timeout=5) as client:
        for name, (make, allowed) in route_classes(d).items():
            method, path, headers, body = make(10**9)
            answer = client.request(method, path, headers=headers, json=body)
            assert answer.status_code in allowed, f"{name} after the load: {answer.status_code}"


@pytest.mark.parametrize("connections", CONNECTIONS)
def test_every_route_class_holds_under_load(demo: LoadDemo, connections: int) -> None:
    before = resident_mib(demo.node.pid)
    lines = []
    for name, (make, allowed) in route_classes(demo).items():
        run = drive(demo.base, f"{name}", make, seconds=SECONDS, connections=connections)
        lines.append(run.line())
        assert run.answered > 0, run.line()
        assert not run.unexpected(allowed | NOT_NOW), run.line()
        _answers_at_once(demo)
    grown = resident_mib(demo.node.pid) - before
    print("\n".join(lines), f"\nmemory grew {grown:.0f} MiB")
    assert grown < GROWTH_MIB, f"memory grew {grown:.0f} MiB under load"
