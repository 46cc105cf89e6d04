"""A bounded load of one class of route: as many requests as ``connections`` clients keep
going for ``seconds``, with the statuses, transport failures and latencies they saw, and the
server's memory before and after. Used by the load suite and ``bench/load.py``."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from vaxtrace.sim.catalogue import provincial_cdc, vaccination_sites
from vaxtrace.sim.federation import NodeProcess

Request = tuple[str, str, dict[str, str], dict[str, Any] | None]
"""Method, path with its query, headers and JSON body of one request."""


@dataclass
class LoadResult:
    """What ``connections`` clients saw in ``seconds`` of one route class."""

    name: str
    connections: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0

    def unexpected(self, allowed: set[int]) -> dict[str, int]:
        """Statuses outside ``allowed`` and every transport failure, by kind."""
        found = {str(s): n for s, n in self.statuses.items() if s not in allowed}
        return found | dict(self.failures)

    def line(self) -> str:
        statuses = " ".join(f"{s}×{n}" for s, n in sorted(self.statuses.items()))
        failed = f"; failed {dict(self.failures)}" if self.failures else ""
        return (
            f"{self.name} @{self.connections}: {self.rate:,.0f} req/s; "
            f"p95 {self.p95_ms:.0f} ms; {statuses}{failed}"
        )


def drive(
    base: str,
    name: str,
    make: Callable[[int], Request],
    *,
    seconds: float,
    connections: int,
    timeout: float = 30.0,
) -> LoadResult:
    """Keep ``connections`` requests of ``make(n)`` in flight against ``base`` for
    ``seconds``."""
    result = LoadResult(name, connections, seconds)
    counter = iter(range(1 << 62))

    async def client_loop(client: httpx.AsyncClient, until: float) -> None:
        while time.monotonic() < until:
            method, path, headers, body = make(next(counter))
            started = time.monotonic()
            try:
                answer = await client.request(method, path, headers=headers, json=body)
            except httpx.TimeoutException:
                result.failures["timeout"] += 1
                continue
            except httpx.TransportError as exc:
                result.failures[type(exc).__name__] += 1
                continue
            result.latencies_ms.append((time.monotonic() - started) * 1000)
            result.statuses[answer.status_code] += 1

    async def run() -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:
            until = time.monotonic() + seconds
            await asyncio.gather(*(client_loop(client, until) for _ in range(connections)))

    asyncio.run(run())
    return result


def resident_mib(pid: int) -> float:
    """A process's resident memory (Linux), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class LoadDemo:
    """``serve --role all`` on the demo's data, with what the route classes need."""

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


def start_demo(folder: Path, units: int = 6000) -> LoadDemo:
    """Make the demo's data in ``folder`` and serve every role on it (stop ``node`` after)."""
    from vaxtrace.cli import app
    from vaxtrace.node import immunization_service
    from vaxtrace.settings import Settings

    demo_args = ["demo", "--no-serve", "--units", str(units), "--data-dir", str(folder)]
    made = CliRunner().invoke(app, demo_args)
    if made.exit_code != 0:
        raise RuntimeError(made.output)
    info = json.loads((folder / "demo.json").read_text())
    province = immunization_service(Settings(data_dir=folder), local=True)
    cdc, site = provincial_cdc().uscc, vaccination_sites()[0].uscc
    tokens = {org: province.issue_token(org, "load") for org in (cdc, site)}
    note = next(n for n in province.expected(cdc) if not n["closed"])
    province.engine.dispose()
    node = NodeProcess({"VAXTRACE_DATA_DIR": str(folder)})
    return LoadDemo(
        node,
        node.start(),
        list(info["codes"]),
        _bearer(next(iter(info["tokens"].values()))),
        _bearer(tokens[cdc]),
        _bearer(tokens[site]),
        note["note_no"],
        list(note["codes"]),
    )


def fridge_record() -> dict[str, Any]:
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


def route_classes(d: LoadDemo) -> dict[str, tuple[Callable[[int], Request], set[int]]]:
    """Each route class: its request, and the statuses it may answer besides "not now"."""
    code = d.codes[0]
    scans = f"/immunization/v1/receipts/{d.note_no}/scans"
    public = f"/platform/v1/public/codes?code={code}"
    checks = "/immunization/v1/dose-checks"
    return {
        "public query": (lambda n: ("GET", public, {}, None), {200}),
        "trace query": (lambda n: ("GET", f"/trace/v1/codes?code={code}", d.mah, None), {200}),
        "staff write": (
            lambda n: ("POST", "/immunization/v1/temperature-records", d.cdc, fridge_record()),
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
