"""Alerts of the supervision node, through its service and its HTTP API, on both backends:
one per finding (a repeat raises nothing); a regulator sees and acts on the alerts of its area
only (any other is not found); open → acknowledged → resolved, a reason required; an alert
nobody takes in hand climbs county → city → province → national after its severity's wait,
and each tier's named people get a mail through a real SMTP server; a province's cold-chain
excursion joins the alerts as it arrives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.notify.servers import Hook, Mailbox, http_server, smtp_server
from tests.roles.supervision.test_service import PLATFORM, PLATFORM_SIGNER, copied
from vaxtrace.app import build_app
from vaxtrace.core.alerts.contacts import Contact
from vaxtrace.core.alerts.excursions import TEMPERATURE_EXCURSION
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.validation.findings import RuleFinding, Severity, SubjectKind
from vaxtrace.roles.supervision.service import SupervisionService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.store.engine import read_tx
from vaxtrace.store.supervision.schema import alert, alert_event, journal

PROVINCE = make_uscc("11320000MB0X00001")  # 320000
CITY = make_uscc("11320100MB0X00002")  # 320100
COUNTY = make_uscc("11320106MB0X00004")  # 鼓楼区 320106
NEIGHBOUR = make_uscc("11320111MB0X00005")  # 浦口区 320111
ELSEWHERE = make_uscc("11330000MB0X00003")  # another province, 330000
SITE = make_uscc("12320106MB0X00007")
OTHER_SITE = make_uscc("12320111MB0X00008")
PROBLEM = "application/problem+json"
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def finding(
    subject: str,
    division: str = "320106",
    severity: Severity = Severity.SEVERE,
    rule: str = "chain_incomplete",
) -> RuleFinding:
    return RuleFinding(
        rule=rule,
        severity=severity,
        subject_kind=SubjectKind.CODE,
        subject=subject,
        owing_uscc=SITE if division == "320106" else OTHER_SITE,
        division_code=division,
        occurred_at=T0 - timedelta(days=1),
        detail={"missing_step": "107", "at": T0},
    )


@dataclass
class Node:
    http: TestClient
    svc: SupervisionService
    mailbox: Mailbox
    tokens: dict[str, str]

    def call(self, method: str, who: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.http.request(method, f"/supervision/v1{path}", headers=headers, **kw)

    def get(self, who: str, path: str, **kw: Any) -> Any:
        return self.call("GET", who, path, **kw)

    def post(self, who: str, path: str, **kw: Any) -> Any:
        return self.call("POST", who, path, **kw)

    def recipients(self) -> list[str]:
        with self.mailbox.lock:
            return sorted(r for rcpts, _ in self.mailbox.mails for r in rcpts)

    def clear(self) -> None:
        with self.mailbox.lock:
            self.mailbox.mails.clear()


def _settings(tmp_path: Path, database_url: str, port: int, tick: float) -> Settings:
    return Settings(
        data_dir=tmp_path,
        supervision_database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="alerts@supervision.example",
        alert_escalate_after_hours={"severe": 4, "warning": 24},
        alert_tick_seconds=tick,
    )


def _regulators(svc: SupervisionService) -> dict[str, str]:
    for uscc, name, division in (
        (PROVINCE, "示例省药品监督管理局", "320000"),
        (CITY, "示例市市场监督管理局", "320100"),
        (COUNTY, "鼓楼区市场监督管理局", "320106"),
        (NEIGHBOUR, "浦口区市场监督管理局", "320111"),
        (ELSEWHERE, "邻省药品监督管理局", "330000"),
    ):
        svc.register_organisation(
            Organisation(uscc=uscc, name=name, kind=OrgKind.REGULATOR, division_code=division)
        )
    return {who: svc.issue_token(who) for who in (PROVINCE, CITY, COUNTY, NEIGHBOUR, ELSEWHERE)}


@pytest.fixture
def node(database_url: str, tmp_path: Path) -> Iterator[Node]:
    """The node's app without its background rounds (no lifespan): the tests run the rounds
    themselves, at the times they choose."""
    with smtp_server() as (port, mailbox):
        app = build_app(_settings(tmp_path, database_url, port, 3600), roles=("supervision",))
        svc = app.state.supervision
        yield Node(TestClient(app), svc, mailbox, _regulators(svc))
        svc.close()
        svc.engine.dispose()


def _people(tag: str, n: int) -> list[dict[str, str]]:
    return [{"name": f"{tag}{i}", "address": f"{tag}{i}@fda.example"} for i in range(1, n + 1)]


def _alert_rows(svc: SupervisionService) -> int:
    with read_tx(svc.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(alert)).scalar_one())


def _ids(node: Node, who: str, **params: Any) -> list[int]:
    answer = node.get(who, "/alerts", params=params)
    assert answer.status_code == 200, answer.text
    return [a["id"] for a in answer.json()["alerts"]]


def test_a_repeat_finding_raises_no_new_alert(node: Node) -> None:
    assert node.svc.open_alerts([finding("C1"), finding("C2"), finding("C1")], T0) == 2
    assert node.svc.open_alerts([finding("C2"), finding("C3")], T0 + timedelta(hours=1)) == 1
    assert node.svc.open_alerts([finding("C1"), finding("C2"), finding("C3")]) == 0
    assert _alert_rows(node.svc) == 3
    listed = node.get(COUNTY, "/alerts").json()["alerts"]
    assert sorted(a["subject"] for a in listed) == ["C1", "C2", "C3"]
    first = next(a for a in listed if a["subject"] == "C1")
    assert first["state"] == "open" and first["tier_division"] == "320106"
    assert first["owing_uscc"] == SITE and first["severity"] == "severe"
    assert first["detail"] == {"missing_step": "107", "at": T0.isoformat()}
    # resolved, the same finding found again still raises nothing
    node.svc.resolve_alert(COUNTY, first["id"], "补录")
    assert node.svc.open_alerts([finding("C1")]) == 0


def test_a_county_neither_sees_nor_acts_on_a_neighbours_alert(node: Node) -> None:
    node.svc.open_alerts([finding("HERE"), finding("THERE", division="320111")], T0)
    here, there = sorted(_ids(node, CITY))
    assert _ids(node, COUNTY) == [here]
    assert _ids(node, NEIGHBOUR) == [there]
    assert _ids(node, PROVINCE) == [there, here]
    assert _ids(node, ELSEWHERE) == []
    for method, path, body in (
        ("GET", f"/alerts/{there}", None),
        ("POST", f"/alerts/{there}/acknowledge", {"note": "mine now"}),
        ("POST", f"/alerts/{there}/resolve", {"reason": "not ours but closed"}),
        ("GET", "/alerts/999999", None),  # none at all: answered the same
    ):
        refused = node.call(method, COUNTY, path, json=body)
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert (refused.json()["reason"], refused.json()["field"]) == ("unknown_alert", "alert_id")
    seen = node.get(NEIGHBOUR, f"/alerts/{there}").json()
    assert seen["state"] == "open" and seen["acknowledged_by"] is None
    assert [e["kind"] for e in seen["history"]] == ["opened"]
    # the province acts on an alert anywhere in it
    taken = node.post(PROVINCE, f"/alerts/{there}/acknowledge")
    assert taken.status_code == 200 and taken.json()["acknowledged_by"] == PROVINCE
    assert node.post(ELSEWHERE, f"/alerts/{here}/acknowledge").status_code == 404


def test_open_acknowledged_resolved_with_a_reason(node: Node) -> None:
    node.svc.open_alerts([finding("C1")], T0)
    (alert_id,) = _ids(node, COUNTY)
    taken = node.post(COUNTY, f"/alerts/{alert_id}/acknowledge", json={"note": "在查"})
    assert taken.status_code == 200, taken.text
    assert (taken.json()["state"], taken.json()["acknowledged_by"]) == ("acknowledged", COUNTY)
    assert taken.json()["acknowledgement"] == "在查"
    again = node.post(CITY, f"/alerts/{alert_id}/acknowledge")
    assert again.status_code == 200 and again.json() == taken.json()  # nothing rewritten
    before = node.get(COUNTY, f"/alerts/{alert_id}").json()
    entries = _journal(node.svc)
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": None}):
        refused = node.post(COUNTY, f"/alerts/{alert_id}/resolve", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert (refused.json()["reason"], refused.json()["field"]) == ("reason_required", "reason")
    assert node.get(COUNTY, f"/alerts/{alert_id}").json() == before
    assert _journal(node.svc) == entries
    done = node.post(COUNTY, f"/alerts/{alert_id}/resolve", json={"reason": " 已补录收货记录 "})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["state"], body["resolved_by"], body["resolved_reason"]) == (
        "resolved",
        COUNTY,
        "已补录收货记录",
    )
    assert body["resolved_at"] is not None
    for path, payload in (("acknowledge", None), ("resolve", {"reason": "again"})):
        late = node.post(COUNTY, f"/alerts/{alert_id}/{path}", json=payload)
        assert late.status_code == 409 and late.json()["reason"] == "illegal_transition"
    history = node.get(COUNTY, f"/alerts/{alert_id}").json()["history"]
    assert [(e["kind"], e["by"], e["why"]) for e in history] == [
        ("opened", "system", None),
        ("acknowledged", COUNTY, "在查"),
        ("resolved", COUNTY, "已补录收货记录"),
    ]
    assert _ids(node, COUNTY, state="resolved") == [alert_id]
    assert _ids(node, COUNTY, state="open") == []
    assert node.get(COUNTY, "/alerts", params={"state": "closed"}).status_code == 422


def _journal(svc: SupervisionService) -> int:
    with read_tx(svc.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(journal.table)).scalar_one())


def test_an_unhandled_alert_climbs_every_tier_and_each_tier_is_told(node: Node) -> None:
    for who, tag, n in ((COUNTY, "county", 3), (CITY, "city", 3), (PROVINCE, "province", 1)):
        put = node.call("PUT", who, "/contacts", json={"contacts": _people(tag, n)})
        assert put.status_code == 200, put.text
    node.svc.put_division_contacts("000000", [Contact(**p) for p in _people("nmpa", 3)])
    severe, warning, handled = (finding("S"), finding("W", severity=Severity.WARNING), finding("H"))
    assert node.svc.open_alerts([severe, warning, handled], T0) == 3
    ids = {a["subject"]: a["id"] for a in node.get(COUNTY, "/alerts").json()["alerts"]}
    node.post(COUNTY, f"/alerts/{ids['H']}/acknowledge")

    def tick(hours: float) -> dict[str, Any]:
        node.clear()
        return node.svc.alert_tick(T0 + timedelta(hours=hours))

    first = tick(0)  # opened: the county's people are told of each alert
    assert first["escalation"]["escalated"] == 0
    assert first["notices"]["sent"] == 9 and node.recipients().count("county1@fda.example") == 3
    assert tick(3.9)["escalation"]["escalated"] == 0 and node.recipients() == []
    for hours, below, tier, told in (
        (4, "320106", "320100", [f"city{i}@fda.example" for i in (1, 2, 3)]),
        (8, "320100", "320000", ["province1@fda.example"]),
        (12, "320000", "000000", [f"nmpa{i}@fda.example" for i in (1, 2, 3)]),
    ):
        done = tick(hours)
        assert done["escalation"]["alerts"] == [{"id": ids["S"], "from": below, "to": tier}]
        assert node.recipients() == told
        assert node.get(COUNTY, f"/alerts/{ids['S']}").json()["tier_division"] == tier
    assert tick(100)["escalation"]["alerts"] == [  # the warning, after its 24 h; S stays
        {"id": ids["W"], "from": "320106", "to": "320100"}
    ]
    shown = node.get(PROVINCE, f"/alerts/{ids['S']}").json()
    assert [(e["kind"], e["tier_division"]) for e in shown["history"]] == [
        ("opened", "320106"),
        ("escalated", "320100"),
        ("escalated", "320000"),
        ("escalated", "000000"),
    ]
    assert {n["state"] for n in shown["notices"]} == {"sent"} and len(shown["notices"]) == 10
    assert _ids(node, CITY, mine="true") == [ids["W"]]  # S is the nation's now
    handled_now = node.get(COUNTY, f"/alerts/{ids['H']}").json()
    assert handled_now["tier_division"] == "320106"  # acknowledged: it climbs no more
    assert node.recipients() == [f"city{i}@fda.example" for i in (1, 2, 3)]  # W's, at 100 h
    assert tick(101)["notices"]["sent"] == 0  # each notice once


def test_the_mail_names_the_alert(node: Node) -> None:
    node.call("PUT", COUNTY, "/contacts", json={"contacts": _people("county", 3)})
    node.svc.open_alerts([finding("80000010000000017")], T0)
    node.svc.alert_tick(T0)
    rcpts, mail = node.mailbox.mails[0]
    assert rcpts == ["county1@fda.example"]
    assert mail["From"] == "alerts@supervision.example"
    assert "严重" in str(mail["Subject"]) and "80000010000000017" in str(mail["Subject"])
    text = mail.get_content()
    assert "county1" in text and "chain_incomplete" in text and SITE in text


def test_contacts_of_the_regulators_own_division(node: Node) -> None:
    assert node.call("GET", COUNTY, "/contacts").json() == {
        "division_code": "320106",
        "contacts": [],
        "warnings": [
            {
                "reason": "too_few_contacts",
                "detail": node.svc.alert_contacts(COUNTY)["warnings"][0]["detail"],
            }
        ],
    }
    two = node.call("PUT", COUNTY, "/contacts", json={"contacts": _people("c", 2)})
    assert two.status_code == 200 and two.json()["warnings"][0]["reason"] == "too_few_contacts"
    listed = node.get(COUNTY, "/alerts").json()
    assert listed["warnings"][0]["reason"] == "too_few_contacts"
    doubled = [*_people("c", 3), _people("c", 1)[0]]
    refused = node.call("PUT", COUNTY, "/contacts", json={"contacts": doubled})
    assert refused.status_code == 422 and refused.json()["reason"] == "duplicate_contact"
    assert len(node.get(COUNTY, "/contacts").json()["contacts"]) == 2  # unchanged
    three = node.call("PUT", COUNTY, "/contacts", json={"contacts": _people("c", 3)})
    assert "warnings" not in three.json() and "warnings" not in node.get(COUNTY, "/alerts").json()
    assert node.get(NEIGHBOUR, "/contacts").json()["contacts"] == []  # its own division only
    assert node.http.put("/supervision/v1/contacts", json={"contacts": []}).status_code == 401
    assert node.http.get("/supervision/v1/alerts").status_code == 401
    gaps = {g["division_code"]: g["contacts"] for g in node.svc.contact_gaps()}
    assert gaps == {"320000": 0, "320100": 0, "320111": 0, "330000": 0}


def test_an_excursion_joins_the_alerts_tiered_as_the_province_judged_it(node: Node) -> None:
    def excursion(sequence: int, excursion_id: int, tier: str) -> dict[str, Any]:
        return copied(
            sequence,
            division="320106",
            bill_type="931",
            org_uscc=SITE,
            document_no=f"TR-{excursion_id}",
            codes=["80000010000000017", "80000010000000024"],
            detail={
                "equipment_id": "冰箱-1",
                "excursion_id": excursion_id,
                "rule_id": "freeze",
                "tier": tier,
                "minutes": 75.0,
                "min_celsius": -2.5,
                "max_celsius": 3.0,
            },
        )

    feed = SupervisionService(node.svc.engine, "platform", PLATFORM_SIGNER.verifier())
    taken = feed.receive_batch(
        PLATFORM,
        [excursion(1, 41, "severe"), excursion(2, 41, "severe"), excursion(3, 42, "notice")],
    )
    assert all(t["accepted"] for t in taken), taken
    listed = node.get(COUNTY, "/alerts", params={"rule": TEMPERATURE_EXCURSION}).json()["alerts"]
    assert [(a["subject_kind"], a["subject"], a["severity"]) for a in listed] == [
        ("fridge", f"{SITE}:冰箱-1:42", "notice"),
        ("fridge", f"{SITE}:冰箱-1:41", "severe"),
    ]
    assert listed[1]["owing_uscc"] == SITE and listed[1]["detail"]["codes"] == 2
    assert node.svc.alerts_from_excursions() == 0  # kept as they came: nothing to catch up
    assert _ids(node, NEIGHBOUR) == []
    with read_tx(node.svc.engine) as conn:
        events = conn.execute(select(func.count()).select_from(alert_event)).scalar_one()
    assert events == 2


def test_the_node_escalates_and_notifies_by_itself(database_url: str, tmp_path: Path) -> None:
    with smtp_server() as (port, mailbox):
        app = build_app(_settings(tmp_path, database_url, port, 0.05), roles=("supervision",))
        svc = app.state.supervision
        _regulators(svc)
        svc.put_division_contacts("320100", [Contact(**p) for p in _people("city", 3)])
        svc.open_alerts([finding("LATE")], datetime.now(UTC) - timedelta(hours=5))
        with TestClient(app):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with mailbox.lock:
                    told = sorted(r for rcpts, _ in mailbox.mails for r in rcpts)
                if len(told) == 3:
                    break
                time.sleep(0.05)
        assert told == [f"city{i}@fda.example" for i in (1, 2, 3)]
        with read_tx(svc.engine) as conn:
            tier = conn.execute(select(alert.c.tier_division)).scalar_one()
        assert tier == "320100"


def test_a_failed_webhook_is_retried_and_a_resolved_alerts_notice_dropped(
    database_url: str, tmp_path: Path
) -> None:
    hook = Hook(statuses=[503, 200])
    with http_server(hook) as url:
        settings = Settings(
            data_dir=tmp_path, supervision_database_url=database_url, notify_webhook_url=url
        )
        app = build_app(settings, roles=("supervision",))
        svc = app.state.supervision
        _regulators(svc)
        svc.put_alert_contacts(
            COUNTY,
            [
                Contact(name="甲", address="13800000001", channel="webhook"),
                Contact(name="乙", address="b@county.example"),  # no mail server here
            ],
        )
        svc.open_alerts([finding("KEEP"), finding("GONE")], T0)
        ids = {a["subject"]: a["id"] for a in svc.alerts(COUNTY)["alerts"]}
        svc.resolve_alert(COUNTY, ids["GONE"], "a false alarm: the record was late")
        first = svc.alert_tick(T0)["notices"]
        assert (first["sent"], first["failed"], first["dropped"], first["waiting"]) == (0, 1, 2, 1)
        kept = {n["channel"]: n for n in svc.alert(COUNTY, ids["KEEP"])["notices"]}
        assert (kept["webhook"]["state"], kept["webhook"]["attempts"]) == ("failed", 1)
        assert kept["webhook"]["error"] == "webhook answered 503"
        assert (kept["smtp"]["state"], kept["smtp"]["attempts"]) == ("pending", 0)  # waits
        gone = svc.alert(COUNTY, ids["GONE"])["notices"]
        assert {n["state"] for n in gone} == {"dropped"}
        second = svc.alert_tick(T0 + timedelta(minutes=1))["notices"]
        assert (second["sent"], second["failed"]) == (1, 0)
        (body,) = hook.bodies
        assert body["to"] == "13800000001" and body["data"]["alert_id"] == ids["KEEP"]
        assert body["data"]["kind"] == "supervision_alert" and body["data"]["subject"] == "KEEP"
        assert svc.alert_tick(T0 + timedelta(minutes=2))["notices"]["sent"] == 0
        svc.close()
        svc.engine.dispose()
