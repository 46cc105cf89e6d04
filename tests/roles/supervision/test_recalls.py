"""Recalls over HTTP, on both backends: a MAH's recall arrives as its 913 step and is tracked
unit by unit; the regulator of the MAH's area sees all of it and closes it, a county where units
went sees its own part, a neighbour nothing; a regulator orders a recall of a MAH in its area
only; closing before completion needs a justification; each refusal a problem with a reason
and nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from tests.roles.supervision.test_jurisdiction import copy
from tests.roles.supervision.test_service import PLATFORM, PLATFORM_SIGNER
from vaxtrace.app import build_app
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.validation.findings import Severity, SubjectKind
from vaxtrace.exchange.delivery import Outbox, RetryPolicy
from vaxtrace.exchange.envelope import Ed25519Signer, payload_of
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.roles.supervision.service.recalls import overdue_milestones, record_progress
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision.exchange import exchange_store

MAH = make_uscc("91320100MA1X00001")  # in 320100
PROVINCE = make_uscc("11320000MB0X00001")  # 320000: oversees the MAH
COUNTY = make_uscc("11320106MB0X00004")  # 320106: where the site is
NEIGHBOUR = make_uscc("11320111MB0X00005")  # 320111: no unit went there
ELSEWHERE = make_uscc("11330000MB0X00009")  # another province
CDC = make_uscc("12320100MB0X00006")
SITE = make_uscc("12320106MB0X00007")
DOSES = [f"8000001000000{n:03d}" for n in range(1, 5)]
PROBLEM = "application/problem+json"
BATCH = {"mah_uscc": MAH, "batch_nos": ["B1"]}
RECALL = {"kind": "recall", "recall_no": "RC1", "recall_level": 1, "reason": "无菌检查不合格"}


def to(who: str) -> dict[str, Any]:
    return {"counterparty_uscc": who}


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, SupervisionService]]:
    settings = Settings(data_dir=tmp_path, supervision_database_url=database_url)
    app = build_app(settings, roles=("supervision",))
    watch = app.state.supervision
    for uscc, name, division in (
        (PROVINCE, "示例省药品监督管理局", "320000"),
        (COUNTY, "鼓楼区市场监督管理局", "320106"),
        (NEIGHBOUR, "浦口区市场监督管理局", "320111"),
        (ELSEWHERE, "另一省药品监督管理局", "330000"),
    ):
        watch.register_organisation(
            Organisation(uscc=uscc, name=name, kind=OrgKind.REGULATOR, division_code=division)
        )
    feed = SupervisionService(watch.engine, "platform", PLATFORM_SIGNER.verifier())
    taken = feed.receive_batch(
        PLATFORM,
        [
            copy(1, "101", "320100", MAH, "01T09:00:00", codes=DOSES, **BATCH),
            copy(2, "201", "320100", MAH, "02T09:00:00", codes=DOSES),
            copy(3, "107", "320100", CDC, "03T09:00:00", codes=DOSES, **to(MAH)),
            copy(4, "209", "320100", CDC, "04T09:00:00", codes=DOSES[:3], **to(SITE)),
            copy(5, "107", "320106", SITE, "04T15:00:00", codes=DOSES[:3], **to(CDC)),
            copy(6, "322", "320106", SITE, "05T09:00:00", codes=DOSES[:1]),
            copy(7, "913", "320100", MAH, "09T09:00:00", detail=RECALL, **BATCH),
            copy(8, "913", "320100", MAH, "09T09:00:00", detail=RECALL, **BATCH),  # again
        ],
    )
    assert all(t["accepted"] for t in taken)
    with TestClient(app) as http:
        http.app.state.tokens_for_test = {  # type: ignore[attr-defined]
            who: watch.issue_token(who) for who in (PROVINCE, COUNTY, NEIGHBOUR, ELSEWHERE)
        }
        yield http, feed


def call(client: TestClient, who: str | None, method: str, path: str, **kw: Any) -> Any:
    tokens = client.app.state.tokens_for_test  # type: ignore[attr-defined]
    headers = {} if who is None else {"Authorization": f"Bearer {tokens[who]}"}
    return client.request(method, f"/supervision/v1{path}", headers=headers, **kw)


def refused(answer: Any, status: int, reason: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["reason"] == reason


def the_recall(client: TestClient, who: str = PROVINCE) -> dict[str, Any]:
    (listed,) = call(client, who, "GET", "/recalls").json()["recalls"]
    answer = call(client, who, "GET", f"/recalls/{listed['id']}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_mahs_recall_is_tracked_unit_by_unit(node: Any) -> None:
    client, _ = node
    recall = the_recall(client)
    assert (recall["recall_no"], recall["level"], recall["initiator"]) == ("RC1", 1, "mah")
    assert (recall["state"], recall["batch_nos"], recall["division_code"]) == (
        "open",
        ["B1"],
        "320100",
    )
    done = recall["completion"]
    assert done["units"] == 4 and done["accounted_for"] == 1 and done["completion_rate"] == 0.25
    assert {k: v for k, v in done["by_state"].items() if v} == {"in_stock": 3, "vaccinated": 1}
    assert {(h["state"], h["holder_uscc"], h["units"]) for h in recall["holders"]} == {
        ("in_stock", SITE, 2),
        ("in_stock", CDC, 1),
        ("vaccinated", SITE, 1),
    }
    (shot,) = recall["vaccinated"]
    assert (shot["site_uscc"], shot["document_no"]) == (SITE, "D6")
    assert "immunization system" in shot["recipient"]  # no person named here
    # at its start, each hour's round of the node (the first at start), and now
    assert {p["completion_rate"] for p in recall["progress"]} == {0.25}
    assert len(recall["progress"]) == 3
    kinds = [(m["kind"], m["met"]) for m in recall["milestones"][:2]]
    assert kinds == [("stop", True), ("plan", None)]
    assert recall["overdue"]  # days without a unit coming back


def test_a_county_sees_its_part_and_a_neighbour_nothing(node: Any) -> None:
    client, _ = node
    recall_id = the_recall(client)["id"]
    county = the_recall(client, COUNTY)
    assert county["id"] == recall_id and county["scope"] != "all"
    assert county["completion"]["units"] == 3  # the CDC's dose is not in its county
    assert call(client, NEIGHBOUR, "GET", "/recalls").json()["recalls"] == []
    refused(call(client, NEIGHBOUR, "GET", f"/recalls/{recall_id}"), 404, "unknown_recall")
    refused(call(client, PROVINCE, "GET", "/recalls/999"), 404, "unknown_recall")
    assert call(client, None, "GET", "/recalls").status_code == 401


def test_closing_before_completion_needs_a_justification(node: Any) -> None:
    client, _ = node
    before = the_recall(client)
    recall_id = before["id"]
    close = f"/recalls/{recall_id}/close"
    refused(
        call(client, PROVINCE, "POST", close, json={"summary": "done"}), 409, "recall_incomplete"
    )
    with_reason = {"summary": "done", "justification": "the site's fridge burnt down"}
    refused(call(client, COUNTY, "POST", close, json=with_reason), 403, "recall_outside_area")
    refused(call(client, NEIGHBOUR, "POST", close, json=with_reason), 404, "unknown_recall")
    refused(
        call(client, PROVINCE, "POST", close, json={"summary": ""}), 422, "invalid_string_too_short"
    )
    assert call(client, None, "POST", close, json=with_reason).status_code == 401
    still = the_recall(client)
    assert still["state"] == "open"  # nothing written
    assert len(still["progress"]) == len(before["progress"])
    closed = call(client, PROVINCE, "POST", close, json=with_reason)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["state"], body["closed_by"]) == ("closed", PROVINCE)
    assert body["summary"]["justification"] == with_reason["justification"]
    assert body["summary"]["outstanding"] == 3
    refused(call(client, PROVINCE, "POST", close, json=with_reason), 409, "recall_closed")


def test_the_mahs_closing_closes_a_complete_recall_only(node: Any) -> None:
    client, feed = node
    closing = {"kind": "recall_closed", "recall_no": "RC1", "reason": "召回总结"}
    feed.receive_batch(
        PLATFORM, [copy(9, "914", "320100", MAH, "10T09:00:00", detail=closing, **BATCH)]
    )
    early = the_recall(client)
    assert early["state"] == "open" and early["mah_closed_at"] is not None
    feed.receive_batch(
        PLATFORM,
        [
            copy(10, "202", "320106", SITE, "11T09:00:00", codes=DOSES[1:3], **to(CDC)),
            copy(11, "202", "320100", CDC, "11T15:00:00", codes=DOSES[1:3], **to(MAH)),
            copy(12, "205", "320100", CDC, "12T09:00:00", codes=DOSES[3:]),
            copy(13, "914", "320100", MAH, "13T09:00:00", detail=closing, **BATCH),
        ],
    )
    done = the_recall(client)
    assert (done["state"], done["closed_by"]) == ("closed", MAH)
    assert done["completion"]["completion_rate"] == 1.0
    assert done["summary"]["summary"] == "召回总结"
    assert done["summary"]["by_state"]["returned"] == 2


def test_a_regulator_orders_a_recall_of_a_mah_in_its_area(node: Any) -> None:
    client, _ = node
    order = {"mah_uscc": MAH, "batch_nos": ["B1"], "level": 2, "mock": True, "reason": "抽检"}
    refused(call(client, ELSEWHERE, "POST", "/recalls", json=order), 403, "recall_outside_area")
    unknown = order | {"batch_nos": ["B9"]}
    refused(call(client, PROVINCE, "POST", "/recalls", json=unknown), 404, "unknown_batch")
    refused(
        call(client, PROVINCE, "POST", "/recalls", json=order | {"level": 4}), 422, "invalid_enum"
    )
    assert call(client, None, "POST", "/recalls", json=order).status_code == 401
    assert len(call(client, PROVINCE, "GET", "/recalls").json()["recalls"]) == 1  # nothing written
    made = call(client, PROVINCE, "POST", "/recalls", json=order)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["initiator"], body["initiated_by"], body["mock"], body["level"]) == (
        "regulator",
        PROVINCE,
        True,
        2,
    )
    assert body["recall_no"].startswith("ORD-") and body["completion"]["units"] == 4
    listed = call(client, PROVINCE, "GET", "/recalls").json()["recalls"]
    assert [r["id"] for r in listed] == [body["id"], body["id"] - 1]


def test_overdue_milestones_are_found_once_per_recall(node: Any) -> None:
    _, feed = node
    with feed.engine.connect() as conn:
        assert overdue_milestones(conn, datetime(2026, 11, 9, 12, tzinfo=UTC)) == []
        (found,) = overdue_milestones(conn, datetime(2026, 11, 12, tzinfo=UTC))
    assert (found.rule, found.severity, found.subject_kind) == (
        "recall_overdue",
        Severity.SEVERE,
        SubjectKind.RECALL,
    )
    assert (found.subject, found.owing_uscc, found.division_code) == (f"{MAH}:RC1", MAH, "320100")
    assert [m["period"] for m in found.detail["missed"]] == [1, 2]


def test_a_real_recall_is_announced_to_the_platform_once_per_state(node: Any) -> None:
    client, feed = node
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    outbox = Outbox(feed.engine, exchange_store(), signer, "watch-32", RetryPolicy())
    announcing = SupervisionService(
        feed.engine, "platform", PLATFORM_SIGNER.verifier(), outbox=outbox
    )
    order = {"mah_uscc": MAH, "batch_nos": ["B1"], "level": 2, "mock": True, "reason": "演练"}
    assert call(client, PROVINCE, "POST", "/recalls", json=order).status_code == 201
    # the MAH's recall, kept before this node had an exchange, is announced with the next
    # batch; the drill never is
    closing = {"kind": "recall_closed", "recall_no": "RC1", "reason": "召回总结"}
    announcing.receive_batch(
        PLATFORM,
        [
            copy(20, "202", "320106", SITE, "11T09:00:00", codes=DOSES[1:3], **to(CDC)),
            copy(21, "202", "320100", CDC, "11T15:00:00", codes=DOSES[1:4], **to(MAH)),
        ],
    )
    announcing.receive_batch(
        PLATFORM, [copy(22, "914", "320100", MAH, "13T09:00:00", detail=closing, **BATCH)]
    )
    sent: list[dict[str, Any]] = []
    outbox.deliver_due(lambda receiver, batch: sent.extend(batch))
    assert [e["event_subtype"] for e in sent] == ["recall_notice", "recall_notice"]
    assert {e["data_owner"] for e in sent} == {PROVINCE}  # who oversees the MAH's area
    notices = [payload_of(e)["recall_notice"] for e in sent]
    assert [(n["recall_no"], n["state"], n["level"]) for n in notices] == [
        ("RC1", "open", 1),
        ("RC1", "closed", 1),
    ]
    assert notices[0]["batch_nos"] == ["B1"] and notices[0]["ordered"] is False
    assert "holders" not in notices[0] and "vaccinated" not in notices[0]


def test_progress_is_kept_over_time_for_the_open_recalls(node: Any) -> None:
    client, feed = node
    feed.receive_batch(
        PLATFORM,
        [copy(30, "205", "320106", SITE, "10T09:00:00", codes=DOSES[1:3])],
    )
    with write_tx(feed.engine) as conn:
        assert record_progress(conn, datetime(2026, 11, 10, 12, tzinfo=UTC)) == 1
    series = the_recall(client)["progress"]
    assert [(p["at"][:13], p["completion_rate"]) for p in series[:2]] == [
        ("2026-11-09T01", 0.25),  # at the start (09:00 +08:00)
        ("2026-11-10T12", 0.75),  # two doses destroyed since
    ]
    assert series[-1]["completion_rate"] == 0.75  # and now


def test_a_retried_recall_order_opens_one_recall(node: Any) -> None:
    """The same caller's order sent again (its answer lost) is answered with the recall opened
    the first time; without an id of its own, each order is a new recall."""
    client, _ = node
    order = {"mah_uscc": MAH, "batch_nos": ["B1"], "level": 1, "mock": True, "reason": "抽检"}
    with_id = order | {"client_document_id": "order-2026-7"}
    first = call(client, PROVINCE, "POST", "/recalls", json=with_id)
    again = call(client, PROVINCE, "POST", "/recalls", json=with_id)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["recall_no"] == first.json()["recall_no"]
    listed = call(client, PROVINCE, "GET", "/recalls").json()["recalls"]
    assert [r["recall_no"] for r in listed].count(first.json()["recall_no"]) == 1
    other = call(client, PROVINCE, "POST", "/recalls", json=order).json()
    assert other["id"] != first.json()["id"]
