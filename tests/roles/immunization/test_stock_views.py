"""Stock that people can use, through the service on SQLite and PostgreSQL: doses (not codes)
by product, batch, expiry and status as the dose gate judges them; near-expiry and expired
lists; a CDC's view of its area; the expiry run kept once; 216 scrap and 205 destruction of
what a unit holds, reported to the MAH, every refusal changing nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from province_world import (
    BATCH_NO,
    BOXES,
    CASE,
    CITY_CDC,
    CONTENTS,
    CST,
    DOSES,
    MAH,
    OTHER_CITY_CDC,
    OTHER_POV,
    POV,
    PROVINCE_CDC,
    Province,
    batch_entry,
    box,
    case,
    dose,
    fields,
    refused,
)

from tests.refusals import refused_with
from vaxtrace.core.coldchain.readings import TemperatureUpload
from vaxtrace.core.datasets.movements import Destruction
from vaxtrace.core.downstream import DownstreamBill
from vaxtrace.core.immunization import DamageReport, Distribution, Scrap, Vaccination
from vaxtrace.store.basic_data import Change, copy_changes
from vaxtrace.store.immunization.schema import basic_data

PRODUCT = "HEPB-10"
NAME = "乙型肝炎疫苗(酿酒酵母)"
EXPIRY = date(2028, 12, 31)  # province_world's batch
ON = date(2026, 1, 1)


@pytest.fixture
def stocked(province: Province) -> Province:
    """The provincial CDC received a case: two boxes of three doses, batch B2024001."""
    province.announce("FH1", [CASE], contents=CONTENTS)
    province.receive("FH1", [CASE])
    return province


def know_the_product(province: Province) -> None:
    """The registry's copy of the product, with an identification code per packaging level."""
    levels = [
        {"level": 1, "identification_code": dose(1)[:7], "children": 0},
        {"level": 2, "identification_code": box(1)[:7], "children": 3},
        {"level": 3, "identification_code": case(1)[:7], "children": 2},
    ]
    data = {"mah_uscc": MAH, "product_code": PRODUCT, "generic_name": NAME, "levels": levels}
    with province.engine.begin() as conn:
        copy_changes(conn, basic_data, [Change(1, "product", f"{MAH}/{PRODUCT}", data)])


def supply(province: Province, *codes: str, frm: str = PROVINCE_CDC, to: str = POV) -> None:
    province.supply(frm, Distribution(**fields("dist"), codes=codes, receiver_uscc=to))


def lines(found: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(x["batch_no"], x["status"], x["doses"]) for x in found["lines"]]


# --- doses by product, batch, expiry and status -------------------------------------------------


def test_a_case_counts_as_its_doses_with_the_products_name_when_known(stocked: Province) -> None:
    found = stocked.svc.stock_summary(PROVINCE_CDC, ON)
    assert (found["holder_uscc"], found["on"], found["doses"]) == (PROVINCE_CDC, "2026-01-01", 6)
    assert found["by_status"]["usable"] == 6 and sum(found["by_status"].values()) == 6
    [line] = found["lines"]
    assert line == {
        "mah_uscc": MAH,
        "product_code": PRODUCT,
        "product_name": None,
        "batch_no": BATCH_NO,
        "expiry_date": EXPIRY.isoformat(),
        "days_left": (EXPIRY - ON).days,
        "status": "usable",
        "reasons": [],
        "doses": 6,
        "example_code": min(d for ds in DOSES.values() for d in ds),
    }
    know_the_product(stocked)
    assert stocked.svc.stock_summary(PROVINCE_CDC, ON)["lines"][0]["product_name"] == NAME
    assert stocked.svc.stock_summary(POV, ON) | {"on": None} == {
        "holder_uscc": POV,
        "on": None,
        "doses": 0,
        "by_status": dict.fromkeys(
            ("recalled", "locked", "expired", "excursion", "stopped", "in_transit", "usable"), 0
        ),
        "lines": [],
    }


