"""The bounded load suite: ``vaxtrace serve --role all`` on the demo's data, each route class
driven by 64 and then 256 connections for ``VAXTRACE_LOAD_SECONDS`` (a few seconds here;
``bench/load.py`` runs the full minute): no answer but the documented ones (429 / 503 are
"not now"), no transport failure, every route answers at once after each run, and the
server's memory stays flat."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.node import immunization_service
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import provincial_cdc, vaccination_sites
from vaxtrace.sim.federation import NodeProcess
from vaxtrace.sim.load import Request, drive, resident_mib

SECONDS = float(os.environ.get("VAXTRACE_LOAD_SECONDS", "3"))
CONNECTIONS = (64, 256)
NOT_NOW = {429, 503}
GROWTH_MIB = 150.0
"""How much the server's memory may grow over the whole suite (caches filling, the pool)."""


@dataclass(frozen=True)
class Demo:
    node: NodeProcess
    base: str
    codes: list[str]
    mah: dict[str, str]
    cdc: dict[str, str]
    site: dict[str, str]
    note_no: str
    note_codes: list[str]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("load")
    made = CliRunner().invoke(
        app, ["demo", "--no-serve", "--units", "6000", "--data-dir", str(folder)]
    )
    assert made.exit_code == 0, made.output
    info = json.loads((folder / "demo.json").read_text())
    province = immunization_service(Settings(data_dir=folder), local=True)
    cdc, site = provincial_cdc().uscc, vaccination_sites()[0].uscc
    tokens = {org: province.issue_token(org, "load") for org in (cdc, site)}
    note = next(n for n in province.expected(cdc) if not n["closed"])
    province.engine.dispose()
    node = NodeProcess({"VAXTRACE_DATA_DIR": str(folder)})
    base = node.start()
    try:
        yield Demo(
            node,
            base,
            list(info["codes"]),
            _bearer(next(iter(info["tokens"].values()))),
            _bearer(tokens[cdc]),
            _bearer(tokens[site]),
            note["note_no"],
            list(note["codes"]),
        )
    finally:
        node.stop()


def _fridge_record() -> dict[str, Any]:
    """A new record of a new fridge each time."""
    now, fridge = datetime.now(UTC), uuid.uuid4().hex
    return {
        "client_document_id": f"load-{fridge}",
        "equipment_id": f"FRIDGE-{fridge}",
        "kind": "storage",
        "product_class": "freeze_sensitive_2_8",
        "readings": [
            {"time": (now - timedelta(minutes=30 - 10 * i)).isoformat(), "celsius": 5.0}
            for i in range(3)
        ],
    }


def _classes(d: Demo) -> dict[str, tuple[Callable[[int], Request], set[int]]]:
    """Each route class: its request, and the statuses it may answer besides "not now"."""
    code = d.codes[0]
    scans = f"/immunization/v1/receipts/{d.note_no}/scans"
    public = f"/platform/v1/public/codes?code={code}"
    checks = "/immunization/v1/dose-checks"
    return {
        "public query": (lambda n: ("GET", public, {}, None), {200}),
        "trace query": (lambda n: ("GET", f"/trace/v1/codes?code={code}", d.mah, None), {200}),
        "staff write": (
            lambda n: ("POST", "/immunization/v1/temperature-records", d.cdc, _fridge_record()),
            {201},
        ),
        "receipt scan": (
            lambda n: ("POST", scans, d.cdc, {"code": d.note_codes[n % len(d.note_codes)]}),
            {200, 201},
        ),
        "dose-check": (
            lambda n: ("POST", checks, d.site, {"code": d.codes[n % len(d.codes)]}),
            {200},
        ),
    }


def _answers_at_once(d: Demo) -> None:
    """After a run, every route class answers a single request within a few seconds."""
    with httpx.Client(base_url=d.base, timeout=5) as client:
        for name, (make, allowed) in _classes(d).items():
            method, path, headers, body = make(10**9)
            answer = client.request(method, path, headers=headers, json=body)
            assert answer.status_code in allowed, f"{name} after the load: {answer.status_code}"


@pytest.mark.parametrize("connections", CONNECTIONS)
def test_every_route_class_holds_under_load(demo: Demo, connections: int) -> None:
    before = resident_mib(demo.node.pid)
    lines = []
    for name, (make, allowed) in _classes(demo).items():
        run = drive(demo.base, f"{name}", make, seconds=SECONDS, connections=connections)
        lines.append(run.line())
        assert run.answered > 0, run.line()
        assert not run.unexpected(allowed | NOT_NOW), run.line()
        _answers_at_once(demo)
    grown = resident_mib(demo.node.pid) - before
    print("\n".join(lines), f"\nmemory grew {grown:.0f} MiB")
    assert grown < GROWTH_MIB, f"memory grew {grown:.0f} MiB under load"
