"""Jurisdiction over HTTP, on both backends: a county regulator sees its county's steps, codes
and findings and nothing of the neighbouring county's (a code elsewhere is not found, as an
unknown one is); the province's regulator sees both; a code's chain holds every step the node
knows of it (its own and its whole batch's), in time order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.roles.supervision.test_service import PLATFORM, PLATFORM_SIGNER, finding
from vaxtrace.app import build_app
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.exchange.envelope import seal
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc

MAH = make_uscc("91320100MA1X00001")  # in 320100
PROVINCE = make_uscc("11320000MB0X00001")  # 320000
COUNTY = make_uscc("11320106MB0X00004")  # 鼓楼区 320106
NEIGHBOUR = make_uscc("11320111MB0X00005")  # 浦口区 320111, the same city
NATIONAL = make_uscc("11100000MB0X00009")  # 国家药品监督管理局: the whole country
CDC = make_uscc("12320100MB0X00006")  # the city's CDC
SITE = make_uscc("12320106MB0X00007")
OTHER_SITE = make_uscc("12320111MB0X00008")
HERE = "80000010000000017"  # a dose vaccinated in 320106
THERE = "80000010000000024"  # a dose of the same batch vaccinated in 320111
PROBLEM = "application/problem+json"


def copy(sequence: int, bill_type: str, division: str, org: str, when: str, **more: Any) -> Any:
    body = {
        "bill_type": bill_type,
        "org_uscc": org,
        "division_code": division,
        "document_no": f"D{sequence}",
        "business_time": f"2026-11-{when}+08:00",
        "codes": [],
    } | more
    return seal(
        PLATFORM_SIGNER,
        system_id="platform",
        event_type="20",
        event_subtype=bill_type,
        data_owner=org,
        sequence=sequence,
        payload={
            "supervised_step": body,
            "forwarded_from": {"system_id": "x", "event_id": f"e-{sequence}"},
        },
    )


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, supervision_database_url=database_url)
    app = build_app(settings, roles=("supervision",))
    node = app.state.supervision
    for uscc, name, division in (
        (PROVINCE, "示例省药品监督管理局", "320000"),
        (COUNTY, "鼓楼区市场监督管理局", "320106"),
        (NEIGHBOUR, "浦口区市场监督管理局", "320111"),
        (NATIONAL, "国家药品监督管理局", "000000"),
    ):
        node.register_organisation(
            Organisation(uscc=uscc, name=name, kind=OrgKind.REGULATOR, division_code=division)
        )
    feed = SupervisionService(node.engine, "platform", PLATFORM_SIGNER.verifier())
    batch = {"mah_uscc": MAH, "batch_nos": ["B1"]}
    taken = feed.receive_batch(
        PLATFORM,
        [
            copy(1, "101", "320100", MAH, "01T09:00:00", codes=[HERE, THERE], **batch),
            copy(2, "902", "320100", MAH, "03T09:00:00", **batch, detail={"certificate_no": "C"}),
            copy(3, "201", "320100", MAH, "05T09:00:00", codes=[HERE, THERE]),
            copy(4, "107", "320100", CDC, "06T09:00:00", codes=[HERE, THERE]),
            copy(5, "209", "320100", CDC, "07T09:00:00", codes=[HERE]),
            copy(6, "107", "320106", SITE, "07T15:00:00", codes=[HERE]),
            copy(7, "322", "320106", SITE, "08T09:00:00", codes=[HERE]),
            copy(8, "209", "320100", CDC, "07T10:00:00", codes=[THERE]),
            copy(9, "107", "320111", OTHER_SITE, "07T16:00:00", codes=[THERE]),
            copy(10, "322", "320111", OTHER_SITE, "08T10:00:00", codes=[THERE]),
            copy(11, "911", "320100", MAH, "09T09:00:00", **batch, detail={"lock_kind": "pending"}),
        ],
    )
    assert all(t["accepted"] for t in taken)
    feed.receive_batch(PLATFORM, [finding(12, "320111")])
    with TestClient(app) as http:
        http.app.state.tokens_for_test = {  # type: ignore[attr-defined]
            who: node.issue_token(who) for who in (PROVINCE, COUNTY, NEIGHBOUR, NATIONAL)
        }
        yield http


def get(client: TestClient, who: str, path: str) -> Any:
    token = client.app.state.tokens_for_test[who]  # type: ignore[attr-defined]
    return client.get(f"/supervision/v1{path}", headers={"Authorization": f"Bearer {token}"})


def test_a_county_sees_its_own_steps_codes_and_findings_only(client: TestClient) -> None:
    steps = get(client, COUNTY, "/steps").json()["steps"]
    assert [s["document_no"] for s in steps] == ["D7", "D6"]
    assert {s["division_code"] for s in steps} == {"320106"}
    assert get(client, COUNTY, "/findings").json()["findings"] == []
    theirs = get(client, NEIGHBOUR, "/steps").json()["steps"]
    assert [s["document_no"] for s in theirs] == ["D10", "D9"]
    assert [f["division_code"] for f in get(client, NEIGHBOUR, "/findings").json()["findings"]] == [
        "320111"
    ]
    # a neighbour's code is not found, exactly as a code nobody knows
    for who, code in ((COUNTY, THERE), (NEIGHBOUR, HERE), (COUNTY, "80000010000009999")):
        refused = get(client, who, f"/codes/{code}/chain")
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert (refused.json()["reason"], refused.json()["field"]) == ("code_not_seen", "code")


def test_the_chain_of_a_code_is_every_step_in_time_order(client: TestClient) -> None:
    answer = get(client, COUNTY, f"/codes/{HERE}/chain")
    assert answer.status_code == 200, answer.text
    chain = answer.json()
    assert chain["code"] == HERE and chain["batch"] == {"mah_uscc": MAH, "batch_no": "B1"}
    assert [s["bill_type"] for s in chain["steps"]] == [
        "101",
        "902",
        "201",
        "107",
        "209",
        "107",
        "322",
        "911",
    ]
    times = [s["business_time"] for s in chain["steps"]]
    assert times == sorted(times)
    assert chain["steps"][1]["detail"] == {"certificate_no": "C"}
    assert chain["steps"][1]["batch_nos"] == ["B1"]
    # the neighbour's chain of its own dose: the batch's steps, not the other county's
    assert [s["document_no"] for s in chain["steps"]] == [
        f"D{n}" for n in (1, 2, 3, 4, 5, 6, 7, 11)
    ]
    there = get(client, NEIGHBOUR, f"/codes/{THERE}/chain").json()["steps"]
    assert [(s["document_no"], s["division_code"]) for s in there] == [
        ("D1", "320100"),
        ("D2", "320100"),
        ("D3", "320100"),
        ("D4", "320100"),
        ("D8", "320100"),
        ("D9", "320111"),
        ("D10", "320111"),
        ("D11", "320100"),
    ]


def test_the_province_sees_both_counties(client: TestClient) -> None:
    divisions = [s["division_code"] for s in get(client, PROVINCE, "/steps").json()["steps"]]
    assert "320106" in divisions and "320111" in divisions and "320100" in divisions
    for code in (HERE, THERE):
        assert get(client, PROVINCE, f"/codes/{code}/chain").status_code == 200
    assert len(get(client, PROVINCE, "/findings").json()["findings"]) == 1
    assert get(client, PROVINCE, "/codes/80000010000009999/chain").status_code == 404


def test_no_chain_without_a_token(client: TestClient) -> None:
    anonymous = client.get(f"/supervision/v1/codes/{HERE}/chain")
    assert anonymous.status_code == 401


def test_validation_findings_are_seen_where_the_step_at_fault_happened(
    client: TestClient,
) -> None:
    """These copies name no counterparty and cite no note: the receipts break the rules, each
    seen by the regulator of the county where it was done, and all by the province's."""
    node = client.app.state.supervision  # type: ignore[attr-defined]
    ran = node.validate(full=True)
    assert ran["found"] > 0
    county = get(client, COUNTY, "/validation/findings").json()["findings"]
    neighbour = get(client, NEIGHBOUR, "/validation/findings").json()["findings"]
    province = get(client, PROVINCE, "/validation/findings?limit=1000").json()["findings"]
    assert county and {f["division_code"] for f in county} == {"320106"}
    assert neighbour and {f["division_code"] for f in neighbour} == {"320111"}
    assert len(province) == ran["found"]
    assert {f["subject"] for f in county} & {f["subject"] for f in neighbour} == set()
    receipt = next(f for f in county if f["rule"] == "required_fields")
    assert receipt["detail"]["missing"] == [
        "counterparty_uscc",
        "source_document_no",
        "verification",
    ]
    one_rule = get(client, COUNTY, "/validation/findings?rule=required_fields").json()["findings"]
    assert {f["rule"] for f in one_rule} == {"required_fields"}
    unknown = get(client, COUNTY, "/validation/findings?rule=no_such_rule")
    assert unknown.status_code == 422 and unknown.json()["reason"] == "unknown_rule"
    alerts = get(client, COUNTY, "/alerts").json()["alerts"]  # each finding raised its alert
    assert {(a["rule"], a["subject"]) for a in alerts} >= {
        (f["rule"], f["subject"]) for f in county
    }
    assert node.validate(full=True)["found"] == 0  # found again: nothing new, no new alert
    assert len(get(client, COUNTY, "/alerts").json()["alerts"]) == len(alerts)
    rules = get(client, COUNTY, "/validation/rules").json()["rules"]
    assert {r["id"] for r in rules} >= {"used_while_locked", "quantity_mismatch"}


def test_the_national_regulator_sees_every_area(client: TestClient) -> None:
    everything = {s["document_no"] for s in get(client, NATIONAL, "/steps").json()["steps"]}
    assert everything == {f"D{n}" for n in range(1, 12)}
    assert get(client, NATIONAL, f"/codes/{THERE}/chain").status_code == 200
    assert get(client, NATIONAL, "/findings").json()["division_code"] == "000000"


def test_only_a_regulator_has_the_whole_country_as_its_division() -> None:
    with pytest.raises(ValueError, match="national regulator"):
        Organisation(uscc=CDC, name="全国疾控中心示例", kind=OrgKind.CDC, division_code="000000")
