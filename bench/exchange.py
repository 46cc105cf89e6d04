"""Exchange end to end: MAH trace node → platform → province node, three processes over mutual
TLS on loopback. Shipping notes of ``--codes`` dose codes each are sent at ``--rate`` notes/s
for ``--seconds``; delivery latency runs from the MAH's commit (its 201 answer) to the
province recording the note. With ``--notes-per-request K`` the notes go as uploads of K notes
(``POST /trace/v1/shipping-note-uploads``), each sent when its last note is due, as an ERP
sends what a picking wave produced (default 10); K=1 posts every note alone.

Last line: ``exchange: N codes/s; p95 delivery: X ms``. Run: ``python bench/exchange.py``.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx

from vaxtrace.sim.federation import Federation, free_port, serve_node


def doses_at_mah(database: Path, mah: str, count: int) -> list[str]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT c.code FROM trace_code c JOIN product p ON p.id = c.product_id "
            "WHERE c.level = 1 AND c.holder_uscc = ? AND p.mah_uscc = ? "
            "ORDER BY c.id LIMIT ?",
            (mah, mah, count),
        ).fetchall()
    return [str(r[0]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="notes per second offered")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--codes", type=int, default=100, help="dose codes per note")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--notes-per-request", type=int, default=10, help="notes per upload (1: one note a POST)"
    )
    args = parser.parse_args()
    notes = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("building the MAH's data …", file=sys.stderr, flush=True)
        # the first MAH keeps about 13 % of the doses made (a third of the product lines, 40 %
        # of them unshipped)
        units = max(int(notes * args.codes / 0.12), 10_000)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "vaxtrace.cli",
                "demo",
                "--no-serve",
                "--units",
                str(units),
                "--data-dir",
                str(root / "mah"),
            ],
            check=True,
            capture_output=True,
        )
        federation = Federation(root)
        mah = federation.add_mah_node("trace-a", root / "mah", 0)
        with sqlite3.connect(mah.data_dir / "trace.sqlite") as db:
            cdc = str(db.execute("SELECT uscc FROM organisation WHERE kind='cdc'").fetchone()[0])
        province_port = free_port()
        province = federation.add_province("province-32", cdc, root / "province", province_port)
        doses = doses_at_mah(mah.data_dir / "trace.sqlite", mah.mah_uscc, notes * args.codes)
        if len(doses) < notes * args.codes:
            raise SystemExit(f"only {len(doses)} doses at the MAH for {notes} notes")
        with ExitStack() as stack:
            stack.enter_context(federation.serve_province(province, province_port))
            stack.enter_context(federation.serve_platform())
            mah_url = stack.enter_context(serve_node(mah.env, "--role", "trace"))
            committed = ship_all(mah_url, mah.token, cdc, doses, notes, args)
            received = wait_for(
                root / "province" / "immunization.sqlite", notes, timeout=args.seconds * 6
            )
        federation.close()
    shipped = max(committed.values()) - min(committed.values())
    print(
        f"the MAH committed {len(committed)} notes in {shipped:.1f} s "
        f"({len(committed) / max(shipped, 1e-9):.0f} notes/s)",
        file=sys.stderr,
    )
    latencies = [(received[n] - committed[n]) * 1000 for n in committed if n in received]
    span = max(received.values()) - min(committed.values())
    codes_per_s = len(received) * args.codes / span
    print(
        f"{len(received)}/{notes} notes delivered; offered {args.rate:.0f} notes/s; "
        f"median delivery {statistics.median(latencies):.0f} ms",
        file=sys.stderr,
    )
    p95 = statistics.quantiles(latencies, n=100)[94] if len(latencies) > 1 else latencies[0]
    print(f"exchange: {codes_per_s:,.0f} codes/s; p95 delivery: {p95:.0f} ms")


def ship_all(
    mah_url: str, token: str, cdc: str, doses: list[str], notes: int, args: argparse.Namespace
) -> dict[str, float]:
    """Offer notes at the rate; answer each note's commit time (its 201)."""
    committed: dict[str, float] = {}
    client = httpx.Client(
        base_url=mah_url,
        timeout=60,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=args.workers),
    )
    start = time.time()

    def note(n: int) -> dict[str, object]:
        codes = doses[n * args.codes : (n + 1) * args.codes]
        return {
            "client_document_id": f"bench-{n}",
            "document_no": f"BENCH-{n}",
            "business_time": datetime.now(UTC).isoformat(),
            "codes": codes,
            "consignee_uscc": cdc,
            "shipper": "物流部",
            "expected_quantity": len(codes),
        }

    per = args.notes_per_request

    def ship(first: int) -> None:
        numbers = range(first, min(first + per, notes))
        delay = start + numbers[-1] / args.rate - time.time()
        if delay > 0:
            time.sleep(delay)
        if per == 1:
            answer = client.post("/trace/v1/shipping-notes", json=note(first))
        else:
            upload = {"shipping_notes": [note(n) for n in numbers]}
            answer = client.post("/trace/v1/shipping-note-uploads", json=upload)
        if answer.status_code != 201:
            raise SystemExit(f"notes from {first}: {answer.status_code} {answer.text}")
        now = time.time()
        for n in numbers:
            committed[f"BENCH-{n}"] = now

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(ship, range(0, notes, per)))
    client.close()
    return committed


def wait_for(database: Path, notes: int, timeout: float) -> dict[str, float]:
    deadline = time.time() + timeout
    while True:
        received = {}
        if database.exists():
            with sqlite3.connect(database) as db:
                rows = db.execute("SELECT note_no, announced_at FROM expected_receipt").fetchall()
            received = {str(r[0]): _epoch(str(r[1])) for r in rows}
        if len(received) >= notes or time.time() > deadline:
            return received
        time.sleep(0.05)


def _epoch(text: str) -> float:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


if __name__ == "__main__":
    main()
