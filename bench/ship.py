"""Shipping notes committed by a MAH trace node, in-process, single writer.

Builds the synthetic province (about ``--notes`` x ``--codes`` / 0.12 doses, so the first MAH
still holds enough unshipped doses), then ships ``--notes`` notes of ``--codes`` dose codes
each, every dose inside a box, from that MAH to the CDC through ``TraceService.ship`` as the
node's app builds it: with its log (checkpoints signed when due) and its outbox towards the
platform (every note sealed and signed with an Ed25519 key in a temporary folder). Each note
detaches its doses from their boxes. ``--per-upload K`` ships them as uploads of K notes
(``TraceService.ship_all``, one transaction each); the p95 is then per upload.

Last line: ``ship: N notes/s (M codes/s); p95 X ms``. Run: ``python bench/ship.py``;
``--url postgresql+psycopg://postgres@127.0.0.1:5432/test`` runs it in a new, uniquely named
database on that server, dropped afterwards (vacuumed and analysed after the build, as
autovacuum would).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine.url import make_url

from vaxtrace.core.datasets.basic_data import OrgKind
from vaxtrace.core.datasets.movements import ShippingNote, ShippingNoteUpload
from vaxtrace.node import trace_service
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.sim.province import build_province
from vaxtrace.store.engine import read_tx
from vaxtrace.store.trace.schema import organisation, product, trace_code


@contextmanager
def database(url: str | None, folder: Path) -> Iterator[str]:
    """A fresh database: a SQLite file in ``folder``, or a new database on a PostgreSQL server."""
    if url is None:
        yield f"sqlite:///{folder / 'trace.sqlite'}"
        return
    admin_url = make_url(url).set(drivername="postgresql+psycopg")
    name = f"vt_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def boxed_doses(svc: TraceService, mah: str, count: int) -> list[str]:
    """Dose codes of ``mah``'s products that it still holds, each inside a box, in id order."""
    with read_tx(svc.engine) as conn:
        rows = conn.execute(
            select(trace_code.c.code)
            .join(product, product.c.id == trace_code.c.product_id)
            .where(
                trace_code.c.level == 1,
                trace_code.c.parent_id.is_not(None),
                trace_code.c.holder_uscc == mah,
                product.c.mah_uscc == mah,
            )
            .order_by(trace_code.c.id)
            .limit(count)
        ).all()
    return [str(r[0]) for r in rows]


def note(n: int, codes: list[str], cdc: str) -> ShippingNote:
    return ShippingNote(
        client_document_id=f"bench-ship-{n}",
        business_time=datetime.now(UTC),
        document_no=f"BENCH-{n}",
        codes=tuple(codes),
        consignee_uscc=cdc,
        shipper="物流部",
        expected_quantity=len(codes),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--codes", type=int, default=100, help="dose codes per note")
    parser.add_argument("--warmup", type=int, default=20, help="notes shipped before timing")
    parser.add_argument("--per-upload", type=int, default=1, help="notes per upload (1: alone)")
    parser.add_argument("--url", help="PostgreSQL server URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the timed notes here")
    args = parser.parse_args()
    total = args.notes + args.warmup
    with tempfile.TemporaryDirectory() as tmp, database(args.url, Path(tmp)) as url:
        settings = Settings(data_dir=Path(tmp), trace_database_url=url, system_id="MAH-BENCH")
        svc = trace_service(settings)
        assert svc.outbox is not None and svc.ledger is not None
        units = max(int(total * args.codes / 0.12), 10_000)
        start = time.perf_counter()
        province = build_province(svc, units=units)
        print(f"built {units} doses in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        if svc.engine.dialect.name == "postgresql":
            # what autovacuum does after such a load in production (a test server may run
            # without it): the build leaves millions of dead row versions in trace_code
            with svc.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        mah = province.mahs[0].organisation.uscc
        with read_tx(svc.engine) as conn:
            cdc = conn.execute(
                select(organisation.c.uscc).where(organisation.c.kind == OrgKind.CDC.value)
            ).scalar_one()
        doses = boxed_doses(svc, mah, total * args.codes)
        if len(doses) < total * args.codes:
            raise SystemExit(f"only {len(doses)} boxed doses at the MAH for {total} notes")
        notes = [note(n, doses[n * args.codes : (n + 1) * args.codes], cdc) for n in range(total)]
        for request in notes[: args.warmup]:
            svc.ship(mah, request)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        timings = []
        start = time.perf_counter()
        timed = notes[args.warmup :]
        for first in range(0, len(timed), args.per_upload):
            group = timed[first : first + args.per_upload]
            begin = time.perf_counter()
            if args.per_upload == 1:
                results = [svc.ship(mah, group[0])]
            else:
                results = svc.ship_all(mah, ShippingNoteUpload(shipping_notes=group))
            timings.append((time.perf_counter() - begin) * 1000)
            for result in results:
                if result.replayed or result.body["doses"] != args.codes:
                    raise SystemExit(f"unexpected answer: {result.body}")
        elapsed = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        svc.engine.dispose()
    rate = args.notes / elapsed
    p95 = statistics.quantiles(timings, n=100)[94]
    print(
        f"{args.notes} notes of {args.codes} boxed doses on {make_url(url).get_backend_name()}, "
        f"{args.per_upload} a transaction; median {statistics.median(timings):.2f} ms",
        file=sys.stderr,
    )
    print(f"ship: {rate:,.0f} notes/s ({rate * args.codes:,.0f} codes/s); p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
