"""Never stall: ``vaxtrace serve --role all`` under a burst of public queries (which cross from
the platform to the trace role in-process) and receipt scans keeps answering every route.

Measured before the fix: 64 concurrent public queries held every worker thread of the server,
each waiting for the trace role, which needed a worker thread to answer; no route answered
again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.node import immunization_service
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import provincial_cdc
from vaxtrace.sim.federation import serve_node

BURST = 200
"""Concurrent requests of each kind."""

BURST_SECONDS = 60.0
"""How long a request of the burst may take at most (the server answers or says busy)."""

AFTER_SECONDS = 5.0
"""How soon every route answers once the burst is over."""


@dataclass(frozen=True)
class Served:
    base: str
    code: str
    """A sample code of the demo (the public query asks its owner for it)."""
    mah_token: str
    cdc_token: str
    note_no: str
    """A shipping note to the CDC still open for scanning, and its codes."""
    note_codes: list[str]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--units", "6000", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "demo.json").read_text())
    province = immunization_service(Settings(data_dir=tmp_path), local=True)
    cdc = provincial_cdc().uscc
    cdc_token = province.issue_token(cdc, "never-stall")
    note = next(n for n in province.expected(cdc) if not n["closed"])
    province.engine.dispose()
    with serve_node({"VAXTRACE_DATA_DIR": str(tmp_path)}) as base:
        yield Served(
            base,
            info["codes"][0],
            next(iter(info["tokens"].values())),
            cdc_token,
            note["note_no"],
            list(note["codes"]),
        )


async def _answer(request: Awaitable[httpx.Response]) -> int | str:
    """The status of a request of the burst, or what went wrong on the way."""
    try:
        response = await request
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError as exc:
        return type(exc).__name__
    if response.status_code == 503:
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


async def _burst(s: Served) -> tuple[list[int | str], list[int | str]]:
    """BURST public queries and BURST receipt scans, interleaved, all at once."""
    limits = httpx.Limits(max_connections=2 * BURST, max_keepalive_connections=0)
    scan_path = f"/immunization/v1/receipts/{s.note_no}/scans"
    auth = {"Authorization": f"Bearer {s.cdc_token}"}
    async with httpx.AsyncClient(base_url=s.base, timeout=BURST_SECONDS, limits=limits) as client:
        public, scans = [], []
        for n in range(BURST):
            public.append(_answer(client.get("/platform/v1/public/codes", params={"code": s.code})))
            code = s.note_codes[n % len(s.note_codes)]
            scans.append(_answer(client.post(scan_path, json={"code": code}, headers=auth)))
        answers = await asyncio.gather(*public, *scans)
    return list(answers[:BURST]), list(answers[BURST:])


def test_every_route_answers_after_a_burst(served: Served) -> None:
    public, scans = asyncio.run(_burst(served))
    # every request of the burst was answered: done, or a problem saying "not now"
    assert all(a in (200, 503) for a in public), sorted(set(map(str, public)))
    assert public.count(200) > 0
    assert all(a in (200, 201) for a in scans), sorted(set(map(str, scans)))
    # and the server answers every kind of route at once after it
    checks = {
        "health": ("GET", "/health", {}, None, None),
        "public query": ("GET", "/platform/v1/public/codes", {"code": served.code}, None, None),
        "trace query": (
            "GET",
            "/trace/v1/codes",
            {"code": served.code},
            served.mah_token,
            None,
        ),
        "scan": (
            "POST",
            f"/immunization/v1/receipts/{served.note_no}/scans",
            {},
            served.cdc_token,
            {"code": served.note_codes[0]},
        ),
    }
    with httpx.Client(base_url=served.base, timeout=AFTER_SECONDS) as client:
        for name, (method, path, params, token, body) in checks.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            started = time.monotonic()
            try:
                answer = client.request(method, path, params=params, headers=headers, json=body)
            except httpx.TimeoutException:
                pytest.fail(f"{name} did not answer within {AFTER_SECONDS} s after the burst")
            took = time.monotonic() - started
            assert answer.status_code in (200, 201), f"{name}: HTTP {answer.status_code}"
            assert took < AFTER_SECONDS, f"{name} took {took:.1f} s"
