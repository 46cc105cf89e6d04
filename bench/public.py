"""A parent's code query (消费者查询) through the platform's public entry, over HTTP.

Two nodes, each a ``vaxtrace serve`` process of its own, as a federation runs them: a MAH's
trace node (the demo's data, ``--units``) serving mutual TLS only at its registered endpoint,
and the platform serving its public entry over plain HTTP (``--tls-*`` would make it mutual
TLS only, which no parent has; in production a TLS front end would stand before it). The
platform knows the trace system from its registry (the CA's certificate, the endpoint, every
MAH it represents, their coding rules as the trace node publishes them) and asks it over
mutual TLS with its own certificate.

Parents scan random dose codes of every MAH (``GET /platform/v1/public/codes?code=…``) over
``--connections`` keep-alive connections for ``--seconds``, each sending its next query when
the last is answered (bench/driver.py). Every answer is checked: 200, the code asked, the
trace system and MAH it resolved to, its batch and status as the trace node's database has
them; anything else is an error. 2,000 queries warm up first and are not counted. Then a
bare ASGI app (bench/bare_app.py) is driven the same way, so the ratio compares across
machines.

On stderr: the median and p95, and each node's CPU time per query (from /proc).
Last line: ``public: N req/s; p95: X ms; bare: M req/s; ratio: R``.
Run: ``python bench/public.py [--connections 64] [--seconds 60] [--units 20000]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from driver import Answers, bench_bare, cpu_seconds, drive, drive_iter, get, timed_requests

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.trace.service.publishing import platform_coding_rules
from vaxtrace.settings import Settings
from vaxtrace.sim.federation import MAH_NAMES, Federation, MahNode, NodeProcess, free_port
from vaxtrace.store.engine import make_engine

SYSTEM = "trace-a"
PUBLIC = "/platform/v1/public/codes"
VIEW_KEYS = frozenset(
    (
        *("resolved", "code", "generic_name", "trade_name", "strength", "mah", "manufacturer"),
        *("approval_number", "batch_no", "expiry_date", "lot_release", "status"),
    )
)
"""What a public view shows, no more (no holder, no history, no personal data)."""


@dataclass(frozen=True)
class Dose:
    """A dose code as the trace node's database has it: what its public view must say."""

    code: str
    mah_uscc: str
    batch_no: str
    status: str


def build_demo(mah_dir: Path, units: int) -> None:
    command = [sys.executable, "-m", "vaxtrace.cli", "demo", "--no-serve"]
    subprocess.run(
        [*command, "--units", str(units), "--data-dir", str(mah_dir)],
        check=True,
        capture_output=True,
    )


def doses_of(trace_db: Path) -> list[Dose]:
    """Every dose code the trace node holds, of every MAH."""
    with sqlite3.connect(trace_db) as db:
        rows = db.execute(
            "SELECT c.code, p.mah_uscc, b.batch_no, c.status FROM trace_code c "
            "JOIN product p ON p.id = c.product_id JOIN batch b ON b.id = c.batch_id "
            "WHERE c.level = 1 ORDER BY c.id"
        ).fetchall()
    return [Dose(*map(str, row)) for row in rows]


def register(federation: Federation, mah_dir: Path) -> MahNode:
    """The trace system, every MAH of the demo it represents and their coding rules, in the
    platform's registry; the node at its registered endpoint, not following the platform
    (which serves no mutual TLS here): its rules are registered as it would publish them."""
    node = federation.add_mah_node(SYSTEM, mah_dir, 0, port=free_port())
    tokens = json.loads((mah_dir / "demo.json").read_text())["tokens"]
    others = [uscc for uscc in tokens if uscc != node.mah_uscc]
    for index, uscc in enumerate(tokens):
        if uscc != node.mah_uscc:
            federation.add_organisation(uscc, MAH_NAMES[index], OrgKind.MAH, "320100")
    federation.represent(SYSTEM, *others)
    engine = make_engine(Settings(data_dir=mah_dir).database_url("trace"))
    caller = SystemIdentity(SYSTEM, node.mah_uscc, 0)
    for rule in platform_coding_rules(engine):
        federation.platform.register_coding_rule(caller, rule)
    engine.dispose()
    env = {k: v for k, v in node.env.items() if k != "VAXTRACE_PLATFORM_BASE_URL"}
    return dataclasses.replace(node, env=env)


