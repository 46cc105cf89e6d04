"""A regulator's lock crosses the nodes, in the one-process federation the demo runs: the
province's regulator locks a batch through the supervision system; the lock travels
supervision → platform → the province (and the MAH's trace system), the site's dose gate
refuses a dose of it as ``locked``, the trace system records it as the regulator's; resolved
pending → normal, the gate lets the dose through again. A lock the MAH's trace system
refuses (a dose already given) comes back to the regulator as a finding."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from vaxtrace import demo
from vaxtrace.settings import Settings
from vaxtrace.store.supervision.schema import supervised_step
from vaxtrace.store.trace.schema import trace_code


def _until(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_a_regulators_lock_stops_the_dose_at_the_site_until_resolved(tmp_path: Any) -> None:
    built = demo.build(Settings(data_dir=tmp_path), 2000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    assert built.failures == []
    regulator = demo.cast().regulators[0].uscc
    site = built.gate["site"]
    dose = built.gate["good_dose"]
    as_regulator = {"Authorization": f"Bearer {built.staff[regulator]}"}
    as_site = {"Authorization": f"Bearer {built.staff[site]}"}
    trace, watch = built.app.state.trace, built.app.state.supervision
    with TestClient(built.app) as client:

        def gate() -> dict[str, Any]:
            answer = client.post(
                "/immunization/v1/dose-checks", json={"code": dose}, headers=as_site
            )
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        def status_at_the_mah() -> str:
            with trace.engine.connect() as conn:
                query = select(trace_code.c.status).where(trace_code.c.code == dose)
                return str(conn.execute(query).scalar_one())

        assert gate()["allowed"] is True
        chain = client.get(f"/supervision/v1/codes/{dose}/chain", headers=as_regulator)
        assert chain.status_code == 200, chain.text
        batch = chain.json()["batch"]
        order = {
            "mah_uscc": batch["mah_uscc"],
            "batch_nos": [batch["batch_no"]],
            "lock_kind": "pending",
            "reason": "抽检不合格待复核",
            "evidence": ["检验报告 JY-2026-001", "温度记录 sha256:ab12"],
        }
        locked = client.post("/supervision/v1/locks", json=order, headers=as_regulator)
        assert locked.status_code == 201, locked.text
        lock = locked.json()
        assert (lock["state"], lock["regulator_uscc"]) == ("pending", regulator)

        refused = _until(gate, lambda g: "locked" in g["reasons"])
        assert refused["allowed"] is False and "locked" in refused["reasons"], refused
        assert _until(status_at_the_mah, lambda s: s == "pending") == "pending"

        def control_steps() -> list[Any]:
            with watch.engine.connect() as conn:
                query = select(supervised_step.c.bill_type, supervised_step.c.org_uscc).where(
                    supervised_step.c.document_no.like(lock["document_no"] + "%")
                )
                return list(conn.execute(query).all())

        # the lock comes back to the supervision node as a 911 step done by the regulator
        assert ("911", regulator) in _until(control_steps, lambda s: ("911", regulator) in s)

        resolve = {"outcome": "normal", "reason": "复检合格"}
        path = f"/supervision/v1/locks/{lock['id']}/resolve"
        answer = client.post(path, json=resolve, headers=as_regulator)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "resolved"
        again = client.post(path, json=resolve, headers=as_regulator)
        assert again.status_code == 409 and again.json()["reason"] == "lock_not_pending"

        passed = _until(gate, lambda g: g["allowed"])
        assert passed["allowed"] is True, passed
        assert _until(status_at_the_mah, lambda s: s != "pending") != "pending"
        assert ("912", regulator) in _until(control_steps, lambda s: ("912", regulator) in s)
        listed = client.get("/supervision/v1/locks", headers=as_regulator).json()["locks"]
        assert [(x["id"], x["state"]) for x in listed] == [(lock["id"], "resolved")]
        assert listed[0]["evidence"] == order["evidence"]

        # a lock of the dose alone, to be recalled: the gate and the MAH agree again
        only = {"mah_uscc": batch["mah_uscc"], "codes": [dose], "lock_kind": "to_be_recalled"}
        answer = client.post(
            "/supervision/v1/locks", json=only | {"reason": "个案"}, headers=as_regulator
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["batch_nos"] == [batch["batch_no"]]
        refused = _until(gate, lambda g: "locked" in g["reasons"])
        assert "locked" in refused["reasons"], refused
        held = _until(status_at_the_mah, lambda s: s == "to_be_recalled")
        assert held == "to_be_recalled"

        # a dose already given cannot be locked at the MAH: the refusal comes back
        given = built.vaccinated
        assert given is not None
        owner = client.get(f"/supervision/v1/codes/{given}/chain", headers=as_regulator)
        order = {
            "mah_uscc": owner.json()["batch"]["mah_uscc"],
            "codes": [given],
            "lock_kind": "abnormal",
            "reason": "接种后异常反应",
        }
        answer = client.post("/supervision/v1/locks", json=order, headers=as_regulator)
        assert answer.status_code == 201, answer.text
        number = answer.json()["document_no"]

        def refusals() -> list[dict[str, Any]]:
            found = client.get("/supervision/v1/findings", headers=as_regulator)
            return [
                f
                for f in found.json()["findings"]
                if f["kind"] == "exchange_refusal" and f["document_no"] == number
            ]

        # the refusal names the regulator's order (its document) and the receiver's reason
        back = _until(refusals, bool)
        assert back, "the trace system's refusal did not come back to the regulator"
        assert back[0]["codes"] == [given] and back[0]["org_uscc"] == regulator
        assert back[0]["reason"] in ("terminal_status", "illegal_transition"), back[0]
