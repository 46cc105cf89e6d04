"""Stock that people can use, in the one-process federation the demo runs (``--role all``): the
site's stock in doses shows what the gate stops and why; the expiry run at start records the
batch that expired; the site scraps the expired dose and destroys the frozen one, each step
travels province → platform → the MAH's trace system and the regulator, and what the MAH
would refuse (a pending lock, a recall) the province refuses first, so no alert is raised."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from vaxtrace import demo
from vaxtrace.settings import Settings
from vaxtrace.store.immunization.schema import expired_batch

API = "/immunization/v1"


def _document(tag: str, **body: Any) -> dict[str, Any]:
    return {
        "client_document_id": tag,
        "document_no": tag.upper(),
        "business_time": datetime.now(UTC).isoformat(),
    } | body


def _until(read: Any, done: Any, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_the_sites_stock_and_its_disposals_reach_the_mah(tmp_path: Path) -> None:
    built = demo.build(Settings(data_dir=tmp_path), 2000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    assert built.failures == []
    gate, cdc = built.gate, demo.cast().province[0].uscc
    site, regulator = gate["site"], demo.cast().regulators[0].uscc
    as_pov = {"Authorization": f"Bearer {built.staff[site]}"}
    as_cdc = {"Authorization": f"Bearer {built.staff[cdc]}"}
    as_regulator = {"Authorization": f"Bearer {built.staff[regulator]}"}
    trace, province = built.app.state.trace, built.app.state.immunization
    with TestClient(built.app) as client:  # a new start: the expiry run sees the expired batch
        with province.engine.connect() as conn:
            recorded = conn.execute(select(expired_batch.c.batch_no, expired_batch.c.doses)).all()
        assert len(recorded) == 1 and recorded[0][1] > 0

        summary = _until(  # the registry's products reach the province: names, and which
            # codes are boxes (an emptied box is no dose)
            lambda: client.get(f"{API}/stock/summary", headers=as_pov).json(),
            lambda s: all(line["product_name"] for line in s["lines"]),
        )
        assert all(line["product_name"] for line in summary["lines"])
        statuses = {k for k, n in summary["by_status"].items() if n}
        assert {"usable", "locked", "recalled", "expired", "excursion"} <= statuses
        examples = {line["status"]: line["example_code"] for line in summary["lines"]}
        assert examples["expired"] and examples["locked"]  # a pack to go and look at
        expired = client.get(f"{API}/stock/expired", headers=as_pov).json()["batches"]
        assert [b["batch_no"] for b in expired] == [recorded[0][0]]
        area = client.get(f"{API}/stock/province", headers=as_cdc).json()
        at_site = next(u for u in area["units"] if u["uscc"] == site)
        assert at_site["doses"] == summary["doses"] and area["doses"] >= summary["doses"]

        alerts_before = len(client.get(f"{API}/alerts", headers=as_pov).json()["alerts"])
        scrapped = client.post(
            f"{API}/scraps",
            json=_document("scr-1", codes=[gate["expired_dose"]], reason="过期"),
            headers=as_pov,
        )
        assert scrapped.status_code == 201, scrapped.text
        destroyed = client.post(
            f"{API}/destructions",
            json=_document(
                "des-1",
                codes=[gate["excursion_dose"]],
                reason="冷冻超标",
                executor="王五",
                supervisor="赵六",
            ),
            headers=as_pov,
        )
        assert destroyed.status_code == 201, destroyed.text
        for kind, reason in (("locked_dose", "locked"), ("recalled_dose", "recalled")):
            refused = client.post(
                f"{API}/scraps",
                json=_document(f"scr-{kind}", codes=[gate[kind]], reason="x"),
                headers=as_pov,
            )
            assert (refused.status_code, refused.json()["reason"]) == (409, reason)

        for dose, bill in ((gate["expired_dose"], "216"), (gate["excursion_dose"], "205")):
            found = _until(
                lambda dose=dose: trace.trace(dose), lambda f: f["status"] == "destroyed"
            )
            assert (found["status"], found["holder_uscc"]) == ("destroyed", site)
            assert found["history"][-1]["bill_type"] == bill
        last = trace.trace(gate["excursion_dose"])["history"][-1]["payload"]
        assert (last["executor"], last["supervisor"]) == ("王五", "赵六")

        def bills() -> list[str]:
            steps = client.get("/supervision/v1/steps", headers=as_regulator).json()
            return [s["bill_type"] for s in steps["steps"]]

        assert {"216", "205"} <= set(_until(bills, lambda b: {"216", "205"} <= set(b)))
        after = client.get(f"{API}/stock/summary", headers=as_pov).json()
        assert after["doses"] == summary["doses"] - 2
        alerts = client.get(f"{API}/alerts", headers=as_pov).json()["alerts"]
        assert len(alerts) == alerts_before
