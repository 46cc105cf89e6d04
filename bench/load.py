"""The load suite at full length: each route class driven by 64 and then 256 connections for
60 s each, over ``serve --role all`` on the demo's data (public queries, MAH queries, staff
writes, receipt scans, dose-checks) or, with ``--separate``, over separate nodes each in its
own process over mutual TLS (public queries at the platform, staff writes, receipt scans and
dose-checks at the province, exchange posts at the platform). Prints a line per class and
run (rate, p95, slowest answer, statuses), each node's memory before and after and its
/health, and fails (exit 1) on any answer outside the documented ones, any wrong body,
transport failure or stalled connection, a node not answering afterwards, or memory that did
not stay flat.

    python bench/load.py [--separate] [--seconds 60] [--units 6000] [--connections 64 256]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from vaxtrace.sim.load import (
    NOT_NOW,
    Layout,
    answers_at_once,
    drive,
    memory_flat,
    start_all,
    start_separate,
)


def run(layout: Layout, seconds: float, connections: list[int]) -> int:
    """Every class at every number of connections; how many things went wrong."""
    bad = 0
    start = layout.memory()
    for count in connections:
        for route in layout.classes:
            result = drive(route, seconds=seconds, connections=count)
            unexpected = result.unexpected(route.allowed | NOT_NOW)
            after = answers_at_once(route)
            if after not in route.allowed:
                unexpected["answer after the load"] = 1
            bad += sum(unexpected.values())
            print(result.line() + (f"; UNEXPECTED {unexpected}" if unexpected else ""), flush=True)
    end, health = layout.memory(), layout.health()
    for node, mib in end.items():
        flat = memory_flat(start[node], mib)
        bad += 0 if flat and health[node] == 200 else 1
        print(
            f"{node}: memory {start[node]:.0f} MiB before, {mib:.0f} MiB after"
            f"{'' if flat else ' (NOT FLAT)'}; /health {health[node]}"
        )
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--separate", action="store_true", help="separate nodes over mTLS")
    parser.add_argument("--seconds", type=float, default=60.0, help="per class and run")
    parser.add_argument("--units", type=int, default=6000, help="the demo's size")
    parser.add_argument("--connections", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = start_separate if args.separate else start_all
        layout = start(Path(folder), args.units)
        try:
            print(f"{layout.name}: {args.seconds:.0f} s per class and run", flush=True)
            bad = run(layout, args.seconds, args.connections)
        finally:
            layout.stop()
    print(f"load ({layout.name}): {bad} unexpected")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
