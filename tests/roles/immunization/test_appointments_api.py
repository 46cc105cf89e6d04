"""The public services over HTTP: a guardian's walk (account opened by the site, first login,
own password, children, a record, a booking moved and cancelled), the site's staff (hours,
slots, day list, check-in), the tokens kept apart (a guardian's opens no staff route, a
staff token no guardian's) and every bad input refused as problem+json, nothing written."""

from __future__ import annotations

from typing import Any

from appointments_world import FAST_HASHER, OTHER_PHONE, PHONE, WEEKDAYS, a_tuesday, child
from httpx import Response
from province_world import OTHER_POV, POV
from test_api import API, Desk, desk  # noqa: F401  (the fixture: the app on each backend)


class Guardian:
    """A guardian's client: their token in every request."""

    def __init__(self, desk: Desk, token: str) -> None:  # noqa: F811
        self.desk, self.token = desk, token

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> Response:
        return self.desk.client.get(API + path, headers=self.auth())

    def post(self, path: str, body: dict[str, Any] | None = None) -> Response:
        return self.desk.client.post(API + path, json=body, headers=self.auth())


def first_login(desk: Desk, phone: str = PHONE) -> tuple[Guardian, str]:  # noqa: F811
    """The site opens the account; the guardian logs in with the printed password."""
    opened = desk.post("/guardian-accounts", {"phone": phone}, POV)
    assert opened.status_code == 201, opened.text
    initial = opened.json()["initial_password"]
    login = desk.client.post(f"{API}/guardian/sessions", json={"phone": phone, "password": initial})
    assert login.status_code == 201, login.text
    assert login.json()["must_change_password"] is True
    assert login.json()["token"].startswith("vg_")
    return Guardian(desk, login.json()["token"]), initial


def test_a_guardians_walk(desk: Desk) -> None:  # noqa: F811
    desk.province.svc.public.passwords = FAST_HASHER
    mine, theirs = child(desk.province, 1), child(desk.province, 2, phone=OTHER_PHONE)
    assert desk.client.put(f"{API}/site/hours", json=WEEKDAYS, headers=desk.auth(POV)).is_success
    tuesday = a_tuesday().isoformat()
    opening = {"vaccine": "HepB", "day": tuesday, "start": "08:00", "end": "09:00", "capacity": 2}
    first = desk.post("/slots", opening, POV)
    assert first.status_code == 201, first.text
    assert desk.post("/slots", opening, POV).status_code == 200
    later = desk.post("/slots", opening | {"start": "09:00", "end": "10:00"}, POV).json()

    public = desk.client.get(f"{API}/public/slots", params={"site_uscc": POV, "vaccine": "HepB"})
    assert [s["remaining"] for s in public.json()["slots"]] == [2, 2]

    guardian, initial = first_login(desk)
    before = desk.province.counts()
    early = guardian.get("/guardian/children")
    desk.refused(early, 403, "password_change_required", None, before)
    weak = guardian.post(
        "/guardian/password", {"current_password": initial, "new_password": "12345678"}
    )
    desk.refused(weak, 422, "weak_password", "new_password", before)
    changed = guardian.post(
        "/guardian/password", {"current_password": initial, "new_password": "meimei2024!"}
    )
    assert changed.status_code == 200, changed.text

    children = guardian.get("/guardian/children").json()
    assert [c["child_id"] for c in children] == [mine]
    record = guardian.get(f"/guardian/children/{mine}/record")
    assert (
        record.status_code == 200
        and record.json() == desk.get(f"/children/{mine}/record", POV).json()
    )
    before = desk.province.counts()
    for other in (theirs, "ch-00000000000000ff"):  # another's child, or none: alike
        desk.refused(guardian.get(f"/guardian/children/{other}/record"), 403,
                     "not_your_child", None, before)  # fmt: skip
        desk.refused(guardian.get(f"/guardian/children/{other}/certificate.pdf"), 403,
                     "not_your_child", None, before)  # fmt: skip
    printed = guardian.get(f"/guardian/children/{mine}/certificate.pdf")
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")
    assert printed.headers["content-type"] == "application/pdf"

    slot_id = first.json()["slot_id"]
    booked = guardian.post("/guardian/appointments", {"slot_id": slot_id, "child_id": mine})
    assert booked.status_code == 201, booked.text
    again = guardian.post("/guardian/appointments", {"slot_id": slot_id, "child_id": mine})
    assert again.status_code == 200 and again.json() == booked.json()
    appointment_id = booked.json()["appointment_id"]
    moved = guardian.post(
        f"/guardian/appointments/{appointment_id}/reschedule", {"slot_id": later["slot_id"]}
    )
    assert moved.status_code == 201, moved.text
    new_id = moved.json()["appointment_id"]

    day = desk.get("/appointments", POV, day=tuesday).json()
    assert [(a["appointment_id"], a["child_name"]) for a in day["appointments"]] == [
        (new_id, "测试乙1")
    ]
    checked = desk.post(f"/appointments/{new_id}/check-in", {}, POV)
    assert checked.status_code == 200 and checked.json()["state"] == "attended"
    assert desk.post(f"/appointments/{new_id}/check-in", {}, POV).json() == checked.json()

    rebook = guardian.post("/guardian/appointments", {"slot_id": slot_id, "child_id": mine})
    desk.refused(rebook, 409, "already_booked", "child_id", desk.province.counts())
    listed = guardian.get("/guardian/appointments").json()
    assert [(a["appointment_id"], a["state"]) for a in listed] == [
        (new_id, "attended"),
        (appointment_id, "cancelled"),
    ]
    out = desk.client.delete(f"{API}/guardian/sessions/current", headers=guardian.auth())
    assert out.status_code == 204
    desk.refused(guardian.get("/guardian/children"), 401, "unauthenticated", None,
                 desk.province.counts())  # fmt: skip


