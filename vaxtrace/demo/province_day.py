"""The province's day: the CDC receives and supplies, a site receives and vaccinates, and each
report reaches the MAH's trace system; the CDC looks at the batch's lot release certificate."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from vaxtrace.core.signals import CERTIFICATE_SHA256
from vaxtrace.demo.steps import a_dose_inside, document, receive_and_supply
from vaxtrace.demo.world import Demo, cast

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def province_day(demo: Demo, client: TestClient, timeout: float) -> list[str]:
    """The CDC scans and confirms the first delivery, supplies its first container to a
    vaccination site, which scans and confirms it in turn and uses a dose from it; each report
    travels province → platform → the trace system, and the dose's history there shows all
    four steps."""
    cdc, pov = (o.uscc for o in cast().province[:2])
    as_cdc = {"Authorization": f"Bearer {demo.staff[cdc]}"}
    as_pov = {"Authorization": f"Bearer {demo.staff[pov]}"}
    api = "/immunization/v1"
    kept = {n for b in demo.province.gate_batches for n in b.shipped_notes}  # the gate's
    notes = [
        n for n in client.get(f"{api}/receipts", headers=as_cdc).json() if n["note_no"] not in kept
    ]
    if not notes:  # a demo too small to ship anything
        return []
    note = notes[0]
    now = datetime.now(UTC).isoformat()
    top = receive_and_supply(client, (as_cdc, as_pov), pov, note["note_no"], "demo", now)
    if top.startswith("!"):
        return [f"province step {top[1:]}"]
    dose = a_dose_inside(client, top, as_pov)
    used = client.post(
        f"{api}/vaccinations",
        json=document("demo-vaccination")
        | {"code": dose, "vaccinator": "李护士", "dose_number": 1},
        headers=as_pov,
    )
    if used.status_code != 201:
        return [f"vaccination: HTTP {used.status_code} {used.text[:300]}"]
    demo.vaccinated = dose
    return _await_history(demo, client, dose, ["107", "209", "107", "322"], timeout)


def check_certificate(demo: Demo, client: TestClient) -> list[str]:
    """The CDC looks at the lot release certificate (批签发证明) of the batch of the dose the
    site used: fetched through the platform from the MAH's trace system and shown only as the
    file whose SHA-256 the shipping note carried."""
    cdc, pov = (o.uscc for o in cast().province[:2])
    api = "/immunization/v1"
    as_pov = {"Authorization": f"Bearer {demo.staff[pov]}"}
    records = client.get(f"{api}/vaccinations", headers=as_pov).json()
    record = next((r for r in records if r["code"] == demo.vaccinated), None)
    if record is None:
        return [f"no vaccination record of {demo.vaccinated} at the site"]
    path = f"{api}/lot-release-certificates/{record['mah_uscc']}/{record['batch_no']}"
    answer = client.get(path, headers={"Authorization": f"Bearer {demo.staff[cdc]}"})
    if answer.status_code != 200:
        return [f"lot release certificate: HTTP {answer.status_code} {answer.text[:300]}"]
    digest = hashlib.sha256(answer.content).hexdigest()
    if digest != answer.headers.get(CERTIFICATE_SHA256.lower()):
        return [f"lot release certificate: the file hashes to {digest}, not as announced"]
    demo.certificate = {"path": path, "sha256": digest}
    return []


def _await_history(
    demo: Demo, client: TestClient, code: str, bills: list[str], timeout: float
) -> list[str]:
    """Wait until the trace system's history of ``code`` ends with ``bills``."""
    auth = {"Authorization": f"Bearer {demo.token_of(code)}"}
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        answer = client.get("/trace/v1/codes", params={"code": code}, headers=auth).json()
        seen = [e["bill_type"] for e in answer.get("history", [])]
        if seen[-len(bills) :] == bills and answer["status"] == "used":
            demo.exchanged["province reports in the trace history"] = len(bills)
            return []
        time.sleep(0.05)
    return [f"the trace history of {code} ends {seen[-4:]}, not {bills}"]
