"""Commission and pack N doses (with boxes and cases) through the trace service.

Last line: ``ingest: N doses/s; raw: M rows/s; ratio: R`` where raw is plain
``sqlite3.executemany`` of the same code rows into a bare table with the same unique index,
so the ratio compares across machines. Run: ``python bench/ingest.py --units 1000000``.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from vaxtrace.core.datasets.production import Batch, Commission
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.sim import catalogue
from vaxtrace.store.engine import make_engine
from vaxtrace.store.migrate import upgrade


def setup(url: str) -> tuple[TraceService, str, str, int]:
    engine = make_engine(url)
    upgrade(engine, "trace")
    svc = TraceService(engine)
    mah = catalogue.mahs(1)[0]
    svc.register_organisation(mah.organisation)
    product = catalogue.product_for(mah, 0, "HEPB")  # 10 doses a box, 50 boxes a case
    svc.register_product(mah.organisation.uscc, product)
    return svc, mah.organisation.uscc, product.product_code, product.doses_per(3)


def ingest(svc: TraceService, mah: str, product_code: str, per_case: int, units: int) -> float:
    cases = units // per_case
    svc.register_batch(
        mah,
        Batch(
            product_code=product_code,
            batch_no="BENCH1",
            production_date=date(2026, 1, 1),
            expiry_date=date(2029, 1, 1),
            quantity=cases * per_case,
        ),
    )
    start = time.perf_counter()
    svc.commission(
        mah,
        Commission(
            client_document_id="bench-1",
            document_no="BENCH",
            business_time=datetime.now(UTC),
            batch_no="BENCH1",
            cases=cases,
        ),
    )
    return time.perf_counter() - start


COLUMNS = (
    "id, code, level, product_id, batch_id, parent_id, parent_since, status, "
    "holder_uscc, commission_event_id"
)
BARE_TABLE = (
    "CREATE TABLE raw_code (id BIGINT PRIMARY KEY, code VARCHAR(120) {collate} "
    "NOT NULL UNIQUE, level INT, product_id INT, batch_id INT, parent_id INT, "
    "parent_since INT, status TEXT, holder_uscc TEXT, commission_event_id INT)"
)


def raw_rate(svc: TraceService, folder: Path) -> float:
    """Rows/s of the driver's own bulk path (executemany / COPY) for the same code rows."""
    with svc.engine.connect() as conn:
        rows = [
            tuple(r)
            for r in conn.exec_driver_sql(f"SELECT {COLUMNS} FROM trace_code ORDER BY id").all()
        ]
    if svc.engine.dialect.name == "sqlite":
        raw = sqlite3.connect(folder / "raw.sqlite")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute(BARE_TABLE.format(collate=""))
        start = time.perf_counter()
        with raw:
            raw.executemany("INSERT INTO raw_code VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        elapsed = time.perf_counter() - start
        raw.close()
        return len(rows) / elapsed
    with svc.engine.connect() as conn, conn.begin():
        conn.exec_driver_sql(BARE_TABLE.format(collate='COLLATE "C"'))
    with svc.engine.connect() as conn, conn.begin():
        driver: Any = conn.connection.driver_connection
        start = time.perf_counter()
        with driver.cursor() as cur, cur.copy("COPY raw_code FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.url or f"sqlite:///{folder / 'trace.sqlite'}"
        svc, mah, product_code, per_case = setup(url)
        elapsed = ingest(svc, mah, product_code, per_case, args.units)
        doses = (args.units // per_case) * per_case
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rate = doses / elapsed
        print(
            f"commissioned {doses} doses (+ boxes, cases) in {elapsed:.2f} s; "
            f"peak memory {peak_mb:.0f} MB",
            file=sys.stderr,
            flush=True,
        )
        raw = raw_rate(svc, folder)
        print(f"ingest: {rate:,.0f} doses/s; raw: {raw:,.0f} rows/s; ratio: {rate / raw:.2f}")


if __name__ == "__main__":
    main()
