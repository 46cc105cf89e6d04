"""Safe dose at the arm across processes over mutual TLS: a MAH's trace node, the platform and a
province node, each its own process. A lock, a recall, an expiry and a cold-chain excursion
each stop a dose at the vaccination site; the lock reaches the site within two delivery
intervals of the MAH's write."""

from __future__ import annotations

import contextlib
import hashlib
import random
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from tests.journeys import journey_record
from vaxtrace.cli import app
from vaxtrace.core.dose_gate import local_date
from vaxtrace.node import trace_service
from vaxtrace.settings import Settings
from vaxtrace.sim import catalogue
from vaxtrace.sim.federation import Federation, free_port
from vaxtrace.sim.province import make_batch

runner = CliRunner()
POLL_SECONDS = 0.25
"""The nodes' delivery interval here (VAXTRACE_EXCHANGE_POLL_SECONDS)."""


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _packing(mah_dir: Path, case: str) -> tuple[int, str]:
    """The doses a case holds, and one of them."""
    with sqlite3.connect(mah_dir / "trace.sqlite") as db:
        doses = db.execute(
            "SELECT d.code FROM trace_code d JOIN trace_code b ON b.id = d.parent_id "
            "JOIN trace_code c ON c.id = b.parent_id WHERE c.code = ? ORDER BY d.code",
            (case,),
        ).fetchall()
    return len(doses), str(doses[0][0])


def _new_cases(mah_dir: Path, mah: str, expiries: list[date]) -> list[tuple[str, str]]:
    """A case of a new batch for each expiry, made, released and warehoused at the MAH (a
    batch expiring yesterday was made that long ago): (case, batch)."""
    svc = trace_service(Settings(data_dir=mah_dir))
    mah_row = next(m for m in catalogue.mahs(3) if m.organisation.uscc == mah)
    key = next(iter(mah_row.templates))
    product = catalogue.product_for(mah_row, 0, key)
    made = [
        make_batch(
            svc,
            mah,
            product.product_code,
            product.shelf_life_months,
            1,
            product.doses_per(3),
            9000 + n,
            expiry,
            random.Random(n),
            made=expiry - timedelta(days=product.shelf_life_months * 30),
        )
        for n, expiry in enumerate(expiries)
    ]
    svc.engine.dispose()
    found = []
    with sqlite3.connect(mah_dir / "trace.sqlite") as db:
        for batch in made:
            (code,) = db.execute(
                "SELECT c.code FROM trace_code c JOIN batch b ON b.id = c.batch_id "
                "WHERE b.batch_no = ? AND b.mah_uscc = ? AND c.level = 3",
                (batch.batch_no, mah),
            ).fetchone()
            found.append((str(code), batch.batch_no))
    return found


