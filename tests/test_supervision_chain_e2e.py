"""A dose's whole chain reaches the supervision node, in the one-process federation the demo
runs (``--role all``): the MAH's production (101), self-inspection and lot release (901, 902)
and shipping note (201), the provincial CDC's receipt (107) and distribution (209), the
site's receipt (107) and vaccination (322), each sent by the node that did it, through the
platform; the regulator's chain route answers it in time order. The MAH's locks and recalls
and the sites' cold-chain excursions arrive as steps too, each an alert of the regulator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from vaxtrace import demo
from vaxtrace.settings import Settings
from vaxtrace.store.supervision.schema import supervised_code_step, supervised_step

CHAIN = ["101", "902", "201", "107", "209", "107", "322"]


def _until(read: Any, done: Any, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _in_order(wanted: list[str], bills: list[str]) -> bool:
    """``wanted`` appears in ``bills`` in that order (other steps may come between)."""
    rest = iter(bills)
    return all(any(b == w for b in rest) for w in wanted)


def test_a_doses_whole_chain_reaches_the_supervision_node(tmp_path: Path) -> None:
    built = demo.build(Settings(data_dir=tmp_path), 2000, 1, lambda _n: None)
    demo.run(built, timeout=60)
    assert built.failures == []
    regulator = demo.cast().regulators[0].uscc
    watch = built.app.state.supervision
    as_regulator = {"Authorization": f"Bearer {built.staff[regulator]}"}
    with TestClient(built.app) as client:

        def vaccinated() -> list[str]:
            with watch.engine.connect() as conn:
                query = select(supervised_code_step.c.code).where(
                    supervised_code_step.c.bill_type == "322"
                )
                return [str(c) for c in conn.execute(query.limit(50)).scalars()]

        def chain(code: str) -> dict[str, Any]:
            answer = client.get(f"/supervision/v1/codes/{code}/chain", headers=as_regulator)
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        codes = _until(vaccinated, bool)
        assert codes, "no vaccination reached the supervision node"
        whole = _until(
            lambda: [chain(c) for c in codes],
            lambda chains: any(
                _in_order(CHAIN, [s["bill_type"] for s in c["steps"]]) for c in chains
            ),
        )
        found = [c for c in whole if _in_order(CHAIN, [s["bill_type"] for s in c["steps"]])]
        assert found, [[s["bill_type"] for s in c["steps"]] for c in whole[:3]]
        one = found[0]
        times = [s["business_time"] for s in one["steps"]]
        assert times == sorted(times)
        assert one["batch"] is not None and one["batch"]["batch_no"]
        bills = [s["bill_type"] for s in one["steps"]]
        assert "901" in bills  # the batch's self-inspection too
        by_bill = {s["bill_type"]: s for s in one["steps"]}
        assert by_bill["902"]["detail"]["certificate_no"]
        assert by_bill["322"]["detail"] is None  # no personal data travels
        with watch.engine.connect() as conn:
            kinds = set(conn.execute(select(supervised_step.c.bill_type).distinct()).scalars())
        # and the rest of what the chain reports: the MAH's lock (911) and recall (913) as
        # steps, a site's cold-chain excursion (931) on the codes it held
        assert {"901", "911", "913", "931"} <= kinds
        # each excursion is an alert about the fridge, tiered as the province judged it
        with watch.engine.connect() as conn:
            excursions = conn.execute(
                select(func.count()).where(supervised_step.c.bill_type == "931")
            ).scalar_one()
        raised = client.get(
            "/supervision/v1/alerts",
            params={"rule": "temperature_excursion", "limit": 500},
            headers=as_regulator,
        ).json()["alerts"]
        assert len(raised) == excursions
        assert {a["subject_kind"] for a in raised} == {"fridge"}
        assert {a["severity"] for a in raised} <= {"notice", "warning", "severe"}
        assert all(a["detail"]["tier"] == a["severity"] for a in raised)
        unknown = client.get("/supervision/v1/codes/0000/chain", headers=as_regulator)
        assert unknown.status_code == 404