def test_an_emptied_box_is_no_dose_once_the_product_is_known(stocked: Province) -> None:
    supply(stocked, BOXES[0])
    for code in DOSES[BOXES[0]]:
        stocked.svc.vaccinate(POV, Vaccination(**fields("vac"), code=code, vaccinator="李护士"))
    # Without the product's packaging levels an emptied box cannot be told from a dose …
    assert stocked.svc.stock_summary(POV, ON)["doses"] == 1
    know_the_product(stocked)
    # … with them it can: the site holds none, the CDC the three doses of the other box.
    assert stocked.svc.stock_summary(POV, ON)["doses"] == 0
    assert stocked.svc.stock_summary(PROVINCE_CDC, ON)["doses"] == 3


def test_each_status_as_the_dose_gate_judges_it(stocked: Province) -> None:
    loose = {"B-LOCK": dose(11), "B-RECALL": dose(12), "B-OLD": dose(13), "B-NOREL": dose(14)}
    entries = [
        batch_entry([code], batch_no, expiry="2027-03-31" if batch_no == "B-OLD" else "2028-12-31")
        for batch_no, code in loose.items()
    ]
    entries[-1]["lot_release"] = None
    stocked.announce("FH2", list(loose.values()), batches=entries)
    stocked.receive("FH2", list(loose.values()))
    stocked.signal(batch_nos=["B-LOCK"], kind="lock", lock_kind="pending", reason="review")
    stocked.signal(batch_nos=["B-RECALL"], kind="recall", recall_no="ZH-1", recall_level=2)
    supply(stocked, BOXES[1])
    freeze(stocked, POV)

    later = date(2027, 6, 1)
    at_cdc = stocked.svc.stock_summary(PROVINCE_CDC, later)
    assert sorted(lines(at_cdc)) == [
        ("B-LOCK", "locked", 1),
        ("B-NOREL", "stopped", 1),
        ("B-OLD", "expired", 1),
        ("B-RECALL", "recalled", 1),
        (BATCH_NO, "usable", 3),
    ]
    reasons = {x["batch_no"]: x["reasons"] for x in at_cdc["lines"]}
    assert reasons["B-NOREL"] == ["no_lot_release"] and reasons["B-OLD"] == ["expired"]
    assert at_cdc["by_status"] == {
        "recalled": 1,
        "locked": 1,
        "expired": 1,
        "excursion": 0,
        "stopped": 1,
        "in_transit": 0,
        "usable": 3,
    }
    at_site = stocked.svc.stock_summary(POV, later)
    assert lines(at_site) == [(BATCH_NO, "excursion", 3)]
    assert at_site["lines"][0]["reasons"] == ["cold_chain_excursion"]


def freeze(province: Province, unit: str) -> None:
    """The unit's fridge froze for 70 minutes: an excursion holds everything it has."""
    t0 = datetime(2024, 4, 3, 0, 0, tzinfo=CST)
    celsius = [5.0] * 6 + [-1.0] * 7 + [5.0] * 7
    upload = TemperatureUpload(
        client_document_id=f"temp-{unit}",
        equipment_id="FRIDGE-1",
        kind="storage",
        product_class="freeze_sensitive_2_8",
        readings=[
            {"time": t0 + timedelta(minutes=10 * i), "celsius": c} for i, c in enumerate(celsius)
        ],
    )
    assert province.svc.record_temperatures(unit, upload).body["excursions"]


# --- near expiry and expired --------------------------------------------------------------------


