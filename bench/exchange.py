"""Exchange end to end: MAH trace node → platform → province node, three processes over mutual
TLS on loopback. Shipping notes of ``--codes`` dose codes each are sent at ``--rate`` notes/s
for ``--seconds``; delivery latency runs from the MAH's commit (its 201 answer) to the
province recording the note.

Last line: ``exchange: N codes/s; p95 delivery: X ms``. Run: ``python bench/exchange.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

VAXTRACE = [sys.executable, "-m", "vaxtrace.cli"]


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [*VAXTRACE, *args],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | (env or {}),
    )
    if done.returncode:
        raise SystemExit(f"vaxtrace {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def node(env: dict[str, str], port: int, *args: str, probe: httpx.Client) -> Iterator[str]:
    proc = subprocess.Popen(
        [*VAXTRACE, "serve", "--port", str(port), *args],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"{'https' if '--tls-cert' in args else 'http'}://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if probe.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        probe.close()
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
    args = parser.parse_args()
    notes = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        hub, mah_dir, prov, certs = (root / n for n in ("platform", "mah", "province", "certs"))
        print("building the MAH's data …", file=sys.stderr, flush=True)
        cli(
            "demo",
            "--no-serve",
            "--units",
            # the first MAH keeps about 13 % of the doses made (a third of the product
            # lines, 40 % of them unshipped)
            str(max(int(notes * args.codes / 0.12), 10_000)),
            "--data-dir",
            str(mah_dir),
        )
        mah, token = next(iter(json.loads((mah_dir / "demo.json").read_text())["tokens"].items()))
        d = ["--data-dir", str(hub)]
        cli("pki", "init", *d)
        cli("pki", "issue-server", "127.0.0.1", "--out", str(certs), *d)
        with sqlite3.connect(mah_dir / "trace.sqlite") as db:
            cdc = str(db.execute("SELECT uscc FROM organisation WHERE kind='cdc'").fetchone()[0])
        cli(
            "platform",
            "add-org",
            mah,
            "华东示例生物制品股份有限公司",
            "--kind",
            "mah",
            "--division",
            "320100",
            *d,
        )
        cli(
            "platform",
            "add-org",
            cdc,
            "示例省疾病预防控制中心",
            "--kind",
            "cdc",
            "--division",
            "320000",
            *d,
        )
        cli("pki", "issue-system", "platform", "--org", cdc, "--out", str(certs), *d)
        province_port, platform_port, mah_port = free_port(), free_port(), free_port()
        cli(
            "platform",
            "add-system",
            "trace-a",
            "--role",
            "trace",
            "--operator",
            mah,
            "--endpoint",
            "https://trace-a.example",
            "--represents",
            mah,
            "--exchange-key",
            cli("exchange", "key", "--data-dir", str(mah_dir)),
            "--out",
            str(certs),
            *d,
        )
        cli(
            "platform",
            "add-system",
            "province-32",
            "--role",
            "immunization",
            "--operator",
            cdc,
            "--endpoint",
            f"https://127.0.0.1:{province_port}",
            "--represents",
            cdc,
            "--out",
            str(certs),
            *d,
        )
        ca = str(hub / "pki" / "ca.pem")
        tls = (
            "--tls-cert",
            str(certs / "server.pem"),
            "--tls-key",
            str(certs / "server.key"),
            "--tls-ca",
            ca,
        )
        exchange = {"VAXTRACE_EXCHANGE_CA": ca, "VAXTRACE_EXCHANGE_RETRY_SECONDS": "0.05"}
        context = ssl.create_default_context(cafile=ca)
        context.load_cert_chain(str(certs / "trace-a.pem"), str(certs / "trace-a.key"))
        doses = doses_at_mah(mah_dir / "trace.sqlite", mah, notes * args.codes)
        if len(doses) < notes * args.codes:
            raise SystemExit(f"only {len(doses)} doses at the MAH for {notes} notes")
        with ExitStack() as stack:
            stack.enter_context(
                node(
                    {
                        "VAXTRACE_DATA_DIR": str(prov),
                        "VAXTRACE_PLATFORM_EXCHANGE_KEY": cli("exchange", "key", *d),
                    },
                    province_port,
                    "--role",
                    "immunization",
                    *tls,
                    probe=httpx.Client(verify=context),
                )
            )
            stack.enter_context(
                node(
                    exchange
                    | {
                        "VAXTRACE_DATA_DIR": str(hub),
                        "VAXTRACE_SYSTEM_ID": "platform",
                        "VAXTRACE_EXCHANGE_CERT": str(certs / "platform.pem"),
                        "VAXTRACE_EXCHANGE_KEY_FILE": str(certs / "platform.key"),
                    },
                    platform_port,
                    "--role",
                    "platform",
                    *tls,
                    probe=httpx.Client(verify=context),
                )
            )
            mah_url = stack.enter_context(
                node(
                    exchange
                    | {
                        "VAXTRACE_DATA_DIR": str(mah_dir),
                        "VAXTRACE_SYSTEM_ID": "trace-a",
                        "VAXTRACE_PLATFORM_BASE_URL": f"https://127.0.0.1:{platform_port}",
                        "VAXTRACE_EXCHANGE_CERT": str(certs / "trace-a.pem"),
                        "VAXTRACE_EXCHANGE_KEY_FILE": str(certs / "trace-a.key"),
                    },
                    mah_port,
                    "--role",
                    "trace",
                    probe=httpx.Client(),
                )
            )
            committed = ship_all(mah_url, token, cdc, doses, notes, args)
            received = wait_for(prov / "immunization.sqlite", notes, timeout=args.seconds * 6)
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

    def ship(n: int) -> None:
        delay = start + n / args.rate - time.time()
        if delay > 0:
            time.sleep(delay)
        codes = doses[n * args.codes : (n + 1) * args.codes]
        body = {
            "client_document_id": f"bench-{n}",
            "document_no": f"BENCH-{n}",
            "business_time": datetime.now(UTC).isoformat(),
            "codes": codes,
            "consignee_uscc": cdc,
            "shipper": "物流部",
            "expected_quantity": len(codes),
        }
        answer = client.post("/trace/v1/shipping-notes", json=body)
        if answer.status_code != 201:
            raise SystemExit(f"note {n}: {answer.status_code} {answer.text}")
        committed[f"BENCH-{n}"] = time.time()

    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(ship, range(notes)))
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
