"""Scans over HTTP against a province node of its own (``vaxtrace serve --role immunization``,
uvicorn on 127.0.0.1, its SQLite database), from a load generator in this other process.

Receipt (扫码验收): a shipping note of 1,000 codes is announced to a CDC as the platform
forwards it (a signed envelope, taken by the node's own ``announce``), then every code is
scanned once plus ~10 % repeats (``POST /immunization/v1/receipts/{note}/scans``) over
``--connections`` keep-alive connections, each sending its next scan when the last is answered.
``--shape doses`` (default): the note lists 1,000 loose doses; ``--shape cases``: it lists 10
cases of 10 boxes of 10 doses (with their ``contents``), and the doses are scanned. A warm-up
note of 100 codes is scanned first and not counted.

The load generator speaks HTTP/1.1 over raw asyncio streams: on a 2-core machine a heavier
client (httpx) would take CPU the server needs and the figure would measure the client.

Every answer is checked (1,000 accepted, 100 repeats), and so is the audit once the node has
stopped (every scan in ``receipt_scan``). On stderr: the median, the p95 by status and the
server's CPU time per scan (from /proc), which varies less than the rate on a shared machine.

Dose gate (接种前核验): the province holds ``--doses`` doses (default 1,000,000) at a
vaccination site, written set-wise. In this process, the gate's decision on random held doses
(``check_dose``: parse, one query, the decision, its audit) is timed. Then, over HTTP, the site
posts dose-checks of random held doses (``POST /immunization/v1/dose-checks``) for
``--seconds`` (default 60) over the same connections; then a bare ASGI app answering
``{"ok": true}`` (bench/bare_app.py, served the same way) is driven the same way, so that the
ratio of the two compares across machines.

Lines: ``receipt: N scans/s; p95: X ms``, ``gate: p95 X ms in-process over N doses`` and last
``scan: N req/s; p95: X ms; bare: M req/s; ratio: R``.
Run: ``python bench/scan.py [--connections 32] [--seconds 60] [--doses 1000000]``.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from driver import (  # bench/driver.py: run as ``python bench/scan.py``, bench/ is on the path
    Answers,
    Node,
    bench_bare,
    drive,
    drive_iter,
    p95_ms,
    post,
    serving,
    timed_requests,
)
from sqlalchemy import insert

from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import make_engine, write_tx
from vaxtrace.store.immunization.schema import batch, expected_receipt, receiving_note, stock
from vaxtrace.store.migrate import upgrade

CDC = make_uscc("12320000MB0000001")
SITE = make_uscc("12320102MB0000007")
BATCH = "B-BENCH-1"
MAH = make_uscc("91320100MA1X00001")
PLATFORM = "platform"


# --- the province node --------------------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """A note announced to the CDC: its number and the codes to scan, in the order sent."""

    note_no: str
    scans: list[str]


class Province:
    """The province's database, prepared in this process the way the node itself takes
    notes (its service's ``receive_envelope``), then served by a node of its own."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.engine = make_engine(Settings(data_dir=data_dir).database_url("immunization"))
        upgrade(self.engine, "immunization")
        self.signer = Ed25519Signer(Ed25519PrivateKey.generate())
        self.svc = ImmunizationService(self.engine, PLATFORM, self.signer.verifier())
        self.svc.register_organisation(
            Organisation(
                uscc=CDC, name="示例省疾病预防控制中心", kind=OrgKind.CDC, division_code="320000"
            )
        )
        self.token = self.svc.issue_token(CDC, "bench")
        self.sequence = itertools.count(1)

    def announce(
        self, note_no: str, codes: list[str], contents: dict[str, list[str]] | None = None
    ) -> None:
        """The platform forwards a MAH's shipping note of ``codes`` to the CDC."""
        note: dict[str, Any] = {
            "business_time": "2024-04-01T09:00:00+08:00",
            "document_no": note_no,
            "source_document": None,
            "codes": codes,
            "consignee_uscc": CDC,
            "consignee_address": "",
            "shipper": "物流部",
            "distributor_uscc": None,
            "expected_quantity": len(codes),
            "doses": len(codes),
            "trace_event_id": 1,
        }
        if contents is not None:
            note["contents"] = contents
        envelope = seal(
            self.signer,
            system_id=PLATFORM,
            event_type="20",
            event_subtype="201",
            data_owner=MAH,
            sequence=next(self.sequence),
            payload={"shipping_note": note, "forwarded_from": {"system_id": "t", "event_id": "x"}},
        )
        self.svc.receive_envelope(SystemIdentity(PLATFORM, CDC, 1), envelope)

    def close(self) -> None:
        self.engine.dispose()


def loose_doses(first: int, count: int) -> tuple[list[str], None, list[str]]:
    """A note listing ``count`` doses; they are what is scanned."""
    codes = [issue_nmpa20("8000001", first + n) for n in range(count)]
    return codes, None, codes


def packed_cases(first: int, count: int) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """A note listing cases of 10 boxes of 10 doses, ``count`` doses in all (with the note's
    ``contents``); the doses are what is scanned."""
    cases, contents, doses = [], {}, []
    for c in range(count // 100):
        case = issue_nmpa20("8000003", first // 100 + c)
        boxes = [issue_nmpa20("8000002", (first // 10) + c * 10 + b) for b in range(10)]
        cases.append(case)
        contents[case] = boxes
        for b, box in enumerate(boxes):
            inside = [issue_nmpa20("8000001", first + c * 100 + b * 10 + d) for d in range(10)]
            contents[box] = inside
            doses.extend(inside)
    return cases, contents, doses


SHAPES = {"doses": loose_doses, "cases": packed_cases}


def with_repeats(codes: list[str], share: float, rng: random.Random) -> list[str]:
    """Every code once, in random order, and ``share`` of them again, each some time after
    its first scan."""
    order = list(codes)
    rng.shuffle(order)
    for code in rng.sample(order[: len(order) * 9 // 10], int(len(order) * share)):
        first = order.index(code)
        order.insert(rng.randrange(first + 1, len(order) + 1), code)
    return order


def prepare(data_dir: Path, shape: str, codes: int, seed: int) -> tuple[str, Note, Note]:
    """The CDC's token, a warm-up note and the measured note, announced."""
    rng = random.Random(seed)
    province = Province(data_dir)
    notes = []
    for note_no, first, count in (("FH-WARM", 500_000, 100), ("FH-BENCH", 0, codes)):
        listed, contents, scanned = SHAPES[shape](first, count)
        province.announce(note_no, listed, contents)
        notes.append(Note(note_no, with_repeats(scanned, 0.1, rng)))
    province.close()
    return province.token, notes[0], notes[1]


# --- the benchmarks -----------------------------------------------------------------------


@contextmanager
def province_node(data_dir: Path) -> Iterator[Node]:
    """``vaxtrace serve --role immunization`` over ``data_dir``, on a free port."""
    command = [sys.executable, "-m", "vaxtrace.cli", "serve", "--role", "immunization", "--port"]
    with serving(command, {"VAXTRACE_DATA_DIR": str(data_dir)}) as node:
        yield node


def scan_requests(base: str, token: str, note: Note) -> list[bytes]:
    host, port = base.removeprefix("http://").split(":")
    path = f"/immunization/v1/receipts/{note.note_no}/scans"
    return [post(host, int(port), path, token, {"code": code}) for code in note.scans]


def bench_receipt(node: Node, token: str, warm: Note, note: Note, connections: int) -> Answers:
    """The CDC scans the warm-up note, then the measured one; the measured scans' answers."""
    drive(node.base, scan_requests(node.base, token, warm), connections)
    cpu = node.cpu_seconds()
    answers = drive(node.base, scan_requests(node.base, token, note), connections)
    answers.server_cpu_seconds = node.cpu_seconds() - cpu
    expected = Counter(note.scans)
    accepted, repeats = len(expected), len(note.scans) - len(expected)
    if answers.statuses != Counter({201: accepted, 200: repeats}):
        raise SystemExit(
            f"expected {accepted} accepted and {repeats} repeats, got {dict(answers.statuses)}"
        )
    return answers


def check_audit(data_dir: Path, note: Note) -> None:
    """Every scan of ``note`` is in the audit, as the node left it when it stopped."""
    database = Settings(data_dir=data_dir).database_url("immunization").split("///", 1)[1]
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT result, count(*) FROM receipt_scan WHERE note_no = ? GROUP BY result",
            (note.note_no,),
        ).fetchall()
    audited = dict(rows)
    wanted = {"accepted": len(set(note.scans)), "repeat": len(note.scans) - len(set(note.scans))}
    if audited != wanted:
        raise SystemExit(f"the audit has {audited} for the scans {wanted}")


# --- the dose gate ------------------------------------------------------------------------


def stock_site(data_dir: Path, doses: int) -> tuple[str, list[str]]:
    """The site's token and ``doses`` doses it holds (one lot-released batch, far from
    expiry), written set-wise as a receipt would leave them."""
    engine = make_engine(Settings(data_dir=data_dir).database_url("immunization"))
    svc = ImmunizationService(engine, PLATFORM, None)
    svc.register_organisation(
        Organisation(
            uscc=SITE, name="示例社区卫生服务中心", kind=OrgKind.POV, division_code="320102"
        )
    )
    token = svc.issue_token(SITE, "bench")
    codes = [issue_nmpa20("8000004", n) for n in range(1, doses + 1)]
    now = datetime.now(UTC)
    with write_tx(engine) as conn:
        conn.execute(
            insert(batch).values(
                mah_uscc=MAH,
                batch_no=BATCH,
                product_code="HEPB-10",
                production_date=date(2026, 1, 10),
                expiry_date=date(2028, 12, 31),
                lot_release_no="SZ2026-BENCH",
                lot_release_authority="中检院",
                lot_release_date=date(2026, 3, 1),
                lot_release_sha256="ab" * 32,
                updated_at=now,
            )
        )
        conn.execute(
            insert(expected_receipt).values(
                event_id="bench-stock",
                shipper_uscc=MAH,
                note_no="FH-STOCK",
                consignee_uscc=SITE,
                doses=doses,
                note={},
                announced_at=now,
                sequence=1_000_000,
            )
        )
        receipt_id = conn.execute(
            insert(receiving_note).values(
                note_event_id="bench-stock",
                note_no="FH-STOCK",
                shipper_uscc=MAH,
                consignee_uscc=SITE,
                document_no="RK-STOCK",
                client_document_id="bench-stock",
                verification="verified",
                expected_quantity=doses,
                actual_quantity=doses,
                business_time=now,
                recorded_at=now,
            )
        ).inserted_primary_key[0]
        for start in range(0, doses, 50_000):
            conn.execute(
                insert(stock),
                [
                    {
                        "code": code,
                        "parent_code": None,
                        "holder_uscc": SITE,
                        "state": "in_stock",
                        "mah_uscc": MAH,
                        "receipt_id": receipt_id,
                        "updated_at": now,
                        "batch_no": BATCH,
                    }
                    for code in codes[start : start + 50_000]
                ],
            )
    svc.close()
    engine.dispose()
    return token, codes


def bench_gate(data_dir: Path, codes: list[str], checks: int, seed: int) -> float:
    """p95 (ms) of the gate's decision in this process, on random held doses."""
    engine = make_engine(Settings(data_dir=data_dir).database_url("immunization"))
    svc = ImmunizationService(engine, PLATFORM, None)
    rng = random.Random(seed)
    timings = []
    for code in (rng.choice(codes) for _ in range(checks)):
        start = time.perf_counter()
        answer = svc.check_dose(SITE, code)
        timings.append((time.perf_counter() - start) * 1000)
        if not answer["allowed"]:
            raise SystemExit(f"a held dose was refused: {answer}")
    svc.close()
    engine.dispose()
    return p95_ms(timings)


def bench_dose_checks(
    node: Node, token: str, codes: list[str], seconds: float, connections: int, seed: int
) -> Answers:
    """The site's dose-checks of random held doses over HTTP for ``seconds``."""
    host, port = node.base.removeprefix("http://").split(":")
    rng = random.Random(seed)
    path = "/immunization/v1/dose-checks"

    def make() -> bytes:
        return post(host, int(port), path, token, {"code": rng.choice(codes)})

    drive(node.base, list(itertools.islice(timed_requests(make, 60), 2000)), connections)
    cpu = node.cpu_seconds()
    answers = drive_iter(node.base, timed_requests(make, seconds), connections)
    answers.server_cpu_seconds = node.cpu_seconds() - cpu
    if set(answers.statuses) != {200}:
        raise SystemExit(f"dose-checks answered {dict(answers.statuses)}")
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--codes", type=int, default=1000, help="codes scanned on the note")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="doses")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, help="keep the province's database here")
    parser.add_argument("--doses", type=int, default=1_000_000, help="doses the site holds")
    parser.add_argument("--seconds", type=float, default=60.0, help="dose-checks for so long")
    parser.add_argument("--gate-checks", type=int, default=5000, help="in-process decisions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        token, warm, note = prepare(data_dir, args.shape, args.codes, args.seed)
        site_token, held = stock_site(data_dir, args.doses)
        gate_p95 = bench_gate(data_dir, held, args.gate_checks, args.seed)
        with province_node(data_dir) as node:
            receipt = bench_receipt(node, token, warm, note, args.connections)
            checks = bench_dose_checks(
                node, site_token, held, args.seconds, args.connections, args.seed
            )
        check_audit(data_dir, note)  # the node stopped: every scan is in the audit
    bare = bench_bare(args.seconds, args.connections)
    scans = len(receipt.latencies_ms)
    print(
        f"{scans} scans ({args.shape}) over {args.connections} connections in "
        f"{receipt.seconds:.2f} s; median {statistics.median(receipt.latencies_ms):.1f} ms; "
        f"server CPU {receipt.server_cpu_seconds / scans * 1000:.2f} ms a scan; p95 by status: "
        + ", ".join(f"{k}: {p95_ms(v):.0f} ms" for k, v in sorted(receipt.by_status.items())),
        file=sys.stderr,
        flush=True,
    )
    print(f"receipt: {receipt.rate:.0f} scans/s; p95: {receipt.p95:.0f} ms")
    print(
        f"{len(checks.latencies_ms)} dose-checks over {args.connections} connections in "
        f"{checks.seconds:.1f} s; median {statistics.median(checks.latencies_ms):.1f} ms; "
        f"server CPU {checks.server_cpu_seconds / len(checks.latencies_ms) * 1000:.2f} ms a "
        f"check; bare median {statistics.median(bare.latencies_ms):.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    print(f"gate: p95 {gate_p95:.2f} ms in-process over {args.doses} doses")
    print(
        f"scan: {checks.rate:.0f} req/s; p95: {checks.p95:.0f} ms; "
        f"bare: {bare.rate:.0f} req/s; ratio: {checks.rate / bare.rate:.2f}"
    )


if __name__ == "__main__":
    main()
