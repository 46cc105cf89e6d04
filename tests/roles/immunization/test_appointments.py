"""Appointments through the service on SQLite and PostgreSQL: a site opens slots within its
hours, guardians book, cancel and reschedule for their own children, never over capacity —
200 bookings at once for 100 places, on real threads, exactly 100 taken — and the site keeps
its day list and checks children in. Every refusal changes nothing; every decision is
journaled without personal data."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from appointments_world import (
    FAST_HASHER,
    OTHER_PHONE,
    PHONE,
    MovableClock,
    a_tuesday,
    child,
    guardian,
    publish_hours,
    slot,
)
from province_world import CITY_CDC, CST, OTHER_POV, POV, Province, refused
from sqlalchemy import select

from vaxtrace.core.appointments import Booking, Reschedule
from vaxtrace.core.errors import DomainError
from vaxtrace.roles.immunization.service.public import PublicServices
from vaxtrace.store.immunization import schema


def test_200_concurrent_bookings_for_100_places_take_exactly_100(province: Province) -> None:
    public = province.svc.public
    public.passwords = FAST_HASHER
    children = [child(province, n) for n in range(200)]
    who = guardian(public)
    slot_id = slot(public, a_tuesday(), capacity=100)
    start = threading.Barrier(200)

    def attempt(child_id: str) -> str:
        start.wait()
        try:
            public.book(who, Booking(slot_id=slot_id, child_id=child_id))
        except DomainError as refusal:
            return refusal.reason
        return "booked"

    with ThreadPoolExecutor(max_workers=200) as pool:
        results = list(pool.map(attempt, children))
    assert results.count("booked") == 100
    assert results.count("slot_full") == 100
    listed = public.slots(POV, "HepB", a_tuesday(), 1)["slots"]
    assert [(s["booked"], s["remaining"], s["bookable"]) for s in listed] == [(100, 0, False)]
    with province.engine.connect() as conn:
        live = conn.execute(select(schema.appointment.c.id)).all()
    assert len(live) == 100
    journal = _entries(province, "appointment_booking")
    assert len(journal) == 100 and {e["slot_id"] for e in journal} == {slot_id}


def _entries(province: Province, kind: str) -> list[dict[str, object]]:
    with province.engine.connect() as conn:
        return schema.journal.entries(conn, kind)


def _public(province: Province, clock: MovableClock) -> PublicServices:
    """The node's public services on the test's clock (the same database)."""
    return PublicServices(province.engine, clock.clock(), FAST_HASHER)


def test_book_cancel_reschedule_check_in(province: Province) -> None:
    clock = MovableClock()
    public = _public(province, clock)
    publish_hours(public)
    tuesday = a_tuesday()
    first = slot(public, tuesday, capacity=1)
    second = slot(public, tuesday, start="09:00", end="10:00", capacity=2)
    dtap = slot(public, tuesday, vaccine="DTaP", start="09:00", end="10:00")
    a, b = child(province, 1), child(province, 2)
    c = child(province, 3, phone=OTHER_PHONE)
    who = guardian(public)

    booked = public.book(who, Booking(slot_id=first, child_id=a))
    assert booked.created and booked.body["state"] == "booked"
    before = province.counts()
    again = public.book(who, Booking(slot_id=first, child_id=a))
    assert (again.created, again.body) == (False, booked.body) and province.counts() == before
    refused(province, "slot_full", public.book, who, Booking(slot_id=first, child_id=b))
    refused(province, "already_booked", public.book, who, Booking(slot_id=second, child_id=a))
    refused(province, "not_your_child", public.book, who, Booking(slot_id=first, child_id=c))
    refused(province, "unknown_slot", public.book, who, Booking(slot_id=99999, child_id=a))
    moving = booked.body["appointment_id"]
    refused(province, "vaccine_mismatch", public.reschedule, who, moving, Reschedule(slot_id=dtap))

    moved = public.reschedule(who, moving, Reschedule(slot_id=second))
    assert moved.created and moved.body["slot_id"] == second
    assert public.reschedule(who, moving, Reschedule(slot_id=second)).body == moved.body
    places = {s["slot_id"]: s["booked"] for s in public.slots(POV, None, tuesday, 1)["slots"]}
    assert places == {first: 0, second: 1, dtap: 0}
    b_booked = public.book(who, Booking(slot_id=first, child_id=b)).body  # the freed place
    cancelled = public.cancel(who, b_booked["appointment_id"])
    assert cancelled.created and cancelled.body["state"] == "cancelled"
    assert not public.cancel(who, b_booked["appointment_id"]).created
    assert public.slots(POV, "HepB", tuesday, 1)["slots"][0]["booked"] == 0

    day = public.day_list(POV, tuesday)
    assert [(x["child_name"], x["state"]) for x in day["appointments"]] == [("测试乙1", "booked")]
    arrived = moved.body["appointment_id"]
    refused(province, "not_your_site", public.check_in, OTHER_POV, arrived)
    checked = public.check_in(POV, arrived, "nurse")
    assert checked.created and checked.body["state"] == "attended"
    repeat = public.check_in(POV, arrived, "nurse")
    assert (repeat.created, repeat.body) == (False, checked.body)
    refused(province, "illegal_transition", public.cancel, who, arrived)
    assert public.day_list(POV, tuesday)["attended"] == 1
    mine = public.guardian_appointments(who)
    assert {x["state"] for x in mine} == {"attended", "cancelled"} and len(mine) == 3

    kinds = ("appointment_booking", "appointment_cancel", "appointment_reschedule",
             "appointment_check_in", "slot_opening", "site_hours", "guardian_account")  # fmt: skip
    entries = [e for k in kinds for e in _entries(province, k)]
    assert len(_entries(province, "appointment_booking")) == 2
    text = json.dumps(entries, ensure_ascii=False)
    assert PHONE not in text and "测试" not in text and "320102-2024" not in text


def test_a_started_slot_is_neither_booked_nor_left(province: Province) -> None:
    clock = MovableClock()
    public = _public(province, clock)
    tuesday = a_tuesday()
    early = slot(public, tuesday, capacity=3)
    late = slot(public, tuesday, start="10:00", end="11:00", capacity=3)
    a, b = child(province, 1), child(province, 2)
    who = guardian(public)
    kept = public.book(who, Booking(slot_id=early, child_id=a)).body["appointment_id"]
    clock.at = datetime.combine(tuesday, datetime.min.time(), CST).replace(hour=8, minute=5)
    refused(province, "slot_in_past", public.book, who, Booking(slot_id=early, child_id=b))
    refused(province, "slot_in_past", public.cancel, who, kept)
    refused(province, "slot_in_past", public.reschedule, who, kept, Reschedule(slot_id=late))
    assert public.slots(POV, "HepB", tuesday, 1)["slots"][0]["slot_id"] == late  # not started
    assert public.book(who, Booking(slot_id=late, child_id=b)).created


def test_slots_open_within_the_sites_hours(province: Province) -> None:
    clock = MovableClock()
    public = _public(province, clock)
    tuesday = a_tuesday()
    assert slot(public, tuesday, start="12:00", end="13:00")  # no hours published: any time
    publish_hours(public, closed=[{"date": tuesday.isoformat(), "note": "培训"}])
    wednesday = tuesday + timedelta(days=1)
    saturday = tuesday + timedelta(days=4)
    cases = [
        ("outside_opening_hours", {"day": wednesday, "start": "11:00", "end": "12:00"}),
        ("outside_opening_hours", {"day": saturday}),
        ("outside_opening_hours", {"day": tuesday, "start": "08:00"}),  # closed that day
        ("unknown_vaccine", {"day": wednesday, "vaccine": "COVID"}),
        ("slot_in_past", {"day": datetime.now(CST).date() - timedelta(days=1)}),
        ("out_of_range", {"day": wednesday + timedelta(days=400)}),
    ]
    for reason, extra in cases:
        refused(province, reason, partial(slot, public, **({"day": wednesday} | extra)))
    opened = slot(public, wednesday)
    assert slot(public, wednesday) == opened  # the same opening again: answered again
    refused(province, "slot_changed", lambda: slot(public, wednesday, capacity=11))
    cdc_opens = lambda: slot(public, wednesday, site=CITY_CDC)  # noqa: E731
    refused(province, "wrong_organisation_kind", cdc_opens)
    listed = public.slots(POV, None, tuesday, 7)["slots"]
    assert [(s["day"], s["remaining"]) for s in listed][-1] == (wednesday.isoformat(), 10)
    assert public.slots(POV, "DTaP", tuesday, 7)["slots"] == []
    bad = [("unknown_vaccine", (POV, "COVID")), ("unknown_organisation", ("1" * 18, None))]
    for reason, args in bad:
        try:
            public.slots(*args)
        except DomainError as refusal:
            assert refusal.reason == reason
        else:
            raise AssertionError(reason)
    assert datetime.now(UTC) - clock.at < timedelta(minutes=5)


def test_one_child_booked_at_once_into_20_slots_holds_one(province: Province) -> None:
    public = province.svc.public
    public.passwords = FAST_HASHER
    tuesday = a_tuesday()
    slots = [slot(public, tuesday, start=f"{8 + n // 4:02d}:{n % 4 * 15:02d}",
                  end=f"{8 + n // 4:02d}:{n % 4 * 15 + 14:02d}") for n in range(20)]  # fmt: skip
    one = child(province, 1)
    who = guardian(public)
    start = threading.Barrier(len(slots))

    def attempt(slot_id: int) -> str:
        start.wait()
        try:
            public.book(who, Booking(slot_id=slot_id, child_id=one))
        except DomainError as refusal:
            return refusal.reason
        return "booked"

    with ThreadPoolExecutor(max_workers=len(slots)) as pool:
        results = list(pool.map(attempt, slots))
    assert sorted(results) == ["already_booked"] * 19 + ["booked"]
    assert sum(s["booked"] for s in public.slots(POV, "HepB", tuesday, 1)["slots"]) == 1


def test_a_booking_is_for_the_childs_next_dose_from_its_earliest_day(province: Province) -> None:
    """A guardian cannot book a dose the site would turn the child away from: too young for
    it, or a product the next dose does not take; nothing is written."""
    public = province.svc.public
    public.passwords = FAST_HASHER
    tuesday = a_tuesday()
    born = (tuesday - timedelta(days=20)).isoformat()
    baby = child(province, 1, birth_date=born)
    who = guardian(public)
    mmr = slot(public, tuesday, vaccine="MMR")
    dt = slot(public, tuesday, vaccine="DT", start="09:00", end="10:00")
    before = province.counts()
    with pytest.raises(DomainError) as too_young:
        public.book(who, Booking(slot_id=mmr, child_id=baby))
    assert too_young.value.reason == "dose_not_due" and too_young.value.field == "slot_id"
    assert too_young.value.details["dose"] == 1
    assert too_young.value.details["earliest"] > tuesday.isoformat()
    with pytest.raises(DomainError) as wrong:
        public.book(who, Booking(slot_id=dt, child_id=baby))
    assert wrong.value.reason == "dose_not_due" and "takes DTaP, not DT" in str(wrong.value)
    assert province.counts() == before
    hepb = slot(public, tuesday, vaccine="HepB")
    assert public.book(who, Booking(slot_id=hepb, child_id=baby)).created  # due from birth
