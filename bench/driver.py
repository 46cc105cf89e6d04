"""How the benches serve what they drive; the load generator itself is
:mod:`vaxtrace.sim.driver` (HTTP/1.1 over raw asyncio streams), named here for the benches.

A node is served in a process of its own (``serving``); its CPU time is read from /proc, which
varies less than a rate on a shared machine. ``bench_bare`` drives bench/bare_app.py the same
way, so that a bench's ratio to it compares across machines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from vaxtrace.sim.driver import (
    Answers,
    Check,
    drive,
    drive_iter,
    get,
    p95_ms,
    post,
    request,
    timed_requests,
)
from vaxtrace.sim.federation import free_port

__all__ = [
    "Answers",
    "Check",
    "Node",
    "bare_node",
    "bench_bare",
    "cpu_seconds",
    "drive",
    "drive_iter",
    "get",
    "p95_ms",
    "post",
    "request",
    "serving",
    "timed_requests",
    "wait_for",
]


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
