"""The demo: a synthetic province served by all roles in one process, each on its own database,
talking through the exchange API in-process; and the self-check that proves it works."""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, Table, func, select

from vaxtrace import local
from vaxtrace.app import build_app
from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.core.datasets.locks import Lock
from vaxtrace.core.dose_gate import local_date
from vaxtrace.core.signals import CERTIFICATE_SHA256
from vaxtrace.ledger.checkpoint import NoteError
from vaxtrace.ledger.proofs import check_proof
from vaxtrace.node import LOCAL_SYSTEMS, ROLES
from vaxtrace.roles.trace.service import locks
from vaxtrace.settings import Settings
from vaxtrace.sim import catalogue
from vaxtrace.sim.province import Province, SimBatch, build_province, sample_codes
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization import schema as province_schema
from vaxtrace.store.rows import held_keys
from vaxtrace.store.supervision import schema as supervision_schema
from vaxtrace.store.trace import schema as trace_schema
from vaxtrace.store.trace.schema import shipping_note

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@dataclass
class Demo:
    settings: Settings
    app: FastAPI
    province: Province
    samples: list[str]
    staff: dict[str, str] = field(default_factory=dict)
    """API tokens of the province's CDC and vaccination sites."""
    failures: list[str] = field(default_factory=list)
    exchanged: dict[str, int] = field(default_factory=dict)
    vaccinated: str | None = None
    """A dose the demo received, distributed and used in the province."""
    gate: dict[str, str] = field(default_factory=dict)
    """The site and a dose of each kind the dose gate must tell apart (demo.json samples)."""
    certificate: dict[str, str] = field(default_factory=dict)
    """The lot release certificate the CDC looked at: its path and SHA-256."""

    @property
    def token(self) -> str:
        return next(iter(self.province.tokens.values()))


def cast() -> local.LocalCast:
    return local.LocalCast(
        catalogue.platform_operator(),
        tuple(m.organisation for m in catalogue.mahs(3)),
        (catalogue.provincial_cdc(), *catalogue.vaccination_sites()),
        (catalogue.provincial_regulator(),),
    )


def wipe(settings: Settings) -> None:
    """Remove an earlier demo's databases, certificates and keys (a new demo is a new log: a
    new key, so no witness mistakes it for a fork)."""
    for role in ROLES:
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings.data_dir / f"{role}.sqlite") + suffix).unlink(missing_ok=True)
    folders = (settings.data_dir / "ledger", settings.data_dir / "exchange", settings.pki_dir)
    for folder in folders:
        for item in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
            item.rmdir() if item.is_dir() else item.unlink()


def build(settings: Settings, units: int, seed: int, progress: Callable[[int], None]) -> Demo:
    """Onboard the local systems, make and ship the province's vaccines."""
    who = cast()
    local.issue_certificates(settings, who)
    app = build_app(settings)
    trace = app.state.trace
    yesterday = local_date(datetime.now(UTC)) - timedelta(days=1)
    province = build_province(
        trace,
        units=units,
        seed=seed,
        progress=progress,
        gate_lines=len(GATE_KINDS) - 1,
        expired_on=yesterday,
    )
    local.register(settings, app.state.platform, who)
    return Demo(settings, app, province, sample_codes(trace))


def run(demo: Demo, timeout: float = 120.0) -> None:
    """Serve the app in-process and check it: every node converges on the platform's
    registry, every shipping note reaches the province through the platform, and every
    sample answers through the HTTP API with proofs."""
    with TestClient(demo.app) as client:
        demo.failures += _sync_registry(demo, timeout)
        if demo.failures:  # the nodes do not know each other: nothing further can work
            return
        demo.failures += _await_notes(demo, timeout)
        demo.failures += _check_samples(demo, client)
        demo.failures += _check_public_entry(demo, client)
        demo.failures += _province_day(demo, client, timeout)
        if not demo.failures and demo.vaccinated is not None:  # a demo that shipped goods
            demo.failures += _check_certificate(demo, client)
        demo.failures += _regulator_view(demo, client, timeout)
        if not demo.failures:
            demo.failures += _gate_day(demo, client, timeout)
        if not demo.failures:
            demo.failures += _refused_downstream(demo, client, timeout)