def test_near_expiry_and_expired_lists(stocked: Province) -> None:
    svc = stocked.svc
    a_month_before = EXPIRY - timedelta(days=30)
    near = svc.near_expiry_stock(PROVINCE_CDC, 30, a_month_before)
    assert near["days"] == 30 and near["on"] == a_month_before.isoformat()
    assert near["batches"] == [
        {
            "mah_uscc": MAH,
            "product_code": PRODUCT,
            "product_name": None,
            "batch_no": BATCH_NO,
            "expiry_date": EXPIRY.isoformat(),
            "days_left": 30,
            "doses": 6,
            "by_status": {"usable": 6},
        }
    ]
    assert svc.near_expiry_stock(PROVINCE_CDC, 29, a_month_before)["batches"] == []
    assert svc.near_expiry_stock(PROVINCE_CDC, 0, EXPIRY)["batches"][0]["days_left"] == 0
    assert svc.expired_stock(PROVINCE_CDC, EXPIRY)["batches"] == []  # usable through that day
    day_after = EXPIRY + timedelta(days=1)
    assert svc.near_expiry_stock(PROVINCE_CDC, 30, day_after)["batches"] == []
    [gone] = svc.expired_stock(PROVINCE_CDC, day_after)["batches"]
    assert (gone["days_left"], gone["doses"], gone["by_status"]) == (-1, 6, {"expired": 6})
    assert svc.expired_stock(POV, day_after)["batches"] == []


# --- the CDC's area -------------------------------------------------------------------------------


def test_a_cdc_sees_every_unit_of_its_area_and_a_site_may_not(stocked: Province) -> None:
    stocked.announce("FH2", [dose(20)], batches=[batch_entry([dose(20)], "B-OTHER")])
    stocked.receive("FH2", [dose(20)])
    supply(stocked, CASE, to=CITY_CDC)
    supply(stocked, BOXES[1], frm=CITY_CDC, to=POV)
    supply(stocked, dose(20), to=OTHER_CITY_CDC)

    province = stocked.svc.province_stock(PROVINCE_CDC, ON)
    assert (province["cdc_uscc"], province["division_code"]) == (PROVINCE_CDC, "320000")
    assert province["doses"] == 7 and province["by_status"]["usable"] == 7
    held = {u["uscc"]: u["doses"] for u in province["units"]}
    assert held == {PROVINCE_CDC: 0, CITY_CDC: 3, OTHER_CITY_CDC: 1, POV: 3, OTHER_POV: 0}
    by_uscc = {u["uscc"]: u for u in province["units"]}
    assert lines(by_uscc[POV]) == [(BATCH_NO, "usable", 3)]
    assert (by_uscc[POV]["kind"], by_uscc[POV]["division_code"]) == ("pov", "320102")

    city = stocked.svc.province_stock(CITY_CDC, ON)
    assert [u["uscc"] for u in city["units"]] == [CITY_CDC, POV]
    assert city["doses"] == 6

    with refused_with(403) as refused:
        stocked.svc.province_stock(POV, ON)
    assert refused.value.reason == "not_a_cdc"


def test_the_public_sees_what_each_site_can_give_and_nothing_else(stocked: Province) -> None:
    supply(stocked, BOXES[1], to=POV)
    public = stocked.svc.public_stock("320000", ON)
    assert (public["division_code"], public["on"]) == ("320000", ON.isoformat())
    by_site = {s["uscc"]: s["vaccines"] for s in public["sites"]}
    assert set(by_site) == {POV, OTHER_POV}  # the sites only, not the CDCs
    assert [v["doses"] for v in by_site[POV]] == [3] and by_site[OTHER_POV] == []
    assert set(by_site[POV][0]) == {"product_name", "product_code", "mah_uscc", "doses"}
    county = stocked.svc.public_stock("320102", ON)
    assert [s["uscc"] for s in county["sites"]] == [POV]
    # a lock stops the doses at once: the public no longer sees them as available
    stocked.signal(batch_nos=[BATCH_NO], kind="lock", lock_kind="pending", reason="review")
    locked = stocked.svc.public_stock("320000", ON)
    assert {s["uscc"]: s["vaccines"] for s in locked["sites"]}[POV] == []
    with refused_with(422) as refused:
        stocked.svc.public_stock("32", ON)
    assert refused.value.reason == "division_code_format"


