"""Full history of random doses in a database of >= 1M doses, in-process on SQLite.

Builds the synthetic province once (``--units``, default 1,000,000) unless ``--data-dir``
already holds one, then times ``TraceService.trace`` on random dose codes.
Last line: ``trace p95: X ms``. Run: ``python bench/trace.py``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from vaxtrace.roles.trace.service import TraceService
from vaxtrace.sim.province import build_province
from vaxtrace.store.engine import make_engine, read_tx
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.trace.schema import trace_code


def dose_codes(svc: TraceService, sample: int, rng: random.Random) -> list[str]:
    with read_tx(svc.engine) as conn:
        top = int(conn.execute(select(func.max(trace_code.c.id))).scalar_one())
        ids = [rng.randrange(1, top + 1) for _ in range(sample * 3)]
        rows = conn.execute(
            select(trace_code.c.code).where(trace_code.c.id.in_(ids), trace_code.c.level == 1)
        ).all()
    codes = [str(r[0]) for r in rows]
    rng.shuffle(codes)
    return codes[:sample]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, help="reuse (or keep) the database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data_dir or Path(tmp)
        database = folder / "trace.sqlite"
        fresh = not database.exists()
        engine = make_engine(f"sqlite:///{database}")
        upgrade(engine, "trace")
        svc = TraceService(engine)
        if fresh:
            start = time.perf_counter()
            build_province(svc, units=args.units)
            print(
                f"built {args.units} doses in {time.perf_counter() - start:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        with read_tx(engine) as conn:
            doses = conn.execute(select(func.count()).where(trace_code.c.level == 1)).scalar_one()
        codes = dose_codes(svc, args.queries, random.Random(7))
        for code in codes[:50]:
            svc.trace(code)  # warm the page cache
        timings = []
        events = 0
        for code in codes:
            start = time.perf_counter()
            answer = svc.trace(code)
            timings.append((time.perf_counter() - start) * 1000)
            events += len(answer["history"])
        p95 = statistics.quantiles(timings, n=100)[94]
        print(
            f"{len(codes)} traces over {doses} doses; median {statistics.median(timings):.2f} ms;"
            f" {events / len(codes):.1f} events per history",
            file=sys.stderr,
            flush=True,
        )
        print(f"trace p95: {p95:.2f} ms")


if __name__ == "__main__":
    main()