def _province_day(demo: Demo, client: TestClient, timeout: float) -> list[str]:
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
    top = _receive_and_supply(client, (as_cdc, as_pov), pov, note["note_no"], "demo", now)
    if top.startswith("!"):
        return [f"province step {top[1:]}"]
    dose = _a_dose_inside(client, top, as_pov)
    used = client.post(
        f"{api}/vaccinations",
        json=_document("demo-vaccination")
        | {"code": dose, "vaccinator": "李护士", "dose_number": 1},
        headers=as_pov,
    )
    if used.status_code != 201:
        return [f"vaccination: HTTP {used.status_code} {used.text[:300]}"]
    demo.vaccinated = dose
    return _await_history(demo, client, dose, ["107", "209", "107", "322"], timeout)


def _check_certificate(demo: Demo, client: TestClient) -> list[str]:
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


GATE_KINDS = ("excursion", "good", "locked", "recalled", "expired")
"""The doses the gate must tell apart, each from a batch of its own."""


def _gate_day(demo: Demo, client: TestClient, timeout: float) -> list[str]:
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
        top = _receive_and_supply(
            client, (staff[cdc], staff[pov]), pov, note_no, f"gate-{kind}", when
        )
        if top.startswith("!"):
            return [top[1:]]
        doses[kind] = _a_dose_inside(client, top, staff[pov])
        if kind == "excursion":  # the site's freezer fails while only this case is in it
            failure = _freezer_excursion(client, staff[pov])
            if failure:
                return [failure]
    demo.gate = {"site": pov} | {f"{kind}_dose": code for kind, code in doses.items()}
    mah_auth = {"Authorization": f"Bearer {demo.province.tokens[chosen['locked'].mah_uscc]}"}
    started = time.monotonic()
    locked = client.post(
        "/trace/v1/locks",
        json=_document("gate-lock")
        | {"kind": "pending", "batch_nos": [chosen["locked"].batch_no], "reason": "演示: 质量复核"},
        headers=mah_auth,
    )
    recall_auth = {"Authorization": f"Bearer {demo.province.tokens[chosen['recalled'].mah_uscc]}"}
    recalled = client.post(
        "/trace/v1/recalls",
        json=_document("gate-recall")
        | {
            "recall_no": "ZH-DEMO-1",
            "batch_nos": [chosen["recalled"].batch_no],
            "reason": "演示: 召回",
            "level": 2,
            "range": "province",
        },
        headers=recall_auth,
    )
    for answer in (locked, recalled):
        if answer.status_code != 201:
            return [f"MAH step: HTTP {answer.status_code} {answer.text[:300]}"]
    return _await_gate(demo, client, staff[pov], started, timeout)


def _document(client_document_id: str) -> dict[str, Any]:
    return {
        "client_document_id": client_document_id,
        "document_no": client_document_id.upper(),
        "business_time": datetime.now(UTC).isoformat(),
    }


def _gate_batches(demo: Demo) -> dict[str, SimBatch] | None:
    """A batch for each kind of dose the gate tells apart, shipped whole for the purpose by
    the simulator (the last one expired yesterday)."""
    made = demo.province.gate_batches
    if len(made) != len(GATE_KINDS):
        return None
    return dict(zip(GATE_KINDS, made, strict=True))


def _receive_and_supply(
    client: TestClient,
    staff: tuple[dict[str, str], dict[str, str]],
    pov: str,
    note_no: str,
    prefix: str,
    when: str,
) -> str:
    """The CDC scans and confirms a note and supplies its first case to the site ``pov``,
    which scans and confirms that case in turn (``staff``: the CDC's and the site's
    credentials): answers the case's code, or ``!`` and what went wrong."""
    as_cdc, as_pov = staff
    api = "/immunization/v1"
    notes = client.get(f"{api}/receipts", headers=as_cdc).json()
    codes = next((list(n["codes"]) for n in notes if n["note_no"] == note_no), [])
    for code in codes:
        client.post(f"{api}/receipts/{note_no}/scans", json={"code": code}, headers=as_cdc)
    if not codes:
        return f"!no codes on {note_no}"
    at = {"business_time": when}
    supply = _document(f"{prefix}-supply") | at | {"codes": codes[:1], "receiver_uscc": pov}
    arrived = f"{api}/receipts/{supply['document_no']}"
    records = f"{api}/temperature-records"
    steps = [
        (records, as_cdc, _journey(f"{prefix}-trip", note_no, when)),
        (f"{api}/receipts/{note_no}/confirm", as_cdc, _document(f"{prefix}-receipt") | at),
        (f"{api}/distributions", as_cdc, supply),
        (f"{arrived}/scans", as_pov, {"code": codes[0]}),
        (records, as_pov, _journey(f"{prefix}-van", supply["document_no"], when)),
        (f"{arrived}/confirm", as_pov, _document(f"{prefix}-arrival") | at),
    ]
    for path, who, body in steps:
        answer = client.post(path, json=body, headers=who)
        if answer.status_code != 201:
            return f"!{path} ({note_no}): HTTP {answer.status_code} {answer.text[:300]}"
    return str(codes[0])