# --- the expiry run -------------------------------------------------------------------------------


def test_the_expiry_run_reports_each_expired_batch_once(stocked: Province) -> None:
    stocked.announce("FH2", [dose(20)], batches=[batch_entry([dose(20)], "B-SOON", "2027-06-30")])
    stocked.receive("FH2", [dose(20)])
    svc = stocked.svc
    first = svc.expire_stock(date(2027, 6, 30))  # the last day of use: not expired yet
    assert (first["batches"], first["doses"], first["previous_run_on"]) == ([], 0, None)
    second = svc.expire_stock(date(2027, 7, 1))
    assert second["previous_run_on"] == "2027-06-30"
    assert second["batches"] == [
        {
            "mah_uscc": MAH,
            "batch_no": "B-SOON",
            "product_code": PRODUCT,
            "product_name": None,
            "expiry_date": "2027-06-30",
            "doses": 1,
            "units": 1,
        }
    ]
    before = stocked.counts()
    again = svc.expire_stock(date(2027, 7, 1), source="nightly")
    assert (again["batches"], again["doses"]) == ([], 0)
    assert stocked.counts() == {**stocked.journaled(before), "expiry_run": before["expiry_run"] + 1}

    supply(stocked, BOXES[0], to=POV)
    later = svc.expire_stock(date(2029, 1, 1))
    assert [(b["batch_no"], b["doses"], b["units"]) for b in later["batches"]] == [(BATCH_NO, 6, 2)]
    assert stocked.counts()["expired_batch"] == 2


# --- 216 scrap and 205 destruction ------------------------------------------------------------


def scrap(*codes: str, **extra: Any) -> Scrap:
    return Scrap(**fields("scr", **extra), codes=codes, reason="过期 expired")


def destruction(*codes: str, **extra: Any) -> Destruction:
    return Destruction(
        **fields("des", **extra),
        codes=codes,
        reason="过期报废 expired and scrapped",
        executor="王五",
        supervisor="赵六 (区市场监管局)",
        place="医疗废物暂存间",
    )


def state(province: Province, *codes: str) -> set[str]:
    return {str((province.stock_of(c) or {})["state"]) for c in codes}


def test_scrap_and_destruction_leave_the_stock_and_reach_the_mah(stocked: Province) -> None:
    svc = stocked.svc
    scrapped = svc.scrap(PROVINCE_CDC, scrap(BOXES[0]))
    assert not scrapped.replayed
    assert scrapped.body | {"exchange_event_id": None} == {
        "operation": "scrap",
        "bill_type": "216",
        "document_no": scrapped.body["document_no"],
        "codes": 1,
        "moved": 4,
        "unpacked": [BOXES[0]],
        "state": "scrapped",
        "exchange_event_id": None,
    }
    assert state(stocked, BOXES[0], *DOSES[BOXES[0]]) == {"scrapped"}
    header, event = stocked.reports()[-1]
    assert (event.bill_type, event.codes, event.reason) == (
        DownstreamBill.SCRAP,
        (BOXES[0],),
        "过期 expired",
    )
    assert header["event_subtype"] == "216" and header["data_owner"] == PROVINCE_CDC

    broken = dose(4)
    svc.report_damage(PROVINCE_CDC, DamageReport(**fields("dmg"), codes=[broken], reason="碎"))
    request = destruction(broken, BOXES[1])
    destroyed = svc.destroy(PROVINCE_CDC, request)
    assert (destroyed.body["moved"], destroyed.body["unpacked"]) == (4, [BOXES[1]])
    assert state(stocked, broken, BOXES[1], *DOSES[BOXES[1]]) == {"destroyed"}
    event = stocked.reports()[-1][1]
    assert event.bill_type is DownstreamBill.DESTRUCTION
    assert (event.executor, event.supervisor, event.place) == (
        "王五",
        "赵六 (区市场监管局)",
        "医疗废物暂存间",
    )
    before = stocked.counts()
    again = svc.destroy(PROVINCE_CDC, request)
    assert again.replayed and again.body == destroyed.body and stocked.counts() == before
    assert stocked.svc.stock_summary(PROVINCE_CDC, ON)["doses"] == 1  # the emptied case …
    know_the_product(stocked)
    assert stocked.svc.stock_summary(PROVINCE_CDC, ON)["doses"] == 0  # … is no dose

    stocked.announce("FH2", [dose(30)], batches=[batch_entry([dose(30)], "B-2")])
    stocked.receive("FH2", [dose(30)])
    supply(stocked, dose(30))
    check = svc.check_dose(POV, broken)
    assert not check["allowed"] and "out_of_stock" in check["reasons"]


