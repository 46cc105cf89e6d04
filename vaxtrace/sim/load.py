"""A bounded load of one class of route: as many requests as ``connections`` clients keep
going for ``seconds``, with the statuses, transport failures and latencies they saw, and the
server's memory before and after. Used by the load suite and ``bench/load.py``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

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
