"""A MAH's level-1 recall (一级召回), end to end in the one-process federation the demo runs
(``--role all``: each role on its own database, talking only through the exchange): the MAH
recalls a batch, the site's gate refuses its dose (the demo's gate day), the supervision node
tracks every dose of the batch and the platform announces the recall; the site sends its case
back to the CDC, the CDC sends the batch back to the MAH, and the supervision node's
completion rate climbs to 100 %; the MAH closes the recall, and the supervision node and the
public notice close with it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from vaxtrace import demo
from vaxtrace.core.reasons import DoseReason
from vaxtrace.demo.world import GATE_KINDS
from vaxtrace.settings import Settings


def _until(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _write(n: str) -> dict[str, Any]:
    return {
        "client_document_id": n,
        "document_no": n.upper(),
        "business_time": datetime.now(UTC).isoformat(),
    }


def test_a_recall_runs_down_to_the_site_and_back_up_to_its_completion(tmp_path: Path) -> None:
    built = demo.build(Settings(data_dir=tmp_path), 2000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    assert built.failures == []
    cdc, pov = (o.uscc for o in demo.cast().province[:2])
    regulator = demo.cast().regulators[0].uscc
    recalled = built.province.gate_batches[GATE_KINDS.index(DoseReason.RECALLED)]
    mah = recalled.mah_uscc
    as_ = {who: {"Authorization": f"Bearer {built.staff[who]}"} for who in (cdc, pov, regulator)}
    as_mah = {"Authorization": f"Bearer {built.province.tokens[mah]}"}
    with TestClient(built.app) as client:

        def the_recall() -> dict[str, Any]:
            listed = client.get("/supervision/v1/recalls", headers=as_[regulator]).json()
            ours = [r for r in listed["recalls"] if r["batch_nos"] == [recalled.batch_no]]
            if not ours:
                return {}
            answer = client.get(f"/supervision/v1/recalls/{ours[0]['id']}", headers=as_[regulator])
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        started = _until(the_recall, bool)
        assert (started["recall_no"], started["mah_uscc"], started["state"]) == (
            "ZH-DEMO-1",
            mah,
            "open",
        )
        assert started["level"] == 1
        stop = next(m for m in started["milestones"] if m["kind"] == "stop")
        hours = datetime.fromisoformat(stop["due_at"]) - datetime.fromisoformat(
            started["started_at"]
        )
        assert hours.total_seconds() == 24 * 3600  # level 1: stop within 24 h (DOMAIN.md §10)
        units = started["completion"]["units"]
        assert units > 0 and started["completion"]["completion_rate"] < 1
        in_stock = {h["holder_uscc"] for h in started["holders"] if h["state"] == "in_stock"}
        assert pov in in_stock, started["holders"]
        public = client.get("/platform/v1/public/recalls").json()["recalls"]
        assert [(n["recall_no"], n["state"]) for n in public] == [("ZH-DEMO-1", "open")]
        dose = client.get(
            "/platform/v1/public/codes", params={"code": built.gate["recalled_dose"]}
        ).json()
        assert dose["recall_notices"][0]["recall_no"] == "ZH-DEMO-1"

        # the site sends the case it holds back to the CDC, which sends the batch to the MAH
        notes = client.get("/immunization/v1/receipts", headers=as_[cdc]).json()
        cases = [c for n in notes if n["note_no"] in recalled.shipped_notes for c in n["codes"]]
        back = {"reason_code": "recall"}
        to_cdc = _write("e2e-return-1") | back | {"codes": cases[:1], "counterparty_uscc": cdc}
        answer = client.post("/immunization/v1/returns", json=to_cdc, headers=as_[pov])
        assert answer.status_code == 201, answer.text
        to_mah = _write("e2e-return-2") | back | {"codes": cases, "counterparty_uscc": mah}
        answer = client.post("/immunization/v1/returns", json=to_mah, headers=as_[cdc])
        assert answer.status_code == 201, answer.text
        done = _until(the_recall, lambda r: r["completion"]["completion_rate"] == 1.0)
        assert done["completion"]["by_state"]["returned"] == units, done["completion"]
        rates = [p["completion_rate"] for p in done["progress"]]
        assert rates[0] < 1 and rates[-1] == 1.0

        # the MAH closes its recall: so does the supervision node, and the public notice
        closure = _write("e2e-closure") | {"recall_no": "ZH-DEMO-1", "summary": "全部退回"}
        answer = client.post("/trace/v1/recall-closures", json=closure, headers=as_mah)
        assert answer.status_code == 201, answer.text
        closed = _until(the_recall, lambda r: r["state"] == "closed")
        assert (closed["state"], closed["closed_by"]) == ("closed", mah)
        assert closed["summary"]["summary"] == "全部退回"
        public = _until(
            lambda: client.get("/platform/v1/public/recalls").json()["recalls"],
            lambda n: n[0]["state"] == "closed",
        )
        assert public[0]["state"] == "closed"
