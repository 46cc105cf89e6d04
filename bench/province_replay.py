"""The province's stock replayed from its journal (``vaxtrace ledger verify --role
immunization``'s last check), on a province built through its own services.

A provincial CDC receives a MAH's shipping note of ``--doses`` doses (cases of 10 boxes of 10
doses, each case scanned), distributes half of the cases to a vaccination site in
distributions of 50 cases, the site receives them, and vaccinates ``--vaccinations`` doses.
Then the stock is rebuilt from the journal alone and compared with the ``stock`` table, and
the history tables with their entries, as ``verify`` does; timed apart.

Lines: the writes' times (the receipt's confirmation, a distribution, a vaccination), then
last ``replay: N rows in X s (Y µs a row); 1M: Z s``, Z extrapolated linearly from the
measured rate (the best of ``--repeat`` replays).
Run: ``python bench/province_replay.py [--doses 100000]``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.coldchain.readings import TemperatureUpload
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.immunization import Distribution, ReceivingNote, Vaccination
from vaxtrace.exchange.envelope import Ed25519Signer, seal
from vaxtrace.exchange.pki import SystemIdentity
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import make_engine, read_tx
from vaxtrace.store.immunization.schema import stock
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.mirrors import first_difference_in, stock_replayed

CDC = make_uscc("12320000MB0000001")
SITE = make_uscc("12320102MB0000007")
MAH = make_uscc("91320100MA1X00001")
PLATFORM = "platform"
SHIPPED = datetime.now(UTC) - timedelta(days=2)
RECEIVED = SHIPPED + timedelta(hours=20)
_numbers = itertools.count(1)


def fields(prefix: str, when: datetime) -> dict[str, Any]:
    n = next(_numbers)
    return {"client_document_id": f"{prefix}-{n}", "document_no": f"{prefix}{n:07d}"} | {
        "business_time": when
    }


def journey(svc: ImmunizationService, actor: str, delivery: str, arrived: datetime) -> None:
    readings = [
        {"time": (arrived - timedelta(minutes=10 * n)).isoformat(), "celsius": 5.0}
        for n in range(12, -1, -1)
    ]
    svc.record_temperatures(
        actor,
        TemperatureUpload(
            client_document_id=f"trip-{delivery}",
            equipment_id=f"VAN-{delivery}",
            kind="transport",
            product_class="freeze_sensitive_2_8",
            related_document_no=delivery,
            readings=readings,
        ),
    )


def cases_of(doses: int) -> tuple[list[str], dict[str, list[str]]]:
    cases, contents = [], {}
    for c in range(doses // 100):
        case = issue_nmpa20("8000003", c)
        boxes = [issue_nmpa20("8000002", c * 10 + b) for b in range(10)]
        cases.append(case)
        contents[case] = boxes
        for b, box in enumerate(boxes):
            contents[box] = [issue_nmpa20("8000001", c * 100 + b * 10 + d) for d in range(10)]
    return cases, contents


def announce(
    svc: ImmunizationService, signer: Ed25519Signer, cases: list[str], contents: Any
) -> None:
    batch = {
        "batch_no": "B-BENCH-1",
        "product_code": "HEPB-10",
        "production_date": (SHIPPED - timedelta(days=90)).date().isoformat(),
        "expiry_date": (SHIPPED + timedelta(days=700)).date().isoformat(),
        "lot_release": {
            "certificate_no": "SZ-BENCH",
            "authority": "中检院",
            "release_date": (SHIPPED - timedelta(days=30)).date().isoformat(),
            "certificate_sha256": "ab" * 32,
        },
        "codes": cases,
    }
    note = {
        "business_time": SHIPPED.isoformat(),
        "document_no": "FH-BENCH",
        "source_document": None,
        "codes": cases,
        "contents": contents,
        "consignee_uscc": CDC,
        "consignee_address": "",
        "shipper": "物流部",
        "distributor_uscc": None,
        "expected_quantity": len(cases) * 100,
        "doses": len(cases) * 100,
        "trace_event_id": 1,
        "batches": [batch],
    }
    envelope = seal(
        signer,
        system_id=PLATFORM,
        event_type="20",
        event_subtype="201",
        data_owner=MAH,
        sequence=1,
        payload={"shipping_note": note, "forwarded_from": {"system_id": "t", "event_id": "x"}},
    )
    svc.receive_envelope(SystemIdentity(PLATFORM, CDC, 1), envelope)


def receive(svc: ImmunizationService, actor: str, note_no: str, scans: list[str]) -> float:
    """Scan, upload the journey, confirm; answers the confirmation's seconds."""
    for code in scans:
        svc.scan(actor, note_no, code)
    journey(svc, actor, note_no, RECEIVED)
    start = time.perf_counter()
    svc.confirm_receipt(actor, ReceivingNote(shipping_note_no=note_no, **fields("rcv", RECEIVED)))
    return time.perf_counter() - start


