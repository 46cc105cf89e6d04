"""A regulator's own locks (监管锁定), on both backends: a regulator locks a MAH's batches or
codes seen inside its area, with reason and evidence, and resolves a pending lock; the order is
kept, journaled and sent to the platform as a safety signal naming the regulator. Goods unknown
or seen only outside the area, orders without a reason, a neighbour resolving another area's
lock are refused with a reason code, and nothing is kept; a refusal by the platform stands the
order refused and becomes a finding for the regulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from tests.refusals import refused_with
from tests.roles.supervision.test_jurisdiction import COUNTY, MAH, NEIGHBOUR, PROVINCE, copy
from tests.roles.supervision.test_service import PLATFORM, PLATFORM_SIGNER
from vaxtrace.app import build_app
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.regulator_locks import LockOrder, LockResolution
from vaxtrace.exchange.delivery import PLATFORM as TO_PLATFORM
from vaxtrace.exchange.delivery import Outbox, Refused
from vaxtrace.exchange.envelope import Ed25519Signer, payload_of
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import read_tx
from vaxtrace.store.supervision.exchange import exchange_store
from vaxtrace.store.supervision.schema import exchange, journal, regulator_lock

CASE = "80000010000000031"  # a case holding HERE and THERE, warehoused in 320100
HERE = "80000010000000017"  # received in 320106
THERE = "80000010000000024"  # received in 320111
ELSEWHERE = "80000010000000048"  # of batch B2, only ever in 320111
OTHER_MAH = make_uscc("91320100MA1X00099")
PROBLEM = "application/problem+json"


def _regulators(svc: SupervisionService) -> None:
    for uscc, name, division in (
        (PROVINCE, "示例省药品监督管理局", "320000"),
        (COUNTY, "鼓楼区市场监督管理局", "320106"),
        (NEIGHBOUR, "浦口区市场监督管理局", "320111"),
    ):
        svc.register_organisation(
            Organisation(uscc=uscc, name=name, kind=OrgKind.REGULATOR, division_code=division)
        )


def _chain(engine: Engine) -> None:
    """What the platform copied here: batch B1 (a case of two doses) made in 320100, one dose
    received in 320106, the other in 320111; batch B2 made in 320100, received in 320111."""
    feed = SupervisionService(engine, "platform", PLATFORM_SIGNER.verifier())
    b1 = {"mah_uscc": MAH, "batch_nos": ["B1"]}
    b2 = {"mah_uscc": MAH, "batch_nos": ["B2"]}
    held = {CASE: [HERE, THERE]}
    taken = feed.receive_batch(
        PLATFORM,
        [
            copy(1, "101", "320100", MAH, "01T09:00:00", codes=[CASE], contents=held, **b1),
            copy(2, "107", "320106", COUNTY, "06T09:00:00", codes=[HERE]),
            copy(3, "107", "320111", NEIGHBOUR, "06T10:00:00", codes=[THERE]),
            copy(4, "101", "320100", MAH, "01T10:00:00", codes=[ELSEWHERE], **b2),
            copy(5, "107", "320111", NEIGHBOUR, "06T11:00:00", codes=[ELSEWHERE]),
        ],
    )
    assert all(t["accepted"] for t in taken)


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, supervision_database_url=database_url)
    app = build_app(settings, roles=("supervision",))
    node = app.state.supervision
    _regulators(node)
    _chain(node.engine)
    with TestClient(app) as http:
        http.app.state.tokens_for_test = {  # type: ignore[attr-defined]
            who: node.issue_token(who) for who in (PROVINCE, COUNTY, NEIGHBOUR)
        }
        yield http


def _as(client: TestClient, who: str) -> dict[str, str]:
    token = client.app.state.tokens_for_test[who]  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def _order(**more: Any) -> dict[str, Any]:
    return {
        "mah_uscc": MAH,
        "batch_nos": ["B1"],
        "lock_kind": "pending",
        "reason": "抽检效价偏低",
        "evidence": ["检验报告 JY-2026-017", "温度记录 sha256:9f2c"],
    } | more


def _kept(engine: Engine) -> tuple[int, list[str]]:
    """Lock orders kept, and the kinds of the journal's entries about them."""
    with read_tx(engine) as conn:
        count = int(conn.execute(select(func.count()).select_from(regulator_lock)).scalar_one())
        kinds = [e["kind"] for e in journal.entries(conn) if e["kind"].startswith("regulator")]
    return count, kinds