def test_expired_abnormal_and_excursion_held_goods_may_be_disposed_of(
    stocked: Province,
) -> None:
    loose = {"B-OLD": dose(13), "B-BAD": dose(14)}
    entries = [batch_entry([loose["B-OLD"]], "B-OLD", "2026-12-31")]
    entries.append(batch_entry([loose["B-BAD"]], "B-BAD"))
    stocked.announce("FH2", list(loose.values()), batches=entries)
    stocked.receive("FH2", list(loose.values()))
    stocked.signal(batch_nos=["B-BAD"], kind="lock", lock_kind="abnormal", reason="failed")
    supply(stocked, BOXES[1])
    freeze(stocked, POV)
    stocked.svc.scrap(PROVINCE_CDC, scrap(loose["B-OLD"], loose["B-BAD"]))
    stocked.svc.destroy(POV, destruction(BOXES[1]))
    assert state(stocked, *loose.values()) == {"scrapped"}
    assert state(stocked, BOXES[1], *DOSES[BOXES[1]]) == {"destroyed"}


def test_disposal_refusals_change_nothing(stocked: Province) -> None:
    svc = stocked.svc
    supply(stocked, BOXES[1])
    svc.report_damage(PROVINCE_CDC, DamageReport(**fields("dmg"), codes=[dose(1)], reason="碎"))
    svc.scrap(PROVINCE_CDC, scrap(dose(2)))
    refused(stocked, "unknown_code", svc.scrap, PROVINCE_CDC, scrap(dose(99)))
    refused(stocked, "not_held", svc.scrap, PROVINCE_CDC, scrap(dose(4)))
    refused(stocked, "scrapped", svc.destroy, PROVINCE_CDC, destruction(dose(2)))
    gone = Distribution(**fields("dist"), codes=[dose(2)], receiver_uscc=POV)
    refused(stocked, "scrapped", svc.distribute, PROVINCE_CDC, gone)  # nor moves on
    refused(stocked, "damaged", svc.scrap, PROVINCE_CDC, scrap(dose(1)))
    refused(stocked, "listed_twice", svc.scrap, PROVINCE_CDC, scrap(BOXES[0], dose(3)))
    refused(stocked, "client_document_id_reused", svc.scrap, PROVINCE_CDC, _reused(svc))

    stocked.signal(batch_nos=[BATCH_NO], kind="lock", lock_kind="pending", reason="review")
    error = refused(stocked, "locked", svc.scrap, PROVINCE_CDC, scrap(CASE))
    assert error.field == "codes" and "wait for its decision" in error.message
    stocked.signal(batch_nos=[BATCH_NO], kind="unlock", reason="cleared")
    stocked.signal(batch_nos=[BATCH_NO], kind="recall", recall_no="ZH-9", recall_level=1)
    error = refused(stocked, "recalled", svc.destroy, POV, destruction(BOXES[1]))
    assert "return the goods under the recall" in error.message


def _reused(svc: Any) -> Scrap:
    first = scrap(dose(3))
    svc.scrap(PROVINCE_CDC, first)
    return scrap(BOXES[0], client_document_id=first.client_document_id)
