"""The benches' HTTP/1.1 load generator and how they serve what they drive.

The load generator speaks HTTP/1.1 over raw asyncio streams: on a 2-core machine a heavier
client (httpx) would take CPU the server needs and the figure would measure the client. Each
of ``connections`` keep-alive connections sends its next request when the last is answered;
every answer is timed and, given a ``check``, judged (a refused answer counts as an error).

A node is served in a process of its own (``serving``); its CPU time is read from /proc, which
varies less than a rate on a shared machine. ``bench_bare`` drives bench/bare_app.py the same
way, so that a bench's ratio to it compares across machines.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from vaxtrace.sim.federation import free_port

Check = Callable[[bytes, int, bytes], bool]
"""Whether an answer is right: the request sent, the answer's status and body."""


@dataclass
class Answers:
    latencies_ms: list[float]
    statuses: Counter[int]
    seconds: float
    server_cpu_seconds: float = 0.0
    by_status: dict[int, list[float]] = field(default_factory=dict)
    errors: int = 0
    """Answers a ``check`` refused."""

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def p95(self) -> float:
        return p95_ms(self.latencies_ms)

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def p95_ms(latencies_ms: list[float]) -> float:
    return statistics.quantiles(latencies_ms, n=100)[94] if len(latencies_ms) > 1 else 0.0


async def _connection(
    host: str, port: int, requests: Iterator[bytes], answers: Answers, check: Check | None
) -> None:
    """One keep-alive connection sending the next request when the last one is answered."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next(
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length:")
            )
            body = await reader.readexactly(length)
            status = int(lines[0].split(" ", 2)[1])
            answers.latencies_ms.append((time.perf_counter() - start) * 1000)
            answers.by_status.setdefault(status, []).append(answers.latencies_ms[-1])
            answers.statuses[status] += 1
            if check is not None and not check(request, status, body):
                answers.errors += 1
    finally:
        writer.close()


def post(host: str, port: int, path: str, token: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def get(host: str, port: int, target: str) -> bytes:
    """A GET of ``target`` (path and query, already quoted)."""
    return f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n".encode()


def drive(
    base: str, requests: list[bytes], connections: int, check: Check | None = None
) -> Answers:
    """Send ``requests`` over ``connections`` connections; every answer timed."""
    return drive_iter(base, iter(requests), connections, check)


def drive_iter(
    base: str, requests: Iterator[bytes], connections: int, check: Check | None = None
) -> Answers:
    """Send what ``requests`` yields over ``connections`` connections, each taking the next
    request in turn; every answer timed (and judged by ``check``, if given)."""
    host, port = base.removeprefix("http://").split(":")
    answers = Answers([], Counter(), 0.0)
    shared = requests

    async def run() -> None:
        await asyncio.gather(
            *(_connection(host, int(port), shared, answers, check) for _ in range(connections))
        )

    start = time.perf_counter()
    asyncio.run(run())
    answers.seconds = time.perf_counter() - start
    return answers


def timed_requests(make: Callable[[], bytes], seconds: float) -> Iterator[bytes]:
    """Requests from ``make`` until ``seconds`` have passed."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        yield make()


# --- nodes in processes of their own --------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A node serving in a process of its own."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time the node's process used so far (user and system)."""
        return cpu_seconds(self.pid)


def cpu_seconds(pid: int) -> float:
    """CPU time process ``pid`` used so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(command: list[str], env: dict[str, str]) -> Iterator[Node]:
    """``command`` followed by a free port, in a process of its own, once /health answers."""
    port = free_port()
    proc = subprocess.Popen(
        [*command, str(port)],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        node = Node(f"http://127.0.0.1:{port}", proc.pid)
        wait_for(node.base)
        yield node
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for(base: str) -> None:
    with httpx.Client(timeout=5) as probe:
        for _ in range(300):
            try:
                if probe.get(f"{base}/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
    raise RuntimeError(f"the node at {base} did not start")


@contextmanager
def bare_node() -> Iterator[Node]:
    """bench/bare_app.py served as ``vaxtrace serve`` serves a node."""
    with serving([sys.executable, str(Path(__file__).with_name("bare_app.py"))], {}) as node:
        yield node


def bench_bare(seconds: float, connections: int) -> Answers:
    with bare_node() as node:
        host, port = node.base.removeprefix("http://").split(":")
        request = post(host, int(port), "/", "none", {"code": "x"})
        drive(node.base, [request] * 2000, connections)
        return drive_iter(node.base, timed_requests(lambda: request, seconds), connections)
