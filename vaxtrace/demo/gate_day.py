"""The dose gate's day (接种前核验): a dose of each kind the gate must tell apart reaches a
site; a freezer fails, a batch expires, the MAH locks one batch and recalls another; the site's
dose-check refuses each for its reason. And a report the trace system refuses, which comes back
to the site as an alert."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from vaxtrace.core.datasets.locks import Lock
from vaxtrace.core.reasons import DoseReason
from vaxtrace.demo.steps import a_dose_inside, document, receive_and_supply
from vaxtrace.demo.world import GATE_KINDS, Demo, cast
from vaxtrace.roles.trace.service import locks
from vaxtrace.sim.province import SimBatch

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from httpx import Response


def gate_day(demo: Demo, client: TestClient, timeout: float) -> list[str]:
    """The dose gate at work: the CDC receives a batch for each case and supplies a case of
    each to the site (two days ago); the site's freezer fails while only the first case is in
    it; one batch expired yesterday; the MAH locks one batch and recalls another; the site's
    dose-check then refuses each for its reason and lets the good dose pass. Measures the
    time from the MAH's lock to the site's refusal."""
    cdc, pov = (o.uscc for o in cast().province[:2])
    staff = {who: {"Authorization": f"Bearer {demo.staff[who]}"} for who in (cdc, pov)}
    chosen = _gate_batches(demo)
    if chosen is None:
        return ["the demo is too small to show the dose gate (needs 4 batches shipped)"]
    when = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    doses: dict[str, str] = {}
    for kind, sim_batch in chosen.items():
        note_no = sim_batch.shipped_notes[0]
        top = receive_and_supply(
            client, (staff[cdc], staff[pov]), pov, note_no, f"gate-{kind}", when
        )
        if top.startswith("!"):
            return [top[1:]]
        doses[kind] = a_dose_inside(client, top, staff[pov])
        if kind == "excursion":  # the site's freezer fails while only this case is in it
            failure = _freezer_excursion(client, staff[pov])
            if failure:
                return [failure]
    demo.gate = {"site": pov} | {f"{kind}_dose": code for kind, code in doses.items()}
    started = time.monotonic()
    signals = (
        ("locks", "gate-lock", DoseReason.LOCKED, {"kind": "pending", "reason": "演示: 质量复核"}),
        (
            "recalls",
            "gate-recall",
            DoseReason.RECALLED,
            {"recall_no": "ZH-DEMO-1", "reason": "演示: 召回", "level": 1, "range": "province"},
        ),
    )
    answers = [  # both are sent before either answer is judged
        _mah_signal(demo, client, f"/trace/v1/{path}", chosen[reason], document(doc) | body)
        for path, doc, reason, body in signals
    ]
    for answer in answers:
        if answer.status_code != 201:
            return [f"MAH step: HTTP {answer.status_code} {answer.text[:300]}"]
    return _await_gate(demo, client, staff[pov], started, timeout)


def _mah_signal(
    demo: Demo, client: TestClient, path: str, sim_batch: SimBatch, body: dict[str, Any]
) -> Response:
    """The batch's MAH posts a lock or a recall of it."""
    auth = {"Authorization": f"Bearer {demo.province.tokens[sim_batch.mah_uscc]}"}
    answer: Response = client.post(
        path, json=body | {"batch_nos": [sim_batch.batch_no]}, headers=auth
    )
    return answer


def _gate_batches(demo: Demo) -> dict[str, SimBatch] | None:
    """A batch for each kind of dose the gate tells apart, shipped whole for the purpose by
    the simulator (the last one expired yesterday)."""
    made = demo.province.gate_batches
    if len(made) != len(GATE_KINDS):
        return None
    return dict(zip(GATE_KINDS, made, strict=True))


EXPECTED_REASON = {
    DoseReason.LOCKED: DoseReason.LOCKED,
    DoseReason.RECALLED: DoseReason.RECALLED,
    DoseReason.EXPIRED: DoseReason.EXPIRED,
    "excursion": DoseReason.COLD_CHAIN_EXCURSION,
}


