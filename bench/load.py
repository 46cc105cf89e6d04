"""The load suite at full length: ``serve --role all`` on the demo's data, each route class
(public queries, MAH queries, staff writes, receipt scans, dose-checks) driven by 64 and then
256 connections for 60 s each; prints a line per run, the server's memory, and fails (exit 1)
on any answer outside the documented ones or any transport failure.

    python bench/load.py [--seconds 60] [--units 6000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from vaxtrace.sim.load import drive, resident_mib, route_classes, start_demo

NOT_NOW = {429, 503}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--units", type=int, default=6000)
    parser.add_argument("--connections", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    bad = 0
    with tempfile.TemporaryDirectory() as folder:
        demo = start_demo(Path(folder), args.units)
        try:
            start = resident_mib(demo.node.pid)
            for connections in args.connections:
                for name, (make, allowed) in route_classes(demo).items():
                    run = drive(
                        demo.base, name, make, seconds=args.seconds, connections=connections
                    )
                    unexpected = run.unexpected(allowed | NOT_NOW)
                    bad += sum(unexpected.values())
                    print(run.line() + (f"; UNEXPECTED {unexpected}" if unexpected else ""))
            print(f"memory: {start:.0f} MiB before, {resident_mib(demo.node.pid):.0f} MiB after")
        finally:
            demo.node.stop()
    print(f"load: {bad} unexpected answers")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
