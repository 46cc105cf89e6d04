"""Refusal alerts at the province: a report its receiver refused — the MAH's trace system,
through the platform, or the platform itself — is an alert for the CDC or site that did the
step, seen with that unit's token only, until its staff acknowledge it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from province_world import (
    CASE,
    CONTENTS,
    PLATFORM_CALLER,
    PLATFORM_SIGNER,
    POV,
    PROBLEM,
    PROVINCE_CDC,
    PROVINCE_SIGNER,
    Province,
    dose,
    fields,
    make_province,
)

from vaxtrace.app import build_app
from vaxtrace.core.errors import DomainError
from vaxtrace.core.immunization import Distribution, Vaccination
from vaxtrace.core.refusal import ADVICE, REFUSAL
from vaxtrace.exchange.delivery import Outbox, Refused
from vaxtrace.exchange.envelope import seal
from vaxtrace.roles.immunization.service import ImmunizationService
from vaxtrace.settings import Settings
from vaxtrace.store.exchange import ExchangeStore
from vaxtrace.store.immunization import schema

API = "/immunization/v1"
_sequence = itertools.count(100)


class Desk:
    def __init__(self, client: TestClient, province: Province) -> None:
        self.client, self.province = client, province
        self.tokens = {org: province.svc.issue_token(org, "desk") for org in (PROVINCE_CDC, POV)}

    def get(self, path: str, actor: str, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[actor]}"}
        return self.client.get(API + path, params=params, headers=headers)

    def post(self, path: str, actor: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[actor]}"}
        return self.client.post(API + path, json=body, headers=headers)


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(
        data_dir=tmp_path,
        immunization_database_url=database_url,
        platform_exchange_key=PLATFORM_SIGNER.public_text(),
    )
    app = build_app(settings, roles=("immunization",))
    svc: ImmunizationService = app.state.immunization
    svc.outbox = Outbox(svc.engine, ExchangeStore(schema.exchange), PROVINCE_SIGNER, "province-32")
    province = make_province(svc.engine)
    province.svc = svc
    with TestClient(app) as client:
        yield Desk(client, province)


def notice(org: str = POV, reason: str = "locked", **changes: Any) -> dict[str, Any]:
    """A refusal as the platform sends it back."""
    return {
        "refused_event_id": "e-forwarded",
        "origin_system_id": "province-32",
        "origin_event_id": "e-report",
        "receiver_system_id": "trace-a",
        "status": 409,
        "reason": reason,
        "field": "codes",
        "detail": f"1 code(s) e.g. {dose(1)}: the code is locked (pending); use refused",
        "bill_type": "322",
        "document_no": "JZ000001",
        "org_uscc": org,
        "codes": [dose(1)],
        "code_count": 1,
        "advice": ADVICE.get(reason, "ask the operator"),
        "refused_at": "2026-11-23T09:00:00+08:00",
    } | changes


def sent_back(svc: ImmunizationService, *notices: dict[str, Any]) -> list[dict[str, Any]]:
    envelopes = [
        seal(
            PLATFORM_SIGNER,
            system_id="platform",
            event_type="20",
            event_subtype=REFUSAL,
            data_owner=str(n["org_uscc"] or POV),
            sequence=next(_sequence),
            payload={REFUSAL: n},
        )
        for n in notices
    ]
    return svc.receive_batch(PLATFORM_CALLER, envelopes)


def test_a_refusal_is_an_alert_of_the_unit_that_did_the_step_only(desk: Desk) -> None:
    svc = desk.province.svc
    (taken,) = sent_back(svc, notice())
    assert taken["accepted"] is True and taken["alert_id"] > 0
    (alert,) = desk.get("/alerts", POV).json()["alerts"]
    assert alert["state"] == "open" and alert["org_uscc"] == POV
    assert (alert["bill_type"], alert["bill"], alert["document_no"]) == (
        "322",
        "vaccination 接种",
        "JZ000001",
    )
    assert alert["codes"] == [dose(1)] and alert["code_count"] == 1
    assert (alert["reason"], alert["refused_by"]) == ("locked", "trace-a")
    assert "locked" in alert["detail"] and alert["what_to_do"] == ADVICE["locked"]
    assert alert["refused_at"].startswith("2026-11-23") and alert["raised_at"]
    assert alert["report_event_id"] == "e-report"
    # another unit's token sees none of it, and cannot acknowledge it
    assert desk.get("/alerts", PROVINCE_CDC).json() == {"org_uscc": PROVINCE_CDC, "alerts": []}
    other = desk.post(f"/alerts/{alert['id']}/acknowledgement", PROVINCE_CDC)
    assert other.status_code == 404 and other.headers["content-type"].startswith(PROBLEM)
    assert (other.json()["reason"], other.json()["field"]) == ("unknown_alert", "alert_id")
    assert desk.client.get(f"{API}/alerts").status_code == 401


def test_alerts_come_newest_first_and_are_acknowledged_once(desk: Desk) -> None:
    svc = desk.province.svc
    sent_back(svc, notice(document_no="JZ1"), notice(document_no="JZ2", reason="gone"))
    first, second = desk.get("/alerts", POV).json()["alerts"]
    assert (first["document_no"], second["document_no"]) == ("JZ2", "JZ1")
    done = desk.post(f"/alerts/{second['id']}/acknowledgement", POV, {"note": "已隔离待厂家答复"})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "acknowledged" and done.json()["acknowledgement"] == (
        "已隔离待厂家答复"
    )
    again = desk.post(f"/alerts/{second['id']}/acknowledgement", POV, {"note": "again"})
    assert again.json() == done.json()  # the first acknowledgement stands
    opened = desk.get("/alerts", POV, state="open").json()["alerts"]
    assert [a["document_no"] for a in opened] == ["JZ2"]
    acked = desk.get("/alerts", POV, state="acknowledged").json()["alerts"]
    assert [a["document_no"] for a in acked] == ["JZ1"]
    older = desk.get("/alerts", POV, before=str(first["id"])).json()["alerts"]
    assert [a["document_no"] for a in older] == ["JZ1"]
    assert svc.open_alerts()[0]["document_no"] == "JZ2"
    bad = desk.get("/alerts", POV, state="closed")
    assert bad.status_code == 422 and bad.json()["field"] == "state"
    assert desk.post("/alerts/0/acknowledgement", POV).status_code == 422


def test_a_malformed_refusal_is_refused_and_changes_nothing(desk: Desk) -> None:
    svc = desk.province.svc
    before = desk.province.counts()
    for broken, field in (
        (notice(org=None), "envelopes[0].payload.refusal.org_uscc"),
        (notice(code_count=-1), "envelopes[0].payload.refusal"),
    ):
        with pytest.raises(DomainError) as refused:
            sent_back(svc, broken)
        assert (refused.value.reason, refused.value.field) == ("malformed_refusal", field)
    assert desk.province.counts() == before


def test_a_report_the_platform_refuses_is_an_alert_here(desk: Desk) -> None:
    """The platform itself refused what this node sent it: the sender learns it from the
    answer, and the unit that did the step is told here."""
    province = desk.province
    svc = province.svc
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    province.supply(
        PROVINCE_CDC, Distribution(**fields("d"), codes=(CONTENTS[CASE][0],), receiver_uscc=POV)
    )
    used = svc.vaccinate(
        POV, Vaccination(**fields("v"), code=dose(1), vaccinee_ref="c-7", vaccinator="李护士")
    )
    problem = {
        "reason": "not_represented",
        "field": "envelopes[0].data_owner",
        "detail": f"envelopes[0]: province-32 does not represent {POV}",
    }

    def platform(_receiver: str, batch: Sequence[Mapping[str, Any]]) -> None:
        at = next((i for i, e in enumerate(batch) if e["data_owner"] == POV), None)
        if at is not None:
            item = f"envelopes[{at}]"
            named = {k: v.replace("envelopes[0]", item) for k, v in problem.items()}
            raise Refused("platform refused", named, 403)

    assert svc.outbox is not None
    done = svc.outbox.deliver_due(platform)
    assert done.delivered == 2 and len(done.refused) == 2  # the site's receipt and its dose
    alerts = desk.get("/alerts", POV).json()["alerts"]
    assert sorted(a["bill_type"] for a in alerts) == ["107", "322"]
    alert = next(a for a in alerts if a["bill_type"] == "322")
    assert (alert["reason"], alert["field"], alert["refused_by"]) == (
        "not_represented",
        "data_owner",
        "platform",
    )
    assert alert["report_event_id"] == used.body["exchange_event_id"]
    assert alert["bill_type"] == "322" and alert["codes"] == [dose(1)]
    assert "operator" in alert["what_to_do"]
    assert desk.get("/alerts", PROVINCE_CDC).json()["alerts"] == []