def _freezer_excursion(client: TestClient, as_pov: dict[str, str]) -> str | None:
    """The site's logger shows its vaccine fridge at −2 °C for 80 minutes this morning: an
    excursion that holds what the site has in stock until a person decides."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    readings = [
        {"time": (start + timedelta(minutes=10 * i)).isoformat(), "celsius": -2.0 if i else 5.0}
        for i in range(9)
    ] + [{"time": (start + timedelta(minutes=90)).isoformat(), "celsius": 5.0}]
    record = {
        "client_document_id": "demo-fridge-1",
        "equipment_id": "POV-FRIDGE-1",
        "kind": "storage",
        "product_class": "freeze_sensitive_2_8",
        "readings": readings,
    }
    answer = client.post("/immunization/v1/temperature-records", json=record, headers=as_pov)
    if answer.status_code != 201 or not answer.json().get("excursions"):
        return f"freezer excursion: HTTP {answer.status_code} {answer.text[:300]}"
    return None


def _await_gate(
    demo: Demo, client: TestClient, as_pov: dict[str, str], started: float, timeout: float
) -> list[str]:
    """Wait until the site's dose-check refuses each stopped dose for its reason (the MAH's
    lock and recall travel trace → platform → province), and check the good dose passes."""
    deadline = time.monotonic() + timeout
    pending = dict(EXPECTED_REASON)
    while pending and time.monotonic() < deadline:
        for kind, reason in list(pending.items()):
            answer = _dose_check(client, as_pov, demo.gate[f"{kind}_dose"])
            if reason in answer.get("reasons", []):
                pending.pop(kind)
                if kind == DoseReason.LOCKED:
                    demo.exchanged["ms from the MAH's lock to the site's refusal"] = round(
                        (time.monotonic() - started) * 1000
                    )
        time.sleep(0.02)
    failures = [f"the {kind} dose is not refused as {reason}" for kind, reason in pending.items()]
    good = _dose_check(client, as_pov, demo.gate["good_dose"])
    if not good.get("allowed"):
        failures.append(f"the good dose is refused: {good}")
    demo.exchanged["doses the gate refused for the right reason"] = len(EXPECTED_REASON) - len(
        pending
    )
    return failures


def _dose_check(client: TestClient, headers: dict[str, str], code: str) -> dict[str, Any]:
    answer = client.post("/immunization/v1/dose-checks", json={"code": code}, headers=headers)
    body: dict[str, Any] = answer.json()
    return body


def refused_downstream(demo: Demo, client: TestClient, timeout: float) -> list[str]:
    """A report the MAH's trace system refuses becomes an alert at the site: the MAH locks a
    dose whose lock signal is still on its way (the demo writes the lock without sending its
    signal), the site — not knowing — records the vaccination, and the trace system refuses
    the report; the refusal travels back trace → platform → province within seconds."""
    pov = demo.gate["site"]
    as_pov = {"Authorization": f"Bearer {demo.staff[pov]}"}
    top = client.get(
        "/immunization/v1/stock", params={"code": demo.gate["good_dose"]}, headers=as_pov
    ).json()["parent_code"]
    dose = a_dose_inside(client, top, as_pov, nth=1)
    trace = demo.app.state.trace
    owner = trace.trace(dose)["product"]["mah_uscc"]
    lock = Lock.model_validate(
        document("demo-late-lock") | {"codes": [dose], "kind": "pending", "reason": "演示: 在途"}
    )
    locks.lock(trace.engine, owner, lock, trace.clock)  # no outbox: the signal has not left yet
    used = client.post(
        "/immunization/v1/vaccinations",
        json=document("demo-refused")
        | {"code": dose, "vaccinee_ref": "demo-child-1", "vaccinator": "李护士"},
        headers=as_pov,
    )
    if used.status_code != 201:
        return [f"vaccination of {dose}: HTTP {used.status_code} {used.text[:300]}"]
    started, deadline = time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        alerts = client.get("/immunization/v1/alerts", headers=as_pov).json()["alerts"]
        if any(dose in str(a) for a in alerts):
            demo.exchanged["ms until a refused report was an alert at the site"] = round(
                (time.monotonic() - started) * 1000
            )
            demo.gate["refused_dose"] = dose
            return []
        time.sleep(0.05)
    return [f"no alert at the site for the refused vaccination of {dose}"]
