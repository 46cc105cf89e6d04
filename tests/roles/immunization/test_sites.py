"""Sites near me, on SQLite and PostgreSQL: each vaccination site in a division (and, for a
county, the others of its city) with the address, phone and hours its staff published, open
now or when it next opens by the clock, and the doses it can give today by vaccine from its
real stock — nothing personal. Over HTTP with no login."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from appointments_world import WEEKDAYS, MovableClock, a_tuesday, child, publish_hours
from province_world import BOXES, CASE, CONTENTS, CST, OTHER_POV, POV, PROVINCE_CDC, Province
from test_api import API, Desk, desk  # noqa: F401  (the fixture: the app on each backend)
from test_stock_views import know_the_product, supply

from vaxtrace.core.errors import DomainError
from vaxtrace.roles.immunization.service.public import PublicServices


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CST)


def test_sites_near_with_hours_and_doses_by_vaccine(province: Province) -> None:
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    know_the_product(province)
    supply(province, BOXES[0])  # three doses of hepatitis B vaccine at the site
    tuesday = a_tuesday()
    clock = MovableClock(at(tuesday, 9))
    public = PublicServices(province.engine, clock.clock())
    holiday = tuesday + timedelta(days=6)  # the next Monday
    publish_hours(public, closed=[{"date": holiday.isoformat(), "note": "调休"}])
    child(province, 1)  # a person of the site: never shown

    found = public.sites_near("320102")
    (site,) = found["sites"]
    assert (site["uscc"], site["in_division"], site["address"]) == (POV, True, WEEKDAYS["address"])
    assert (site["open_now"], site["closes_at"]) == (True, at(tuesday, 11, 30).isoformat())
    assert [(v["vaccine"], v["doses"]) for v in site["vaccines"]] == [("HepB", 3)]
    assert "测试" not in str(found) and "13800138000" not in str(found)

    clock.at = at(tuesday, 12)
    site = public.sites_near("320102")["sites"][0]
    assert (site["open_now"], site["next_open"]) == (False, at(tuesday, 13, 30).isoformat())
    clock.at = at(tuesday + timedelta(days=3), 17, 30)  # Friday evening; Monday is closed
    site = public.sites_near("320102")["sites"][0]
    assert site["next_open"] == at(holiday + timedelta(days=1), 8).isoformat()

    around = public.sites_near("320105")["sites"]  # a county of the city with no site
    assert [(s["uscc"], s["in_division"]) for s in around] == [(POV, False)]
    both = public.sites_near("320000")["sites"]
    assert [(s["uscc"], s["open_now"], s["address"]) for s in both] == [
        (POV, False, WEEKDAYS["address"]),
        (OTHER_POV, None, None),  # published no hours
    ]
    with pytest.raises(DomainError) as caught:
        public.sites_near("32")
    assert caught.value.reason == "division_code_format"


def test_hours_over_http(desk: Desk) -> None:  # noqa: F811
    auth = desk.auth(POV)
    assert desk.client.get(f"{API}/site/hours", headers=auth).json() is None
    put = desk.client.put(f"{API}/site/hours", json=WEEKDAYS, headers=auth)
    assert put.status_code == 200, put.text
    assert desk.client.get(f"{API}/site/hours", headers=auth).json() == put.json()
    sites = desk.client.get(f"{API}/public/sites", params={"division": "320102"})
    assert sites.status_code == 200 and sites.json()["sites"][0]["phone"] == "02584000000"
    before = desk.province.counts()
    twice = WEEKDAYS | {"week": WEEKDAYS["week"] + WEEKDAYS["week"][:1]}
    overlapping = WEEKDAYS | {
        "week": [
            {
                "weekday": 1,
                "windows": [
                    {"opens": "08:00", "closes": "12:00"},
                    {"opens": "11:00", "closes": "17:00"},
                ],
            }
        ]
    }
    backwards = WEEKDAYS | {"week": [{"weekday": 1, "windows": [
        {"opens": "12:00", "closes": "08:00"}]}]}  # fmt: skip
    cases = [
        (twice, "listed_twice", "week"),
        (overlapping, "invalid_time", "week.0.windows"),
        (backwards, "invalid_time", "week.0.windows.0.closes"),
        (WEEKDAYS | {"phone": "911"}, "invalid_phone", "phone"),
    ]
    for body, reason, field in cases:
        answer = desk.client.put(f"{API}/site/hours", json=body, headers=auth)
        desk.refused(answer, 422, reason, field, before)
    cdc = desk.client.put(f"{API}/site/hours", json=WEEKDAYS, headers=desk.auth(PROVINCE_CDC))
    desk.refused(cdc, 422, "wrong_organisation_kind", None, before)
    bad = desk.client.get(f"{API}/public/sites", params={"division": "3201"})
    desk.refused(bad, 422, "division_code_format", None, before)
