"""Due lists on SQLite and PostgreSQL: the forecast table holds, for each active child, what
the schedule engine forecasts from its doses, kept so by every write that changes them
(registration, vaccination, undo, move, export, merge) and by a rebuild; a site's due list
is the window's doses of its own children with their guardians, and a bad window is refused
with nothing written."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from province_world import (
    CST,
    OTHER_POV,
    POV,
    RECEIVED_AT,
    Province,
    dose,
    fields,
    make_province,
    refused,
)
from sqlalchemy import Engine, delete, select
from test_children import at_site, register, vaccination  # noqa: F401

from vaxtrace.core.immunization import VaccinationUndo
from vaxtrace.core.recipients import ChildExport, ChildMerge, ChildMove
from vaxtrace.core.schedule import Child, DoseGiven, evaluate
from vaxtrace.core.times import Clock
from vaxtrace.roles.immunization.service import due
from vaxtrace.store.immunization import schema

NOW = datetime(2024, 5, 15, 10, 0, tzinfo=CST)  # a Wednesday
TODAY = NOW.date()
BORN = date(2024, 3, 1)


@pytest.fixture
def province(immunization_engine: Engine) -> Any:
    """The province with its clock at NOW (the children's ages, this week)."""
    made = make_province(immunization_engine, clock=Clock(now=lambda: NOW))
    yield made
    made.svc.close()


def consent() -> dict[str, Any]:
    return {"given_by": "王丽", "relation": "mother", "method": "signed_form",
            "given_at": "2024-05-01T09:00:00+08:00"}  # fmt: skip


def father(name: str, phone: str) -> list[dict[str, str]]:
    return [{"name": name, "relation": "father", "phone": phone}]


def forecasts(province: Province, child_id: str) -> dict[str, tuple[Any, ...]]:
    """The kept forecasts of a child, by series: (dose, earliest, recommended, overdue,
    latest, site)."""
    with province.engine.connect() as conn:
        rows = conn.execute(
            select(schema.child_forecast).where(schema.child_forecast.c.child_id == child_id)
        ).mappings()
        return {
            r["vaccine"]: (
                r["dose"],
                r["earliest"],
                r["recommended"],
                r["overdue"],
                r["latest"],
                r["site_uscc"],
            )
            for r in rows
        }


def engine_says(
    born: date, doses: list[DoseGiven], today: date = TODAY, site: str = POV
) -> dict[str, tuple[Any, ...]]:
    """What the schedule engine forecasts of a child, in the table's shape."""
    found = evaluate(Child(born, "F", today, tuple(doses)))
    return {
        s.vaccine: (
            s.next.dose,
            s.next.earliest,
            s.next.recommended,
            s.next.overdue,
            s.next.latest,
            site,
        )
        for s in found.series
        if s.next is not None
    }


def test_a_registration_keeps_the_engines_forecast(province: Province) -> None:
    child_id = register(province)
    kept = forecasts(province, child_id)
    assert kept == engine_says(BORN, [])
    assert kept["HepB"][:3] == (1, BORN, BORN)  # due at birth


def test_a_vaccination_and_its_undo_refresh_the_forecast(at_site: Province) -> None:  # noqa: F811
    child_id = register(at_site)
    given = vaccination(dose(1), child_id)
    at_site.svc.vaccinate(POV, given, "staff-1")
    after = forecasts(at_site, child_id)
    assert after == engine_says(BORN, [DoseGiven("HepB", date(2024, 4, 2))])
    assert after["HepB"][0] == 2
    undo = VaccinationUndo(
        **fields("undo", NOW - timedelta(hours=1)),
        vaccination_document_no=given.document_no,
        reason="扫错了",
    )
    at_site.svc.undo_vaccination(POV, undo, "staff-1")
    assert forecasts(at_site, child_id) == engine_says(BORN, [])


def test_a_move_an_export_and_a_merge_refresh_the_forecast(at_site: Province) -> None:  # noqa: F811
    moved = register(at_site)
    at_site.svc.move_child(POV, moved, ChildMove(to_site_uscc=OTHER_POV, consent=consent()))
    assert {v[5] for v in forecasts(at_site, moved).values()} == {OTHER_POV}
    gone = register(
        at_site,
        name="李建国",
        sex="M",
        card_no="320102-2024-0002",
        guardians=father("李强", "13900139000"),
    )
    at_site.svc.export_child(POV, gone, ChildExport(to_province="110000", consent=consent()))
    assert forecasts(at_site, gone) == {}
    kept = register(
        at_site,
        name="赵小红",
        card_no="320102-2024-0003",
        birth_date="2024-02-01",
        guardians=father("赵强", "13700137000"),
    )
    dup = register(
        at_site,
        name="赵晓红",
        card_no="320102-2024-0004",
        birth_date="2024-02-01",
        guardians=father("赵强", "13700137000"),
        confirm_not_duplicate=True,
    )
    at_site.svc.vaccinate(POV, vaccination(dose(1), dup), "staff-1")
    assert forecasts(at_site, dup)["HepB"][0] == 2 and forecasts(at_site, kept)["HepB"][0] == 1
    at_site.svc.merge_children(POV, kept, ChildMerge(duplicate_id=dup, reason="同一人"), "s")
    assert forecasts(at_site, dup) == {}
    assert forecasts(at_site, kept) == engine_says(
        date(2024, 2, 1), [DoseGiven("HepB", date(2024, 4, 2))]
    )


def test_a_rebuild_makes_the_table_again(at_site: Province) -> None:  # noqa: F811
    first = register(at_site)
    second = register(
        at_site,
        name="李建国",
        sex="M",
        card_no="320102-2024-0002",
        guardians=father("李强", "13900139000"),
    )
    at_site.svc.vaccinate(POV, vaccination(dose(1), second), "staff-1")
    before = {c: forecasts(at_site, c) for c in (first, second)}
    with at_site.engine.begin() as conn:  # lost: as after a change of the schedule data
        conn.execute(delete(schema.child_forecast))
    done = due.rebuild(at_site.engine, TODAY, batch=1)
    assert (done["children"], done["forecasts"]) == (2, sum(len(f) for f in before.values()))
    assert {c: forecasts(at_site, c) for c in (first, second)} == before


def test_the_due_list_is_the_windows_doses_of_the_sites_children(province: Province) -> None:
    child_id = register(province)
    kept = forecasts(province, child_id)
    other = register(
        province,
        OTHER_POV,
        name="李建国",
        sex="M",
        card_no="320205-2024-0002",
        guardians=father("李强", "13900139000"),
    )
    monday, sunday = date(2024, 5, 13), date(2024, 5, 19)
    listed = due.due_list(province.engine, POV, TODAY)
    assert (listed["from"], listed["to"]) == (monday.isoformat(), sunday.isoformat())
    expected = {
        v: f
        for v, f in kept.items()
        if f[2] <= sunday and (f[4] is None or f[4] >= monday)  # recommended by Sunday
    }
    assert expected and len(expected) < len(kept)  # some later doses are not due yet
    items = listed["items"]
    assert {i["vaccine"] for i in items} == set(expected)
    assert {i["child_id"] for i in items} == {child_id} != {other}
    names = {i["vaccine"]: i["vaccine_name"] for i in items}
    assert all(n and not n.isascii() for n in names.values()), names  # 乙肝疫苗, not HepB
    for item in items:
        dose_no, earliest, recommended, overdue, _, _ = expected[item["vaccine"]]
        assert (item["dose"], item["earliest"], item["recommended"]) == (
            dose_no,
            earliest.isoformat(),
            recommended.isoformat(),
        )
        late = overdue is not None and overdue <= monday
        assert item["status"] == ("overdue" if late else "due")
        assert item["guardians"] == [{"name": "王丽", "relation": "mother", "phone": "13800138000"}]
        assert item["name"] == "张晓梅" and item["card_no"] == "320102-2024-0001"
    assert [i["recommended"] for i in items] == sorted(i["recommended"] for i in items)
    overdue_only = due.due_list(province.engine, POV, TODAY, status="overdue")["items"]
    due_only = due.due_list(province.engine, POV, TODAY, status="due")["items"]
    assert {i["vaccine"] for i in overdue_only} == {
        i["vaccine"] for i in items if i["status"] == "overdue"
    }
    assert len(overdue_only) + len(due_only) == len(items)
    # a window far ahead: the doses recommended by then, those aged out by then left out
    later = due.due_list(province.engine, POV, TODAY, date(2030, 1, 1), date(2030, 1, 7))
    assert {i["vaccine"] for i in later["items"]} == {
        v for v, f in kept.items() if f[4] is None or f[4] >= date(2030, 1, 1)
    }
    # one end given: the week from (or to) it
    one = due.due_list(province.engine, POV, TODAY, first=date(2024, 6, 1))
    assert (one["from"], one["to"]) == ("2024-06-01", "2024-06-07")


def test_a_bad_window_is_refused(province: Province) -> None:
    register(province)
    listed = due.due_list
    db = province.engine
    refused(province, "out_of_range", listed, db, POV, TODAY, TODAY, TODAY - timedelta(days=1))
    refused(province, "out_of_range", listed, db, POV, TODAY, TODAY, TODAY + timedelta(days=400))
    refused(province, "out_of_range", listed, db, POV, TODAY, None, None, "late")
    refused(province, "out_of_range", listed, db, POV, TODAY, date.max, None)
    refused(province, "out_of_range", listed, db, POV, TODAY, None, date.min)


def test_a_long_due_list_comes_in_pages(province: Province) -> None:
    for n in range(3):
        register(province, name=f"王{'一二三'[n]}", card_no=f"320102-2024-02{n:02d}",
                 birth_date=f"2024-0{n + 1}-15", guardians=father("王强", f"1390013900{n}"),
                 confirm_not_duplicate=True)  # fmt: skip
    whole = due.due_list(province.engine, POV, TODAY)
    assert whole["next"] is None and whole["total"] == whole["count"] > 6
    assert whole["children"] == 3
    pages, after = [], None
    while True:
        page = due.due_list(province.engine, POV, TODAY, after=after, limit=4)
        assert (page["total"], page["children"]) == (whole["total"], 3)
        assert page["count"] <= 4
        pages.append(page["items"])
        after = page["next"]
        if after is None:
            break
    assert [i for p in pages for i in p] == whole["items"] and len(pages) > 1
    late = due.due_list(province.engine, POV, TODAY, status="overdue", limit=1)
    assert late["total"] == sum(i["status"] == "overdue" for i in whole["items"])
    listed, db = due.due_list, province.engine
    refused(province, "malformed_payload", lambda: listed(db, POV, TODAY, after="x,y,z"))
    refused(province, "out_of_range", lambda: listed(db, POV, TODAY, limit=0))


def test_two_vaccinations_of_one_child_at_once_both_count(at_site: Province) -> None:  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    child_id = register(at_site)
    later = RECEIVED_AT + timedelta(days=30)
    given = [vaccination(dose(1), child_id), vaccination(dose(2), child_id, later)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda v: at_site.svc.vaccinate(POV, v, "staff-1"), given))
    # the second to commit read the first's dose (one site's writes take turns already;
    # the refresh also locks the child for writes that do not, such as a merge)
    assert forecasts(at_site, child_id) == engine_says(
        BORN, [DoseGiven("HepB", RECEIVED_AT.date()), DoseGiven("HepB", later.date())]
    )