def _journey(client_document_id: str, delivery: str, arrived: str) -> dict[str, Any]:
    """The logger record of a delivery's journey (the two hours before it arrived, at 4–6 °C),
    which its receiver uploads before confirming the receipt."""
    end = datetime.fromisoformat(arrived)
    readings = [
        {"time": (end - timedelta(minutes=10 * n)).isoformat(), "celsius": 4.0 + (n % 3)}
        for n in range(12, -1, -1)
    ]
    return {
        "client_document_id": client_document_id,
        "equipment_id": f"LOGGER-{client_document_id.upper()}",
        "kind": "transport",
        "product_class": "freeze_sensitive_2_8",
        "related_document_no": delivery,
        "readings": readings,
    }


EXPECTED_REASON = {
    "locked": "locked",
    "recalled": "recalled",
    "expired": "expired",
    "excursion": "cold_chain_excursion",
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
                if kind == "locked":
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


def _a_dose_inside(client: TestClient, top: str, headers: dict[str, str], nth: int = 0) -> str:
    """The ``nth`` code (first by default) of the innermost level down from ``top`` (a dose),
    from the site's stock, one packing level at a time."""
    code = top
    for _level in range(3):
        answer = client.get("/immunization/v1/stock", params={"code": code}, headers=headers)
        inside = answer.json().get("inside") or []
        if not inside:
            break
        code = str(inside[0] if len(inside) <= nth else inside[nth])
    return code


def _refused_downstream(demo: Demo, client: TestClient, timeout: float) -> list[str]:
    """A report the MAH's trace system refuses becomes an alert at the site: the MAH locks a
    dose whose lock signal is still on its way (the demo writes the lock without sending its
    signal), the site — not knowing — records the vaccination, and the trace system refuses
    the report; the refusal travels back trace → platform → province within seconds."""
    pov = demo.gate["site"]
    as_pov = {"Authorization": f"Bearer {demo.staff[pov]}"}
    top = client.get(
        "/immunization/v1/stock", params={"code": demo.gate["good_dose"]}, headers=as_pov
    ).json()["parent_code"]
    dose = _a_dose_inside(client, top, as_pov, nth=1)
    trace = demo.app.state.trace
    owner = trace.trace(dose)["product"]["mah_uscc"]
    lock = Lock.model_validate(
        _document("demo-late-lock") | {"codes": [dose], "kind": "pending", "reason": "演示: 在途"}
    )
    locks.lock(trace.engine, owner, lock, trace.clock)  # no outbox: the signal has not left yet
    used = client.post(
        "/immunization/v1/vaccinations",
        json=_document("demo-refused")
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


def _await_history(
    demo: Demo, client: TestClient, code: str, bills: list[str], timeout: float
) -> list[str]:
    """Wait until the trace system's history of ``code`` ends with ``bills``."""
    auth = {"Authorization": f"Bearer {demo.token}"}
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


def _regulator_view(demo: Demo, client: TestClient, timeout: float) -> list[str]:
    """The province's regulator sees, through the supervision system, every shipping note to
    its province and the province's steps (the platform copies each step there)."""
    regulator = cast().regulators[0].uscc
    auth = {"Authorization": f"Bearer {demo.staff[regulator]}"}
    wanted = demo.exchanged.get("shipping notes", 0)
    reported = 3 if demo.vaccinated else 0
    deadline = time.monotonic() + timeout
    bills: list[str] = []
    while time.monotonic() < deadline:
        bills = _bills_seen(client, auth)
        if bills.count("201") >= wanted and len(bills) - bills.count("201") >= reported:
            demo.exchanged["steps the province's regulator sees"] = len(bills)
            return []
        time.sleep(0.05)
    return [f"the regulator sees {len(bills)} steps, not {wanted} notes and {reported} reports"]


def _bills_seen(client: TestClient, auth: dict[str, str]) -> list[str]:
    """The bill type of every step a regulator sees, page by page."""
    bills: list[str] = []
    params: dict[str, int] = {"limit": 1000}
    while True:
        steps = client.get("/supervision/v1/steps", params=params, headers=auth).json()["steps"]
        bills += [s["bill_type"] for s in steps]
        if len(steps) < params["limit"]:
            return bills
        params["before"] = steps[-1]["id"]


def _sync_registry(demo: Demo, timeout: float) -> list[str]:
    """Every node keeps in step with the platform by itself (every ``registry_sync_seconds``,
    first at start): the trace system publishes its coding rules and products and comes to
    know the province's CDC and vaccination sites; the province node takes the units its
    system represents, the supervision node its regulator. Their staff then get tokens."""
    who, state = cast(), demo.app.state
    nodes = {  # who must come to know whom, through the registry only
        "trace": (state.trace.engine, trace_schema.organisation, who.province),
        "province": (state.immunization.engine, province_schema.organisation, who.province),
        "supervision": (state.supervision.engine, supervision_schema.regulator, who.regulators),
    }
    deadline = time.monotonic() + timeout
    while True:
        missing = {name: _unknown(*node) for name, node in nodes.items()}
        if not any(missing.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    learnt = sum(len(orgs) - len(missing[name]) for name, (_e, _t, orgs) in nodes.items())
    demo.exchanged["organisations learnt from the registry"] = learnt
    if any(missing.values()):
        return [f"the {name} node does not know {', '.join(m)}" for name, m in missing.items() if m]
    for org in who.province:
        demo.staff[org.uscc] = state.immunization.issue_token(org.uscc, "demo")
    for org in who.regulators:
        demo.staff[org.uscc] = state.supervision.issue_token(org.uscc, "demo")
    return []


def _unknown(engine: Engine, register: Table, orgs: tuple[Organisation, ...]) -> list[str]:
    """The organisations among ``orgs`` not (yet) in a node's ``register``."""
    with read_tx(engine) as conn:
        held = held_keys(conn, register, [o.uscc for o in orgs])
    return [o.uscc for o in orgs if o.uscc not in held]


def _await_notes(demo: Demo, timeout: float) -> list[str]:
    with read_tx(demo.app.state.trace.engine) as conn:
        shipped = int(conn.execute(select(func.count()).select_from(shipping_note)).scalar_one())
    deadline = time.monotonic() + timeout
    arrived = demo.app.state.immunization.count()
    while arrived < shipped and time.monotonic() < deadline:
        time.sleep(0.05)
        arrived = demo.app.state.immunization.count()
    demo.exchanged["shipping notes"] = arrived
    if arrived != shipped:
        return [f"{arrived} of {shipped} shipping notes reached the province"]
    return []


def _check_samples(demo: Demo, client: TestClient) -> list[str]:
    failures: list[str] = []
    samples = demo.samples
    if not any(s.startswith("8") for s in samples) or not any(s.startswith("01") for s in samples):
        failures.append("samples lack a 20-digit or a GS1 code")
    auth = {"Authorization": f"Bearer {demo.token}"}
    for value in samples:
        answer = client.get("/trace/v1/codes", params={"code": value}, headers=auth)
        public = client.get("/trace/v1/public/codes", params={"code": value})
        if answer.status_code != 200 or not answer.json().get("history"):
            failures.append(f"trace {value}: HTTP {answer.status_code}")
        elif public.status_code != 200 or "holder_uscc" in public.json():
            failures.append(f"public view {value}: HTTP {public.status_code}")
    return failures + _check_history_proofs(client, samples[:1], demo.token)


def _check_public_entry(demo: Demo, client: TestClient) -> list[str]:
    """The platform's public entry resolves each sample and asks the trace system (in-process)."""
    failures = []
    for value in demo.samples:
        answer = client.get("/platform/v1/public/codes", params={"code": value})
        if answer.status_code != 200:
            failures.append(f"public entry {value}: HTTP {answer.status_code} {answer.text[:200]}")
        elif answer.json()["resolved"]["system_id"] != LOCAL_SYSTEMS["trace"]:
            failures.append(f"public entry {value}: resolved to {answer.json()['resolved']}")
    return failures


def _check_history_proofs(client: Any, samples: list[str], token: str) -> list[str]:
    """Every event of a sample's history is proven in the signed log, checked offline."""
    failures = []
    for value in samples:
        answer = client.get(
            "/trace/v1/codes",
            params={"code": value, "proofs": "true"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        ledger = answer["ledger"]
        for event in answer["history"]:
            proof = event["ledger"]
            bundle = proof | {
                "event_id": event["event_id"],
                "log_key": ledger["log_key"],
                "checkpoint": ledger["checkpoints"][str(proof["tree_size"])],
            }
            try:
                check_proof(bundle)
            except NoteError as exc:
                failures.append(f"event {event['event_id']} of {value}: {exc}")
    return failures
