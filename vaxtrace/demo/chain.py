"""Running the chain: serve the demo's app in-process and check, phase by phase, that the
nodes converge on the platform's registry, every shipping note reaches the province, every
sample answers (with its proofs, and through the platform's public entry), the province's day
and the dose gate's day work, and the province's regulator sees it all."""

from __future__ import annotations

import time
import warnings
from typing import Any

from sqlalchemy import Engine, Table, func, select

from vaxtrace.core.datasets.basic_data import Organisation
from vaxtrace.demo.anomalies_day import anomalies_day
from vaxtrace.demo.children_day import children_day
from vaxtrace.demo.gate_day import gate_day, refused_downstream
from vaxtrace.demo.province_day import check_certificate, province_day
from vaxtrace.demo.public_day import public_day
from vaxtrace.demo.school_day import school_day
from vaxtrace.demo.validation_day import validation_day
from vaxtrace.demo.world import Demo, cast
from vaxtrace.ledger.checkpoint import NoteError
from vaxtrace.ledger.proofs import check_proof
from vaxtrace.node import LOCAL_SYSTEMS
from vaxtrace.store.engine import read_tx
from vaxtrace.store.immunization import schema as province_schema
from vaxtrace.store.rows import held_keys
from vaxtrace.store.supervision import schema as supervision_schema
from vaxtrace.store.trace import schema as trace_schema
from vaxtrace.store.trace.schema import shipping_note

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def run(demo: Demo, timeout: float = 120.0, *, anomalies: bool = False, seed: int = 1) -> None:
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
        demo.failures += province_day(demo, client, timeout)
        if not demo.failures and demo.vaccinated is not None:  # a demo that shipped goods
            demo.failures += check_certificate(demo, client)
        demo.failures += _regulator_view(demo, client, timeout)
        if not demo.failures:
            demo.failures += gate_day(demo, client, timeout)
        if not demo.failures:
            demo.failures += refused_downstream(demo, client, timeout)
        if not demo.failures:
            demo.failures += children_day(demo, client)
        if not demo.failures:
            demo.failures += public_day(demo, client)
        if not demo.failures:
            demo.failures += school_day(demo, client)
        if not demo.failures:
            demo.failures += validation_day(demo, timeout)
        if anomalies and not demo.failures:
            demo.failures += anomalies_day(demo, timeout, seed)


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
    for value in samples:
        auth = {"Authorization": f"Bearer {demo.token_of(value)}"}
        answer = client.get("/trace/v1/codes", params={"code": value}, headers=auth)
        public = client.get("/trace/v1/public/codes", params={"code": value})
        if answer.status_code != 200 or not answer.json().get("history"):
            failures.append(f"trace {value}: HTTP {answer.status_code}")
        elif public.status_code != 200 or "holder_uscc" in public.json():
            failures.append(f"public view {value}: HTTP {public.status_code}")
    return failures + _check_history_proofs(client, samples[:1], demo.token_of(samples[0]))


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