def test_booking_refusals_as_problems(desk: Desk) -> None:  # noqa: F811
    desk.province.svc.public.passwords = FAST_HASHER
    mine, second = child(desk.province, 1), child(desk.province, 3)
    theirs = child(desk.province, 2, phone=OTHER_PHONE)
    tuesday = a_tuesday().isoformat()
    opening = {"vaccine": "HepB", "day": tuesday, "start": "08:00", "end": "09:00", "capacity": 1}
    slot_id = desk.post("/slots", opening, POV).json()["slot_id"]
    guardian, initial = first_login(desk)
    guardian.post("/guardian/password", {"current_password": initial, "new_password": "abc12345"})
    assert guardian.post(
        "/guardian/appointments", {"slot_id": slot_id, "child_id": mine}
    ).is_success
    before = desk.province.counts()
    cases = [
        ({"slot_id": slot_id, "child_id": second}, 409, "slot_full", "slot_id"),
        ({"slot_id": slot_id, "child_id": theirs}, 403, "not_your_child", "child_id"),
        ({"slot_id": 424242, "child_id": second}, 404, "unknown_slot", "slot_id"),
        ({"slot_id": slot_id, "child_id": "张三"}, 422, "invalid_string_pattern_mismatch",
         "child_id"),
    ]  # fmt: skip
    for body, status, reason, field in cases:
        desk.refused(guardian.post("/guardian/appointments", body), status, reason, field, before)
    past = opening | {"day": "2020-01-07"}
    desk.refused(desk.post("/slots", past, POV), 409, "slot_in_past", "day", before)
    unknown = opening | {"vaccine": "COVID"}
    desk.refused(desk.post("/slots", unknown, POV), 422, "unknown_vaccine", "vaccine", before)
    backwards = opening | {"start": "10:00"}
    desk.refused(desk.post("/slots", backwards, POV), 422, "invalid_time", "end", before)
    stranger = desk.post("/guardian-accounts", {"phone": "13700137000"}, POV)
    desk.refused(stranger, 422, "phone_not_a_guardian", "phone", before)
    desk.tokens[OTHER_POV] = desk.province.svc.issue_token(OTHER_POV, "desk")
    before = desk.province.counts()
    elsewhere = desk.post("/guardian-accounts", {"phone": PHONE}, OTHER_POV)
    desk.refused(elsewhere, 422, "phone_not_a_guardian", "phone", before)


def test_guardian_and_staff_tokens_open_only_their_own_routes(desk: Desk) -> None:  # noqa: F811
    desk.province.svc.public.passwords = FAST_HASHER
    child(desk.province, 1)
    guardian, initial = first_login(desk)
    guardian.post("/guardian/password", {"current_password": initial, "new_password": "abc12345"})
    before = desk.province.counts()
    staff_routes = [("get", "/children"), ("get", "/stock"), ("get", "/appointments"),
                    ("get", "/site/hours"), ("post", "/slots"), ("post", "/guardian-accounts"),
                    ("post", "/appointments/1/check-in")]  # fmt: skip
    for method, path in staff_routes:
        answer = desk.client.request(method, API + path, json={}, headers=guardian.auth())
        desk.refused(answer, 401, "unauthenticated", None, before)
    staff = {"Authorization": f"Bearer {desk.tokens[POV]}"}
    guardian_routes = [("get", "/guardian/children"), ("get", "/guardian/appointments"),
                       ("post", "/guardian/appointments"), ("post", "/guardian/password"),
                       ("delete", "/guardian/sessions/current")]  # fmt: skip
    for method, path in guardian_routes:
        answer = desk.client.request(method, API + path, json={}, headers=staff)
        desk.refused(answer, 401, "unauthenticated", None, before)
        anonymous = desk.client.request(method, API + path, json={})
        desk.refused(anonymous, 401, "unauthenticated", None, before)


def test_the_openapi_lists_what_the_public_services_answer(desk: Desk) -> None:  # noqa: F811
    paths = desk.client.get("/openapi.json").json()["paths"]
    answers = {
        ("/public/sites", "get"): {"200", "404", "422"},
        ("/public/slots", "get"): {"200", "404", "422"},
        ("/guardian/sessions", "post"): {"201", "400", "401", "413", "422", "429"},
        ("/guardian/appointments", "post"): {"200", "201", "400", "401", "403", "404", "409",
                                             "413", "422"},
        ("/slots", "post"): {"200", "201", "400", "401", "409", "413", "422"},
        ("/appointments/{appointment_id}/check-in", "post"): {"200", "401", "403", "404",
                                                               "409", "422"},
    }  # fmt: skip
    for (path, method), statuses in answers.items():
        assert statuses <= set(paths[API + path][method]["responses"]), path