def test_a_county_locks_a_batch_it_saw_and_resolves_it(client: TestClient) -> None:
    answer = client.post("/supervision/v1/locks", json=_order(), headers=_as(client, COUNTY))
    assert answer.status_code == 201, answer.text
    lock = answer.json()
    assert lock["state"] == lock["lock_kind"] == "pending"
    assert (lock["regulator_uscc"], lock["division_code"]) == (COUNTY, "320106")
    assert lock["batch_nos"] == ["B1"] and lock["codes"] is None
    assert lock["evidence"] == ["检验报告 JY-2026-017", "温度记录 sha256:9f2c"]

    def listed(who: str) -> list[int]:
        found = client.get("/supervision/v1/locks", headers=_as(client, who))
        assert found.status_code == 200, found.text
        return [x["id"] for x in found.json()["locks"]]

    assert listed(COUNTY) == listed(PROVINCE) == [lock["id"]]
    assert listed(NEIGHBOUR) == []
    path = f"/supervision/v1/locks/{lock['id']}/resolve"
    decision = {"outcome": "abnormal", "reason": "复检仍不合格"}
    theirs = client.post(path, json=decision, headers=_as(client, NEIGHBOUR))
    assert theirs.status_code == 404 and theirs.headers["content-type"].startswith(PROBLEM)
    assert theirs.json()["reason"] == "lock_not_found"
    done = client.post(path, json=decision, headers=_as(client, COUNTY))
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "abnormal"
    assert done.json()["resolution"]["by"] == COUNTY
    again = client.post(path, json=decision | {"outcome": "normal"}, headers=_as(client, PROVINCE))
    assert again.status_code == 409 and again.json()["reason"] == "lock_not_pending"
    engine = client.app.state.supervision.engine
    assert _kept(engine) == (1, ["regulator_lock", "regulator_lock_resolved"])


@pytest.mark.parametrize(
    ("who", "order", "status", "reason", "field"),
    [
        (COUNTY, _order(batch_nos=["B2"]), 404, "batch_not_seen", "batch_nos"),  # elsewhere
        (COUNTY, _order(batch_nos=["B9"]), 404, "batch_not_seen", "batch_nos"),  # unknown
        (COUNTY, _order(batch_nos=["B1"], mah_uscc=OTHER_MAH), 404, "batch_not_seen", None),
        (NEIGHBOUR, _order(batch_nos=None, codes=[HERE]), 404, "code_not_seen", "codes"),
        (COUNTY, _order(batch_nos=None, codes=[CASE]), 404, "code_not_seen", "codes"),
        (PROVINCE, _order(batch_nos=None, codes=["80000010000009999"]), 404, "code_not_seen", None),
        (COUNTY, _order(reason=""), 422, None, "reason"),
        (COUNTY, {k: v for k, v in _order().items() if k != "reason"}, 422, None, "reason"),
        (COUNTY, _order(codes=[HERE]), 422, None, None),  # both codes and batches
        (COUNTY, _order(batch_nos=None), 422, None, None),  # neither
        (COUNTY, _order(lock_kind="recalled"), 422, None, "lock_kind"),
        (COUNTY, _order(evidence=[""]), 422, None, None),
    ],
)
def test_bad_orders_are_refused_with_a_reason_and_nothing_is_kept(
    client: TestClient,
    who: str,
    order: dict[str, Any],
    status: int,
    reason: str | None,
    field: str | None,
) -> None:
    answer = client.post("/supervision/v1/locks", json=order, headers=_as(client, who))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    problem = answer.json()
    if reason is not None:
        assert problem["reason"] == reason
    if field is not None:
        assert problem["field"] == field
    assert _kept(client.app.state.supervision.engine) == (0, [])
    assert client.get("/supervision/v1/locks", headers=_as(client, who)).json()["locks"] == []


def test_only_staff_lock_and_a_resolution_needs_a_reason(client: TestClient) -> None:
    assert client.post("/supervision/v1/locks", json=_order()).status_code == 401
    assert client.get("/supervision/v1/locks").status_code == 401
    lock = client.post("/supervision/v1/locks", json=_order(), headers=_as(client, COUNTY)).json()
    path = f"/supervision/v1/locks/{lock['id']}/resolve"
    assert client.post(path, json={"outcome": "normal", "reason": "x"}).status_code == 401
    for bad in ({"outcome": "normal"}, {"outcome": "normal", "reason": ""}, {"outcome": "gone"}):
        answer = client.post(path, json=bad, headers=_as(client, COUNTY))
        assert answer.status_code == 422, answer.text
    missing = client.post(
        "/supervision/v1/locks/999/resolve",
        json={"outcome": "normal", "reason": "x"},
        headers=_as(client, PROVINCE),
    )
    assert missing.status_code == 404 and missing.json()["reason"] == "lock_not_found"
    engine = client.app.state.supervision.engine
    assert _kept(engine) == (1, ["regulator_lock"])


