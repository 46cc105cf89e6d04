"""The tamper-evident log at scale, on SQLite.

1. append: events written in batches of 1,000, each batch appending its leaves in the same
   transaction;
2. proof: inclusion proofs against a tree of ``--leaves`` (default 10,000,000) leaves;
3. verify: ``vaxtrace ledger verify``'s work over ``--events`` (default 1,000,000) events;
4. replay: the trace node's state rebuilt from its log and compared with its tables, over
   ``--doses`` (default 1,000,000) doses commissioned in cases, inspected, released,
   warehoused and half shipped, through the trace service.

Last line: ``ledger append: N ev/s; proof p95: X ms; verify 1M: Y s; replay 1M: Z s``.
Run: ``python bench/ledger.py`` (about 5 minutes and 3 GB of disk at the defaults);
``--doses 100000`` for a quicker replay.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from vaxtrace.ledger import merkle
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.roles.trace.service.replay import check_state
from vaxtrace.sim import catalogue
from vaxtrace.sim.province import make_batch, ship_batch
from vaxtrace.store.bulk import bulk_insert
from vaxtrace.store.engine import make_engine, read_tx, write_tx
from vaxtrace.store.ledger import node_key, verify_log
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.trace.documents import TRACE_LEDGER

BATCH = 1000
EVENT_COLUMNS = (
    "id",
    "event_uuid",
    "bill_type",
    "org_uscc",
    "business_time",
    "recorded_time",
    "document_no",
    "client_document_id",
    "payload",
)


def fresh(folder: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade(engine, "trace")
    return engine


def event_rows(first: int, n: int) -> Iterator[tuple[Any, ...]]:
    now = datetime(2026, 11, 1, 8, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    for i in range(first, first + n):
        yield (
            i,
            f"00000000-0000-4000-8000-{i:012d}",
            "201",
            "91320100MA1X000009",
            now,
            now,
            f"FH{i:010d}",
            f"bench-{i}",
            '{"codes": 20, "shipper": "物流部"}',
        )


def append(engine: Engine, events: int) -> float:
    start = time.perf_counter()
    for first in range(1, events + 1, BATCH):
        with write_tx(engine) as conn:
            bulk_insert(conn, "trace_event", EVENT_COLUMNS, event_rows(first, BATCH))
            TRACE_LEDGER.append_from(conn, first)
    return events / (time.perf_counter() - start)


def big_tree(engine: Engine, leaves: int) -> None:
    """Only the nodes a proof reads: leaf hashes of synthetic documents, in chunks."""
    tree = merkle.Frontier()

    def nodes() -> Iterator[tuple[int, bytes]]:
        for i in range(leaves):
            leaf = merkle.leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest())
            for level, index, value in tree.append(leaf):
                yield node_key(level, index), value

    with write_tx(engine) as conn:
        bulk_insert(conn, "ledger_node", ("node_key", "hash"), nodes())


def proof_p95(engine: Engine, leaves: int, samples: int = 2000) -> float:
    rng = random.Random(3)
    timings = []
    with read_tx(engine) as conn:
        root = TRACE_LEDGER.root(conn, leaves)
        for _ in range(samples):
            index = rng.randrange(leaves)
            start = time.perf_counter()
            proof = TRACE_LEDGER.inclusion(conn, index, leaves)
            timings.append((time.perf_counter() - start) * 1000)
            leaf = merkle.leaf_hash(hashlib.sha256(index.to_bytes(8, "big")).digest())
            assert merkle.verify_inclusion(index, leaves, leaf, proof, root)
    return statistics.quantiles(timings, n=100)[94]


def doses_node(engine: Engine, doses: int) -> None:
    """A MAH's node with ``doses`` doses (10 a box, 50 boxes a case) commissioned, inspected,
    released and warehoused, half of them shipped to the CDC by the case."""
    svc = TraceService(engine)
    mah, cdc = catalogue.mahs(1)[0], catalogue.provincial_cdc()
    for org in (mah.organisation, cdc):
        svc.register_organisation(org)
    uscc = mah.organisation.uscc
    item = catalogue.product_for(mah, 0, "HEPB")
    svc.register_product(uscc, item)
    per_case, today, rng = item.doses_per(3), date.today(), random.Random(7)
    cases = max(doses // per_case, 1)
    made = make_batch(svc, uscc, item.product_code, item.shelf_life_months, cases, per_case, 1,
                      today, rng)  # fmt: skip
    ship_batch(svc, made, cdc, 0.5, today, rng)


def replay_seconds(folder: Path, doses: int) -> float:
    engine = fresh(folder, "doses.sqlite")
    start = time.perf_counter()
    doses_node(engine, doses)
    print(
        f"built {doses} doses in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True
    )
    start = time.perf_counter()
    found = check_state(engine)
    elapsed = time.perf_counter() - start
    engine.dispose()
    assert found is None, found
    return elapsed


def _size(n: int) -> str:
    return "1M" if n == 1_000_000 else f"{n}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--doses", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = fresh(folder, "events.sqlite")
        rate = append(engine, args.events)
        print(
            f"appended {args.events} events with leaves: {rate:,.0f} ev/s",
            file=sys.stderr,
            flush=True,
        )
        with write_tx(engine) as conn:
            size = TRACE_LEDGER.size(conn)
            TRACE_LEDGER.save_checkpoint(conn, size, TRACE_LEDGER.root(conn, size), "bench")
        start = time.perf_counter()
        with read_tx(engine) as conn:
            verdict = verify_log(TRACE_LEDGER, conn)
        verify_s = time.perf_counter() - start
        assert verdict.ok, verdict
        print(f"verified {verdict.leaves} events in {verify_s:.1f} s", file=sys.stderr, flush=True)
        engine.dispose()
        tree = fresh(folder, "tree.sqlite")
        start = time.perf_counter()
        big_tree(tree, args.leaves)
        print(
            f"built a {args.leaves}-leaf tree in {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        p95 = proof_p95(tree, args.leaves)
        tree.dispose()
        replay_s = replay_seconds(folder, args.doses)
    print(
        f"ledger append: {rate:,.0f} ev/s; proof p95: {p95:.3f} ms; "
        f"verify {_size(args.events)}: {verify_s:.1f} s; "
        f"replay {_size(args.doses)}: {replay_s:.1f} s"
    )


if __name__ == "__main__":
    main()
