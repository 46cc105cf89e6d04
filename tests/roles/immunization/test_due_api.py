"""Due lists and opt-outs over HTTP: a site's staff read their due list (this week by default),
a guardian opts out with the token of a reminder and no login, the staff record an opt-out;
every bad input is a problem+json naming its reason, nothing written."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from province_world import CST, OTHER_POV, POV, PROBLEM
from test_api import API, Desk, desk  # noqa: F401  (the fixture: the app on each backend)

from vaxtrace.notify import WebhookNotifier
from vaxtrace.roles.immunization.service import reminders

sys.path.insert(0, str(Path(__file__).parents[2] / "notify"))

from servers import Hook, http_server

TODAY = datetime.now(CST).date()


def child(**extra: Any) -> dict[str, Any]:
    return {
        "name": "陈一鸣",
        "sex": "M",
        "birth_date": (TODAY - timedelta(days=45)).isoformat(),
        "birth_division": "320102",
        "guardians": [{"name": "陈强", "relation": "father", "phone": "13900139000"}],
        "card_no": "320102-2024-1001",
    } | extra


def test_the_due_list_over_http(desk: Desk) -> None:  # noqa: F811
    child_id = desk.post("/children", child(), POV).json()["child"]["child_id"]
    listed = desk.get("/children/due", POV)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    monday = TODAY - timedelta(days=TODAY.weekday())
    assert (body["from"], body["to"]) == (
        monday.isoformat(),
        (monday + timedelta(days=6)).isoformat(),
    )
    assert body["count"] == len(body["items"]) > 0 and body["children"] == 1
    hepb = next(i for i in body["items"] if i["vaccine"] == "HepB")
    assert (hepb["child_id"], hepb["dose"], hepb["status"]) == (child_id, 1, "overdue")
    assert hepb["guardians"] == [{"name": "陈强", "relation": "father", "phone": "13900139000"}]
    overdue = desk.get("/children/due", POV, status="overdue").json()["items"]
    assert {i["status"] for i in overdue} == {"overdue"}
    later = desk.get("/children/due", POV, **{"from": "2099-01-01", "to": "2099-01-31"})
    assert later.status_code == 200 and later.json()["items"] == []  # aged out by then
    desk.tokens[OTHER_POV] = desk.province.svc.issue_token(OTHER_POV, "desk")
    assert desk.get("/children/due", OTHER_POV).json()["items"] == []  # not its child
    first = desk.get("/children/due", POV, limit="1").json()
    assert first["count"] == 1 and first["total"] == body["total"] and first["next"]
    second = desk.get("/children/due", POV, limit="1", after=first["next"]).json()
    assert [first["items"][0], second["items"][0]] == body["items"][:2]


def test_bad_due_list_asks_are_problems(desk: Desk) -> None:  # noqa: F811
    before = desk.province.counts()
    to_before = desk.get("/children/due", POV, **{"from": "2024-05-10", "to": "2024-05-01"})
    desk.refused(to_before, 422, "out_of_range", "to", before)
    too_long = desk.get("/children/due", POV, **{"from": "2024-01-01", "to": "2026-01-01"})
    desk.refused(too_long, 422, "out_of_range", "to", before)
    bad_page = desk.get("/children/due", POV, after="2024-01-01,nobody,HepB")
    desk.refused(bad_page, 422, "malformed_payload", "after", before)
    for params in ({"status": "late"}, {"from": "2024-13-01"}, {"limit": "0"}):
        answer = desk.get("/children/due", POV, **params)
        assert answer.status_code == 422 and answer.headers["content-type"].startswith(PROBLEM)
    nobody = desk.client.get(f"{API}/children/due")
    desk.refused(nobody, 401, "unauthenticated", None, before)


def test_opt_outs_over_http(desk: Desk) -> None:  # noqa: F811
    child_id = desk.post("/children", child(), POV).json()["child"]["child_id"]
    svc = desk.province.svc
    hook = Hook()
    with http_server(hook) as url:
        webhook = WebhookNotifier(url, timeout=2)
        report = reminders.run(svc.engine, [webhook], svc.clock.now, base_url="http://x")
        webhook.close()
    assert report["sent"] > 0
    token = hook.bodies[0]["data"]["opt_out"]["token"]
    before = desk.province.counts()
    public = f"{API}/public/reminders/opt-out"
    unknown = desk.client.post(public, json={"token": "y" * 32})
    desk.refused(unknown, 404, "unknown_opt_out_token", "token", before)
    short = desk.client.post(public, json={"token": "short"})
    assert short.status_code == 422 and short.headers["content-type"].startswith(PROBLEM)
    assert desk.province.counts() == before
    done = desk.client.post(public, json={"token": token})  # no login
    assert (done.status_code, done.json()) == (200, {"opted_out": True, "already": False})
    again = desk.client.post(public, json={"token": token})
    assert again.json()["already"] is True
    # the staff record one for another guardian
    second = desk.post("/children", child(name="陈二鸣", card_no="320102-2024-1002",
                       guardians=[{"name": "林芳", "relation": "mother", "phone": "13800138000"}],
                       confirm_not_duplicate=True), POV).json()["child"]["child_id"]  # fmt: skip
    desk.tokens[OTHER_POV] = svc.issue_token(OTHER_POV, "desk")
    before = desk.province.counts()
    ask = {"child_id": second, "phone": "138 0013 8000"}
    desk.refused(desk.post("/reminders/opt-outs", ask, OTHER_POV), 403, "not_your_child",
                 "child_id", before)  # fmt: skip
    wrong = ask | {"phone": "13700137000"}
    desk.refused(
        desk.post("/reminders/opt-outs", wrong, POV), 422, "not_a_guardian", "phone", before
    )
    bad = ask | {"phone": "911"}
    assert desk.post("/reminders/opt-outs", bad, POV).status_code == 422
    assert desk.province.counts() == before
    made = desk.post("/reminders/opt-outs", ask, POV)
    assert made.status_code == 201, made.text
    assert made.json()["contact_sha256"] == reminders.contact_sha256("13800138000")
    assert desk.post("/reminders/opt-outs", ask, POV).status_code == 200
    assert child_id != second


def test_openapi_lists_every_answer(desk: Desk) -> None:  # noqa: F811
    paths = desk.client.get("/openapi.json").json()["paths"]
    assert set(paths[f"{API}/children/due"]["get"]["responses"]) >= {"200", "401", "422"}
    assert set(paths[f"{API}/public/reminders/opt-out"]["post"]["responses"]) >= {
        "200",
        "404",
        "422",
    }
    assert set(paths[f"{API}/reminders/opt-outs"]["post"]["responses"]) >= {
        "200",
        "201",
        "401",
        "403",
        "404",
        "422",
    }