# --- what goes to the platform ---------------------------------------------------------------


@pytest.fixture
def sending(supervision_engine: Engine) -> SupervisionService:
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    outbox = Outbox(supervision_engine, exchange_store(), signer, "supervision-32")
    svc = SupervisionService(
        supervision_engine, "platform", PLATFORM_SIGNER.verifier(), outbox=outbox
    )
    _regulators(svc)
    _chain(supervision_engine)
    return svc


def _sent(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    """(receiver, data owner, signal) of every message queued, in order."""
    box = exchange.outbox.c
    with read_tx(engine) as conn:
        rows = conn.execute(select(box.receiver, box.envelope).order_by(box.id)).all()
    return [(str(r), str(e["data_owner"]), payload_of(e)["safety_signal"]) for r, e in rows]


def test_a_lock_and_its_resolution_go_to_the_platform_as_the_regulators_signals(
    sending: SupervisionService,
) -> None:
    order = LockOrder.model_validate(_order(batch_nos=None, codes=[CASE]))
    lock = sending.lock(PROVINCE, order)
    assert lock["batch_nos"] == ["B1"] and lock["codes"] == [CASE]
    sending.resolve_lock(
        PROVINCE, lock["id"], LockResolution.model_validate({"outcome": "normal", "reason": "ok"})
    )
    (to, owner, locked), (_, _, unlocked) = _sent(sending.engine)
    assert (to, owner) == (TO_PLATFORM, PROVINCE)
    assert locked["kind"] == "lock" and locked["lock_kind"] == "pending"
    assert locked["issued_by"] == PROVINCE and locked["mah_uscc"] == MAH
    assert locked["batch_nos"] == ["B1"]
    assert sorted(locked["codes"]) == sorted([CASE, HERE, THERE])  # with what the case holds
    assert locked["document_no"] == lock["document_no"] and locked["reason"] == "抽检效价偏低"
    assert unlocked["kind"] == "unlock" and unlocked["lock_kind"] is None
    assert unlocked["document_no"] == f"{lock['document_no']}-R"
    assert (unlocked["codes"], unlocked["issued_by"]) == (locked["codes"], PROVINCE)


def test_a_lock_the_platform_refuses_stands_refused_and_is_a_finding(
    sending: SupervisionService,
) -> None:
    lock = sending.lock(COUNTY, LockOrder.model_validate(_order()))

    def refuse(_receiver: str, _batch: Any) -> None:
        problem = {
            "reason": "outside_jurisdiction",
            "field": "envelopes[0].payload",
            "detail": "no",
        }
        raise Refused("refused", problem, 422)

    assert sending.outbox is not None
    done = sending.outbox.deliver_due(refuse)
    assert len(done.refused) == 1
    (kept,) = sending.locks(COUNTY)["locks"]
    assert kept["state"] == "refused" and kept["refusal"]["reason"] == "outside_jurisdiction"
    (found,) = sending.findings(COUNTY)["findings"]
    assert (found["kind"], found["reason"]) == ("regulator_lock_refused", "outside_jurisdiction")
    assert found["document_no"] == lock["document_no"] and found["org_uscc"] == COUNTY
    resolution = LockResolution.model_validate({"outcome": "normal", "reason": "x"})
    with refused_with(409) as caught:
        sending.resolve_lock(COUNTY, lock["id"], resolution)
    assert caught.value.reason == "lock_not_pending"


def test_a_retried_order_is_kept_and_sent_once(sending: SupervisionService) -> None:
    """The same caller's order sent again (its answer lost on the way) is answered as kept the
    first time: one order, one lock down the chain; another id is another order."""
    order = LockOrder.model_validate(_order(client_document_id="lock-2026-001"))
    first = sending.lock(PROVINCE, order)
    again = sending.lock(PROVINCE, order)
    assert again == first
    assert len(_sent(sending.engine)) == 1
    other = sending.lock(PROVINCE, order.model_copy(update={"client_document_id": "lock-2"}))
    assert other["id"] != first["id"] and len(_sent(sending.engine)) == 2
    theirs = sending.lock(COUNTY, order)  # the same id from another regulator is its own
    assert theirs["id"] not in (first["id"], other["id"])
