"""Stock views, scrap and destruction through the province's HTTP API (SQLite and PostgreSQL):
bearer tokens, the node's near-expiry default, a CDC-only area view, idempotent writes, and
refusals as RFC 9457 problems naming reason and field that change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from province_world import (
    BATCH_NO,
    BOXES,
    CASE,
    CONTENTS,
    PLATFORM_SIGNER,
    POV,
    PROBLEM,
    PROVINCE_CDC,
    PROVINCE_SIGNER,
    Province,
    fields,
    make_province,
)
from test_stock_views import know_the_product

from vaxtrace.app import build_app
from vaxtrace.core.dose_gate import local_date
from vaxtrace.exchange.delivery import Outbox
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.settings import Settings
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.immunization import schema

API = "/immunization/v1"
EXPIRY = date(2028, 12, 31)


class Desk:
    def __init__(self, client: TestClient, province: Province) -> None:
        self.client, self.province = client, province
        self.tokens = {org: province.svc.issue_token(org, "desk") for org in (PROVINCE_CDC, POV)}

    def auth(self, actor: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def get(self, path: str, actor: str = PROVINCE_CDC, **params: Any) -> Response:
        return self.client.get(API + path, params=params, headers=self.auth(actor))

    def post(self, path: str, body: dict[str, Any], actor: str = PROVINCE_CDC) -> Response:
        return self.client.post(API + path, json=body, headers=self.auth(actor))

    def refused(
        self, response: Response, status: int, reason: str, field: str | None
    ) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        body: dict[str, Any] = response.json()
        assert (body["reason"], body.get("field"), body["status"]) == (reason, field, status)
        return body


def document(prefix: str, **extra: Any) -> dict[str, Any]:
    found = fields(prefix) | extra
    return found | {"business_time": found["business_time"].isoformat()}


DAYS_TO_EXPIRY = (EXPIRY - local_date(datetime.now(UTC))).days


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(
        data_dir=tmp_path,
        immunization_database_url=database_url,
        platform_exchange_key=PLATFORM_SIGNER.public_text(),
        near_expiry_days=DAYS_TO_EXPIRY + 10,  # this node looks far ahead
    )
    app = build_app(settings, roles=("immunization",))
    svc: ImmunizationService = app.state.immunization
    svc.outbox = Outbox(svc.engine, ExchangeStore(schema.exchange), PROVINCE_SIGNER, "province-32")
    province = make_province(svc.engine)
    province.svc = svc
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    know_the_product(province)
    with TestClient(app) as client:
        yield Desk(client, province)


def test_the_views_in_doses(desk: Desk) -> None:
    summary = desk.get("/stock/summary")
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert (body["holder_uscc"], body["doses"], body["by_status"]["usable"]) == (PROVINCE_CDC, 6, 6)
    assert [(x["batch_no"], x["status"]) for x in body["lines"]] == [(BATCH_NO, "usable")]
    assert body["lines"][0]["product_name"] == "乙型肝炎疫苗(酿酒酵母)"

    near = desk.get("/stock/near-expiry").json()  # the node's default: far enough ahead
    assert near["days"] == DAYS_TO_EXPIRY + 10
    assert [(b["batch_no"], b["days_left"], b["doses"]) for b in near["batches"]] == [
        (BATCH_NO, DAYS_TO_EXPIRY, 6)
    ]
    assert desk.get("/stock/near-expiry", days=30).json()["batches"] == []
    assert desk.get("/stock/expired").json()["batches"] == []

    area = desk.get("/stock/province").json()
    assert area["doses"] == 6 and len(area["units"]) == 5
    assert desk.get("/stock/summary", POV).json()["doses"] == 0


def test_who_may_look_and_what_they_may_ask(desk: Desk) -> None:
    for path in ("/stock/summary", "/stock/near-expiry", "/stock/expired", "/stock/province"):
        anonymous = desk.client.get(API + path)
        desk.refused(anonymous, 401, "unauthenticated", None)
    desk.refused(desk.get("/stock/province", POV), 403, "not_a_cdc", None)
    desk.refused(desk.get("/stock/near-expiry", days=-1), 422, "invalid_greater_than_equal", "days")
    desk.refused(desk.get("/stock/near-expiry", days=3651), 422, "invalid_less_than_equal", "days")
    desk.refused(desk.get("/stock/near-expiry", days="soon"), 422, "invalid_int_parsing", "days")


def test_scrap_and_destruction(desk: Desk) -> None:
    body = document("scr", codes=[BOXES[0]], reason="过期")
    first = desk.post("/scraps", body)
    assert first.status_code == 201, first.text
    assert first.headers["idempotent-replayed"] == "false"
    assert (first.json()["bill_type"], first.json()["moved"]) == ("216", 4)
    again = desk.post("/scraps", body)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"

    destroy = document("des", codes=[BOXES[1]], reason="过期", executor="王五", supervisor="赵六")
    done = desk.post("/destructions", destroy)
    assert done.status_code == 201, done.text
    assert (done.json()["bill_type"], done.json()["state"]) == ("205", "destroyed")
    assert desk.get("/stock/summary").json()["by_status"]["usable"] == 0


def test_disposal_refusals_are_problems_that_change_nothing(desk: Desk) -> None:
    before = desk.province.counts()
    no_supervisor = document("des", codes=[BOXES[1]], reason="过期", executor="王五")
    desk.refused(desk.post("/destructions", no_supervisor), 422, "invalid_missing", "supervisor")
    blank = document("scr", codes=[BOXES[1]], reason="")
    desk.refused(desk.post("/scraps", blank), 422, "invalid_string_too_short", "reason")
    anonymous = desk.client.post(API + "/scraps", json=document("scr", codes=[CASE], reason="x"))
    desk.refused(anonymous, 401, "unauthenticated", None)
    at_site = desk.post("/scraps", document("scr", codes=[CASE], reason="x"), POV)
    desk.refused(at_site, 409, "not_held", "codes")
    assert desk.province.counts() == before

    desk.province.signal(batch_nos=[BATCH_NO], kind="lock", lock_kind="pending", reason="审查")
    before = desk.province.counts()
    locked = desk.post("/scraps", document("scr", codes=[CASE], reason="x"))
    desk.refused(locked, 409, "locked", "codes")
    assert desk.province.counts() == before


def test_the_openapi_lists_what_the_routes_answer(desk: Desk) -> None:
    paths = desk.client.get("/openapi.json").json()["paths"]
    writes = {"200", "201", "400", "401", "404", "409", "413", "422"}  # 200: a replay
    answers = {  # 422 wherever a request has parameters (the bearer header)
        ("/stock/summary", "get"): {"200", "401", "422"},
        ("/stock/near-expiry", "get"): {"200", "401", "422"},
        ("/stock/province", "get"): {"200", "401", "403", "422"},
        ("/scraps", "post"): writes,
        ("/destructions", "post"): writes,
    }
    for (path, method), statuses in answers.items():
        assert set(paths[API + path][method]["responses"]) == statuses, path