def test_lock_recall_expiry_and_excursion_stop_a_dose_at_the_site(tmp_path: Path) -> None:
    mah_dir = tmp_path / "mah"
    _cli("demo", "--no-serve", "--units", "2000", "--data-dir", str(mah_dir))
    federation = Federation(tmp_path, poll_seconds=POLL_SECONDS)
    node = federation.add_mah_node("trace-a", mah_dir, 0, port=free_port())
    with sqlite3.connect(mah_dir / "trace.sqlite") as db:
        (cdc,) = db.execute("SELECT uscc FROM organisation WHERE kind = 'cdc'").fetchone()
    pov = catalogue.vaccination_sites()[0]
    port, folder = free_port(), tmp_path / "province"
    province = federation.add_province("province-32", cdc, folder, port, (pov,))
    d = ["--role", "immunization", "--data-dir", str(folder)]
    _cli("org", "add", cdc, "示例省疾病预防控制中心", "--kind", "cdc", "--division", "320000", *d)
    _cli("org", "add", pov.uscc, pov.name, "--kind", "pov", "--division", pov.division_code, *d)
    as_cdc = {"Authorization": f"Bearer {_cli('token', 'issue', cdc, *d)}"}
    as_pov = {"Authorization": f"Bearer {_cli('token', 'issue', pov.uscc, *d)}"}
    as_mah = {"Authorization": f"Bearer {node.token}"}
    yesterday = local_date(datetime.now(UTC)) - timedelta(days=1)
    kinds = ["locked", "recalled", "excursion", "expired"]
    expiries = [yesterday + timedelta(days=700)] * 3 + [yesterday]
    made = _new_cases(mah_dir, node.mah_uscc, expiries)
    cases = {kind: case for kind, (case, _) in zip(kinds, made, strict=True)}
    batches = {kind: batch for kind, (_, batch) in zip(kinds, made, strict=True)}
    shipped_at = datetime.combine(yesterday - timedelta(days=3), datetime.min.time(), UTC)
    received_at = shipped_at + timedelta(days=1)
    packing = {kind: _packing(mah_dir, case) for kind, case in cases.items()}

    with contextlib.ExitStack() as stack:
        stack.enter_context(federation.serve_platform())
        base = stack.enter_context(federation.serve_province(province, port))
        url = stack.enter_context(federation.serve_mah(node))
        mah = stack.enter_context(federation.client(node.system_id))
        staff = stack.enter_context(federation.client("province-32"))
        api = f"{base}/immunization/v1"

        def document(tag: str, at: datetime | None = None) -> dict[str, Any]:
            return {
                "client_document_id": tag,
                "document_no": tag.upper(),
                "business_time": (at or datetime.now(UTC)).isoformat(),
            }

        def check(code: str) -> dict[str, Any]:
            answer = staff.post(f"{api}/dose-checks", json={"code": code}, headers=as_pov)
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body

        # the MAH ships a case of each batch; the CDC receives and supplies them to the site
        doses: dict[str, str] = {}
        for kind in ["excursion", "locked", "recalled", "expired"]:
            note = document(f"fh-{kind}", shipped_at) | {
                "codes": [cases[kind]],
                "consignee_uscc": cdc,
                "shipper": "物流部",
                "expected_quantity": packing[kind][0],
            }
            answer = mah.post(f"{url}/trace/v1/shipping-notes", json=note, headers=as_mah)
            assert answer.status_code == 201, answer.text
            _until(lambda k=kind: _announced(staff, api, as_cdc, f"FH-{k.upper()}"))
            scan = staff.post(
                f"{api}/receipts/FH-{kind.upper()}/scans",
                json={"code": cases[kind]},
                headers=as_cdc,
            )
            assert scan.status_code == 201, scan.text
            supplied = f"{api}/receipts/{kind.upper()}-1"  # the distribution's number
            records = f"{api}/temperature-records"  # each journey's logger, before each receipt
            trip = journey_record(f"FH-{kind.upper()}", received_at)
            answer = staff.post(records, json=trip, headers=as_cdc)
            assert answer.status_code == 201, answer.text
            steps: list[tuple[str, dict[str, Any], dict[str, str]]] = [
                (f"{api}/receipts/FH-{kind.upper()}/confirm", {}, as_cdc),
                (
                    f"{api}/distributions",
                    {"codes": [cases[kind]], "receiver_uscc": pov.uscc},
                    as_cdc,
                ),
                (f"{supplied}/scans", {"code": cases[kind]}, as_pov),  # the site's receipt
                (records, journey_record(f"{kind.upper()}-1", received_at), as_pov),
                (f"{supplied}/confirm", {}, as_pov),
            ]
            for n, (path, body, who) in enumerate(steps):
                if path.endswith(("/confirm", "/distributions")):
                    body = document(f"{kind}-{n}", received_at) | body
                answer = staff.post(path, json=body, headers=who)
                assert answer.status_code == 201, answer.text
            doses[kind] = packing[kind][1]
            if kind == "excursion":  # the site's fridge freezes while only this case is in it
                answer = staff.post(f"{api}/temperature-records", json=_freeze(), headers=as_pov)
                assert answer.status_code == 201 and answer.json()["excursions"], answer.text

        # the CDC looks at a batch's lot release certificate: the platform fetches it from
        # the MAH's trace node, over mutual TLS both ways, and the province checks its hash
        path = f"{api}/lot-release-certificates/{node.mah_uscc}/{batches['locked']}"
        certificate = staff.get(path, headers=as_cdc)
        assert certificate.status_code == 200, certificate.text
        digest = hashlib.sha256(certificate.content).hexdigest()
        assert certificate.headers["x-certificate-sha256"] == digest

        assert check(doses["locked"])["allowed"] is True
        assert check(doses["recalled"])["allowed"] is True
        assert check(doses["expired"])["reasons"] == ["expired"]
        assert check(doses["excursion"])["reasons"] == ["cold_chain_excursion"]

        # the MAH locks a batch: the site refuses its dose within two delivery intervals
        lock = document("lock-1") | {
            "kind": "pending",
            "batch_nos": [batches["locked"]],
            "reason": "效价复核",
        }
        started = time.monotonic()
        answer = mah.post(f"{url}/trace/v1/locks", json=lock, headers=as_mah)
        assert answer.status_code == 201, answer.text
        _until(lambda: "locked" in check(doses["locked"])["reasons"], every=0.01)
        elapsed = time.monotonic() - started
        print(f"lock to refusal over mutual TLS: {elapsed * 1000:.0f} ms")
        assert elapsed <= 2 * POLL_SECONDS, f"lock to refusal took {elapsed:.3f} s"

        recall = document("recall-1") | {
            "recall_no": "ZH-E2E-1",
            "batch_nos": [batches["recalled"]],
            "reason": "召回演练外的真实召回",
            "level": 1,
            "range": "province",
        }
        answer = mah.post(f"{url}/trace/v1/recalls", json=recall, headers=as_mah)
        assert answer.status_code == 201, answer.text
        _until(lambda: "recalled" in check(doses["recalled"])["reasons"])

        # the MAH closes the recall: the closure reaches the province, and the dose that was
        # never returned stays stopped
        closure = document("close-1") | {"recall_no": "ZH-E2E-1", "summary": "召回总结"}
        answer = mah.post(f"{url}/trace/v1/recall-closures", json=closure, headers=as_mah)
        assert answer.status_code == 201, answer.text
        _until(lambda: _signals_of(folder, "recall_closed") == 1)
        assert "recalled" in check(doses["recalled"])["reasons"]

        # the vaccination write refuses each, with its reason; nothing is reported
        for kind, reason in (
            ("locked", "locked"),
            ("recalled", "recalled"),
            ("expired", "expired"),
            ("excursion", "cold_chain_excursion"),
        ):
            body = document(f"vac-{kind}") | {
                "code": doses[kind],
                "vaccinee_ref": "c-1",
                "vaccinator": "李护士",
            }
            used = staff.post(f"{api}/vaccinations", json=body, headers=as_pov)
            assert used.status_code == 409, used.text
            assert reason in used.json()["reasons"], used.text
    federation.close()


def _announced(staff: httpx.Client, api: str, headers: dict[str, str], note_no: str) -> bool:
    notes = staff.get(f"{api}/receipts", headers=headers).json()
    return any(n["note_no"] == note_no for n in notes)


def _freeze() -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    readings = [
        {"time": (start + timedelta(minutes=10 * i)).isoformat(), "celsius": -2.0 if i else 5.0}
        for i in range(9)
    ] + [{"time": (start + timedelta(minutes=90)).isoformat(), "celsius": 5.0}]
    return {
        "client_document_id": "fridge-1",
        "equipment_id": "POV-FRIDGE-1",
        "kind": "storage",
        "product_class": "freeze_sensitive_2_8",
        "readings": readings,
    }


def _until(ready: Any, timeout: float = 20.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def _signals_of(folder: Path, kind: str) -> int:
    """How many safety signals of ``kind`` the province node kept."""
    with sqlite3.connect(folder / "immunization.sqlite") as db:
        (found,) = db.execute(
            "SELECT count(*) FROM safety_signal WHERE kind = ?", (kind,)
        ).fetchone()
    return int(found)
