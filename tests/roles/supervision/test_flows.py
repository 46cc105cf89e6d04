"""Flows and statistics over HTTP, on both backends: a batch that went to two provinces is
answered to each province's regulator with its own part only (no node, link or count from the
other); a county's statistics leave out the neighbouring county; an unknown batch, or one with
nothing inside the regulator's division, is not found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.roles.supervision.test_jurisdiction import copy
from tests.roles.supervision.test_service import PLATFORM, PLATFORM_SIGNER
from vaxtrace.app import build_app
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.basic_data import Change
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision.regulators import BASIC_DATA

MAH = make_uscc("91320100MA1X00001")  # in 320100
JIANGSU = make_uscc("11320000MB0X00001")  # 320000
ZHEJIANG = make_uscc("11330000MB0X00002")  # 330000
COUNTY = make_uscc("11320106MB0X00004")  # 鼓楼区 320106
NEIGHBOUR = make_uscc("11320111MB0X00005")  # 浦口区 320111
CDC_JS = make_uscc("12320100MB0X00006")
CDC_ZJ = make_uscc("12330100MB0X00009")
SITE = make_uscc("12320106MB0X00007")
OTHER_SITE = make_uscc("12320111MB0X00008")
J1, J2, J3, Z1, Z2, K1 = (f"8000001000000{n:04d}" for n in range(1, 7))
MASTER = {"batch_no": "B1", "product_code": "HepB", "expiry_date": "2028-01-31"}
PROBLEM = "application/problem+json"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, supervision_database_url=database_url)
    app = build_app(settings, roles=("supervision",))
    node = app.state.supervision
    for uscc, name, division in (
        (JIANGSU, "江苏省药品监督管理局", "320000"),
        (ZHEJIANG, "浙江省药品监督管理局", "330000"),
        (COUNTY, "鼓楼区市场监督管理局", "320106"),
        (NEIGHBOUR, "浦口区市场监督管理局", "320111"),
    ):
        node.register_organisation(
            Organisation(uscc=uscc, name=name, kind=OrgKind.REGULATOR, division_code=division)
        )
    with write_tx(node.engine) as conn:
        BASIC_DATA.copy_changes(
            conn,
            [
                Change(1, "organisation", MAH, {"name": "示例生物", "kind": "mah"}),
                Change(2, "organisation", CDC_JS, {"name": "南京市疾控", "kind": "cdc"}),
                Change(3, "organisation", SITE, {"name": "鼓楼接种门诊", "kind": "pov"}),
            ],
        )
    feed = SupervisionService(node.engine, "platform", PLATFORM_SIGNER.verifier())
    batch = {"mah_uscc": MAH, "batch_nos": ["B1"]}
    note = {"mah_uscc": MAH, "detail": {"batches": [MASTER]}}
    taken = feed.receive_batch(
        PLATFORM,
        [
            copy(1, "101", "320100", MAH, "01T09:00:00", codes=[J1, J2, J3, Z1, Z2], **batch),
            copy(2, "201", "320100", MAH, "02T09:00:00", codes=[J1, J2, J3], **note,
                 counterparty_uscc=CDC_JS),
            copy(3, "107", "320100", CDC_JS, "03T09:00:00", codes=[J1, J2, J3],
                 counterparty_uscc=MAH),
            copy(4, "209", "320100", CDC_JS, "04T09:00:00", codes=[J1, J2],
                 counterparty_uscc=SITE),
            copy(5, "107", "320106", SITE, "05T09:00:00", codes=[J1, J2], counterparty_uscc=CDC_JS),
            copy(6, "322", "320106", SITE, "06T09:00:00", codes=[J1]),
            copy(7, "209", "320100", CDC_JS, "04T10:00:00", codes=[J3],
                 counterparty_uscc=OTHER_SITE),
            copy(8, "107", "320111", OTHER_SITE, "05T10:00:00", codes=[J3],
                 counterparty_uscc=CDC_JS),
            copy(9, "322", "320111", OTHER_SITE, "06T10:00:00", codes=[J3]),
            # the other province's part: its CDC's note, receipt and a damage
            copy(10, "201", "330100", MAH, "02T10:00:00", codes=[Z1, Z2], **note,
                 counterparty_uscc=CDC_ZJ),
            copy(11, "107", "330100", CDC_ZJ, "03T10:00:00", codes=[Z1, Z2],
                 counterparty_uscc=MAH),
            copy(12, "215", "330100", CDC_ZJ, "07T10:00:00", codes=[Z2]),
            # a batch that went to Zhejiang only
            copy(13, "101", "320100", MAH, "01T10:00:00", codes=[K1], mah_uscc=MAH,
                 batch_nos=["B2"]),
            copy(14, "201", "330100", MAH, "02T11:00:00", codes=[K1], counterparty_uscc=CDC_ZJ),
            copy(15, "913", "320100", MAH, "08T09:00:00", mah_uscc=MAH, batch_nos=["B1"],
                 detail={"kind": "recall", "recall_no": "R1", "recall_level": 1}),
        ],
    )  # fmt: skip
    assert all(t["accepted"] for t in taken), taken
    with TestClient(app) as http:
        http.app.state.tokens_for_test = {  # type: ignore[attr-defined]
            who: node.issue_token(who) for who in (JIANGSU, ZHEJIANG, COUNTY, NEIGHBOUR)
        }
        yield http


def get(client: TestClient, who: str | None, path: str) -> Any:
    token = client.app.state.tokens_for_test.get(who)  # type: ignore[attr-defined]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.get(f"/supervision/v1{path}", headers=headers)


def flow_of(client: TestClient, who: str, batch: str = "B1", query: str = "") -> Any:
    answer = get(client, who, f"/batches/{MAH}/{batch}/flow{query}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def links(flow: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(link["source_id"], link["target_id"], link["value"]) for link in flow["links"]}


def test_each_province_sees_its_own_part_of_a_batch(client: TestClient) -> None:
    jiangsu = flow_of(client, JIANGSU)
    assert jiangsu["batch"] | {} == {
        "mah_uscc": MAH,
        "batch_no": "B1",
        "product_code": "HepB",
        "expiry_date": "2028-01-31",
        "production_date": None,
        "certificate_no": None,
    }
    assert links(jiangsu) == {
        (MAH, CDC_JS, 3),
        (CDC_JS, SITE, 2),
        (CDC_JS, OTHER_SITE, 1),
        (SITE, "vaccinated", 1),
        (OTHER_SITE, "vaccinated", 1),
    }
    ids = [n["id"] for n in jiangsu["nodes"]]
    assert CDC_ZJ not in ids and "damaged" not in ids
    holders = {h["id"]: h for h in jiangsu["holders"]}
    assert (holders[SITE]["in_stock"], holders[SITE]["used"]) == (1, 1)
    assert holders[CDC_JS]["in_stock"] == 0 and holders[MAH]["in_stock"] == 0
    site_series = {s["name"]: s["data"] for s in holders[SITE]["series"]}
    assert site_series["received"] == [["2026-11-05", 2]]  # Beijing days, non-zero only
    assert site_series["used"] == [["2026-11-06", 1]] and site_series["shipped"] == []
    series = {s["name"]: s["data"] for s in jiangsu["series"]}
    assert sum(series["shipped"]) == 6 and sum(series["used"]) == 2
    assert sum(series["produced"]) == 5  # the MAH's production is a Jiangsu step

    zhejiang = flow_of(client, ZHEJIANG)
    assert links(zhejiang) == {(MAH, CDC_ZJ, 2), (CDC_ZJ, "damaged", 1)}
    zj = {h["id"]: h for h in zhejiang["holders"]}
    assert (zj[CDC_ZJ]["in_stock"], zj[CDC_ZJ]["lost"], zj[CDC_ZJ]["damaged"]) == (1, 1, 1)
    assert {n["id"] for n in zhejiang["nodes"]} == {MAH, CDC_ZJ, "damaged"}
    assert sum(sum(s["data"]) for s in zhejiang["series"] if s["name"] != "lost") == 4


def test_the_flow_is_ready_for_a_sankey_chart(client: TestClient) -> None:
    flow = flow_of(client, JIANGSU, query="?period=month")
    names = [n["name"] for n in flow["nodes"]]
    assert len(set(names)) == len(names)
    by_id = {n["id"]: n for n in flow["nodes"]}
    assert by_id[MAH]["name"] == "示例生物" and by_id[MAH]["kind"] == "mah"
    assert by_id[OTHER_SITE]["name"] == OTHER_SITE  # not in the registry copy: its USCC
    for link in flow["links"]:  # links name their nodes, as ECharts takes them
        assert link["source"] == by_id[link["source_id"]]["name"]
        assert link["target"] == by_id[link["target_id"]]["name"]
    assert flow["periods"] == ["2026-11"]
    assert {s["name"] for s in flow["series"]} >= {"shipped", "received", "used", "lost"}


def test_a_county_sees_its_part_and_an_unknown_batch_is_not_found(client: TestClient) -> None:
    assert links(flow_of(client, COUNTY)) == {(CDC_JS, SITE, 2), (SITE, "vaccinated", 1)}
    assert links(flow_of(client, NEIGHBOUR)) == {
        (CDC_JS, OTHER_SITE, 1),
        (OTHER_SITE, "vaccinated", 1),
    }
    assert links(flow_of(client, ZHEJIANG, "B2")) == {(MAH, CDC_ZJ, 1)}
    for who, batch in (
        (JIANGSU, "B9"),  # nobody knows it
        (COUNTY, "B2"),  # known, but nothing of it was done in the county
    ):
        refused = get(client, who, f"/batches/{MAH}/{batch}/flow")
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert (refused.json()["reason"], refused.json()["field"]) == ("unknown_batch", "batch_no")
    assert get(client, None, f"/batches/{MAH}/B1/flow").status_code == 401
    assert get(client, COUNTY, f"/batches/{MAH}/B1/flow?period=year").status_code == 422


def stats(client: TestClient, who: str, query: str) -> Any:
    answer = get(client, who, f"/statistics?{query}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return {
        category: {s["name"]: s["data"][i] for s in body["series"]}
        for i, category in enumerate(body["categories"])
    }


def test_a_county_statistics_leave_out_the_neighbour(client: TestClient) -> None:
    county = stats(client, COUNTY, "group_by=division&level=county")
    assert list(county) == ["320106"]
    assert county["320106"] | {} == {
        "produced": 0,
        "shipped": 0,
        "received": 2,
        "used": 1,
        "returned": 0,
        "lost": 0,
        "in_stock": 1,
    }
    province = stats(client, JIANGSU, "group_by=division&level=county")
    assert list(province) == ["320100", "320106", "320111"]
    assert province["320100"]["shipped"] == 6 and province["320111"]["used"] == 1
    assert list(stats(client, JIANGSU, "group_by=division&level=province")) == ["320000"]
    assert stats(client, ZHEJIANG, "group_by=division")["330000"]["lost"] == 1
    months = stats(client, JIANGSU, "group_by=month")
    assert list(months) == ["2026-11"] and months["2026-11"]["used"] == 2
    mah = get(client, JIANGSU, "/statistics?group_by=mah").json()
    assert mah["categories"] == [MAH] and mah["labels"] == ["示例生物"]
    product = get(client, JIANGSU, "/statistics?group_by=product").json()
    assert product["categories"] == ["", f"{MAH}/HepB"]  # B2: no note said its product
    assert product["labels"] == ["(unknown)", f"{MAH}/HepB"]  # no product in the registry copy
    later = stats(client, JIANGSU, "group_by=month&since=2026-11-06T00:00:00%2B08:00")
    assert later["2026-11"]["used"] == 2 and later["2026-11"]["shipped"] == 0


def test_bad_statistics_requests(client: TestClient) -> None:
    for query in (
        "group_by=colour",
        "group_by=division&level=street",
        "group_by=month&since=2026-11-06T00:00:00",  # no offset
        "group_by=month&since=2026-11-06T00:00:00Z&until=2026-11-01T00:00:00Z",
    ):
        refused = get(client, COUNTY, f"/statistics?{query}")
        assert refused.status_code == 422, (query, refused.text)
        assert refused.headers["content-type"].startswith(PROBLEM)
    assert get(client, None, "/statistics?group_by=month").status_code == 401


def test_recall_progress_by_division(client: TestClient) -> None:
    answer = get(client, JIANGSU, "/statistics/recalls?level=county")
    assert answer.status_code == 200, answer.text
    [recall] = answer.json()["recalls"]
    assert (recall["recall_no"], recall["recall_level"], recall["batch_no"]) == ("R1", 1, "B1")
    assert recall["categories"] == ["320106", "320111"]
    series = {s["name"]: s["data"] for s in recall["series"]}
    assert series["total"] == [2, 1] and series["used"] == [1, 1]
    assert series["outstanding"] == [1, 0]  # J2 still at the site
    assert recall["rate"] == 0.0
    [theirs] = get(client, ZHEJIANG, "/statistics/recalls").json()["recalls"]
    assert theirs["categories"] == ["330000"] and theirs["totals"]["total"] == 2
    assert theirs["totals"]["damaged"] == 1
    [county] = get(client, COUNTY, "/statistics/recalls?level=county").json()["recalls"]
    assert county["categories"] == ["320106"]
    assert get(client, COUNTY, "/statistics/recalls?level=street").status_code == 422