@dataclass(frozen=True)
class Nodes:
    platform: NodeProcess
    trace: NodeProcess

    def cpu_seconds(self) -> tuple[float, float]:
        return cpu_seconds(self.platform.pid), cpu_seconds(self.trace.pid)


@contextmanager
def federation_served(root: Path, units: int) -> Iterator[tuple[Nodes, list[Dose]]]:
    """The trace node and the platform's public entry, serving; the doses to ask about."""
    mah_dir = root / "mah"
    print(f"building the demo's data ({units} units) …", file=sys.stderr, flush=True)
    build_demo(mah_dir, units)
    federation = Federation(root)
    try:
        node = register(federation, mah_dir)
        trace = federation.mah_process(node)
        platform = NodeProcess(federation.platform_env(), "--role", "platform")
        with ExitStack() as stack:
            for process in (trace, platform):
                stack.callback(process.stop)
                process.start()
            yield Nodes(platform, trace), doses_of(mah_dir / "trace.sqlite")
    finally:
        federation.close()


class Queries:
    """A parent's queries of random doses, each with the view it must be answered with."""

    def __init__(self, base: str, doses: list[Dose], seed: int) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.expected = {
            get(host, int(port), f"{PUBLIC}?code={quote(dose.code)}"): dose for dose in doses
        }
        self.requests = list(self.expected)
        self.rng = random.Random(seed)

    def next(self) -> bytes:
        return self.rng.choice(self.requests)

    def check(self, request: bytes, status: int, body: bytes) -> bool:
        """200 and the dose's public view: the code asked, resolved to its trace system and
        MAH, its batch and status; nothing more than a public view shows."""
        if status != 200:
            return False
        dose = self.expected[request]
        view = json.loads(body)
        return (
            view.keys() == VIEW_KEYS
            and view["code"] == dose.code
            and view["resolved"]["system_id"] == SYSTEM
            and view["resolved"]["mah_uscc"] == dose.mah_uscc
            and view["batch_no"] == dose.batch_no
            and view["status"] == dose.status
        )


def bench_public(nodes: Nodes, doses: list[Dose], seconds: float, connections: int) -> Answers:
    queries = Queries(nodes.platform.base, doses, seed=1)
    warm = drive(
        nodes.platform.base,
        list(itertools.islice(timed_requests(queries.next, 60), 2000)),
        connections,
        queries.check,
    )
    if warm.errors:
        raise SystemExit(f"warm-up: {warm.errors} wrong answers, statuses {dict(warm.statuses)}")
    before, own = nodes.cpu_seconds(), _own_cpu_seconds()
    answers = drive_iter(
        nodes.platform.base, timed_requests(queries.next, seconds), connections, queries.check
    )
    after, own = nodes.cpu_seconds(), _own_cpu_seconds() - own
    answers.server_cpu_seconds = sum(after) - sum(before)
    queried = max(len(answers.latencies_ms), 1)
    platform_ms, trace_ms = ((a - b) / queried * 1000 for a, b in zip(after, before, strict=True))
    print(
        f"{len(answers.latencies_ms)} queries of {len(doses)} doses over {connections} "
        f"connections in {answers.seconds:.1f} s; median {answers.median:.1f} ms; "
        f"p95 {answers.p95:.1f} ms; statuses {dict(answers.statuses)}; errors {answers.errors}; "
        f"server CPU {platform_ms + trace_ms:.2f} ms a query (platform {platform_ms:.2f}, "
        f"trace {trace_ms:.2f}); the load generator {own / queried * 1000:.2f} ms a query",
        file=sys.stderr,
        flush=True,
    )
    return answers


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--units", type=int, default=20_000, help="the demo's size")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        federation_served(Path(tmp), args.units) as (nodes, doses),
    ):
        public = bench_public(nodes, doses, args.seconds, args.connections)
    bare = bench_bare(args.seconds, args.connections)
    print(
        f"bare: {bare.rate:.0f} req/s; median {bare.median:.1f} ms; p95 {bare.p95:.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    if public.errors or set(public.statuses) != {200}:
        print(f"ERRORS: {public.errors} wrong answers", file=sys.stderr, flush=True)
    print(
        f"public: {public.rate:.0f} req/s; p95: {public.p95:.0f} ms; "
        f"bare: {bare.rate:.0f} req/s; ratio: {public.rate / bare.rate:.2f}"
    )
    sys.exit(1 if public.errors else 0)


if __name__ == "__main__":
    main()