HWM = """
def hwm():  # the peak resident memory of this process (not inherited through exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
"""
ALONE = (
    HWM
    + """
import sys, time
from vaxtrace.store.engine import make_engine, read_tx
from vaxtrace.store.mirrors import stock_replayed
engine = make_engine(f"sqlite:///{sys.argv[1]}")
with read_tx(engine) as conn:
    began = time.perf_counter()
    found = stock_replayed(conn)
    took = time.perf_counter() - began
print(f"{took:.2f} s, peak memory {hwm()} MB (the interpreter alone {sys.argv[2]} MB)", found or "")
"""
)


def alone(database: Path) -> str:
    """The replay timed in a fresh process, with that process's peak memory."""
    idle = subprocess.run(
        [sys.executable, "-c", IDLE], capture_output=True, text=True, check=True
    ).stdout.strip()
    found = subprocess.run(
        [sys.executable, "-c", ALONE, str(database), idle], capture_output=True, text=True
    )
    return (found.stdout or found.stderr).strip()


IDLE = HWM + "import vaxtrace.store.mirrors\nprint(hwm())"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--doses", type=int, default=100_000)
    parser.add_argument("--vaccinations", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="replays timed (the best kept)")
    parser.add_argument("--keep", help="an empty directory to build the province in and keep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep or tmp)
        engine = make_engine(f"sqlite:///{where / 'immunization.sqlite'}")
        upgrade(engine, "immunization")
        signer = Ed25519Signer(Ed25519PrivateKey.generate())
        svc = ImmunizationService(engine, PLATFORM, signer.verifier())
        for uscc, kind, division in ((CDC, OrgKind.CDC, "320000"), (SITE, OrgKind.POV, "320102")):
            svc.register_organisation(
                Organisation(uscc=uscc, name=f"bench {kind}", kind=kind, division_code=division)
            )
        cases, contents = cases_of(args.doses)
        announce(svc, signer, cases, contents)
        confirmed = receive(svc, CDC, "FH-BENCH", cases)
        print(f"receipt: {args.doses} doses confirmed in {confirmed:.2f} s")
        sent, took = cases[: len(cases) // 2], []
        for start in range(0, len(sent), 50):
            part = tuple(sent[start : start + 50])
            request = Distribution(**fields("dist", RECEIVED), codes=part, receiver_uscc=SITE)
            began = time.perf_counter()
            svc.distribute(CDC, request)
            took.append(time.perf_counter() - began)
            receive(svc, SITE, request.document_no, list(part))
        print(f"distribution: 50 cases (5,000 doses) in {statistics.median(took) * 1000:.0f} ms")
        given = []
        for c in range(args.vaccinations):
            dose = issue_nmpa20("8000001", c)
            request = Vaccination(**fields("vac", RECEIVED), code=dose, vaccinator="bench")
            began = time.perf_counter()
            svc.vaccinate(SITE, request)
            given.append(time.perf_counter() - began)
        print(f"vaccination: median {statistics.median(given) * 1000:.1f} ms")
        svc.close()
        replays, histories = [], []
        for _ in range(args.repeat):  # the best of a few: the machine is shared
            with read_tx(engine) as conn:
                rows = conn.execute(stock.select().with_only_columns(stock.c.code)).all()
                began = time.perf_counter()
                found = stock_replayed(conn)
                replays.append(time.perf_counter() - began)
                began = time.perf_counter()
                mirrored = first_difference_in(conn, "immunization")
                histories.append(time.perf_counter() - began)
        replayed, history = min(replays), min(histories)
        if found is not None or mirrored is not None:
            raise SystemExit(f"the untouched province differs from its journal: {found} {mirrored}")
        per_row = replayed / len(rows)
        print(f"replay in a process of its own: {alone(where / 'immunization.sqlite')}")
        print(f"history tables against their entries: {history:.2f} s")
        print(
            f"replay: {len(rows)} rows in {replayed:.2f} s ({per_row * 1e6:.1f} µs a row); "
            f"1M: {per_row * 1_000_000:.0f} s"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
