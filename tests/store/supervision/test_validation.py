"""The validation rules over a small province's chain, on both backends: a clean chain (with a
case, its boxes and doses) gives no finding; each anomaly added to it makes exactly its own
rule find exactly its subject; an incremental run finds what arrived since the last one, and
a repeat finds nothing new."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from vaxtrace.core.validation.rules import RULES
from vaxtrace.roles.supervision.service.validation import run_validation
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision import steps
from vaxtrace.store.supervision.schema import basic_data, regulator, rule_finding

MAH = "91320100MA1X00001A"
CDC = "12320000MB0X00002B"  # the provincial CDC
CITY_CDC = "12320100MB0X00003C"
SITE = "12320106MB0X00004D"
SITE2 = "12320106MB0X00005E"
OTHER_CDC = "12110000MB0X00006F"  # another province's CDC
ORGS = {
    MAH: ("mah", "320100"),
    CDC: ("cdc", "320000"),
    CITY_CDC: ("cdc", "320100"),
    SITE: ("pov", "320106"),
    SITE2: ("pov", "320106"),
    OTHER_CDC: ("cdc", "110000"),
}
PACKING = {"CASE": ("B1", "B2"), "B1": ("D1", "D2"), "B2": ("D3", "D4")}
EXPIRY = "2026-11-20"
BATCH = {
    "batch_no": "L1",
    "product_code": "86900000000011",
    "production_date": "2026-10-01",
    "expiry_date": EXPIRY,
    "lot_release": {"certificate_no": "SJ2026001"},
}

_events = count(1)


def day(n: float) -> datetime:
    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=n - 1)


def add(
    conn: Any,
    bill: str,
    org: str,
    doc: str,
    when: float,
    codes: list[str],
    *,
    to: str | None = None,
    cites: str | None = None,
    detail: dict[str, Any] | None = None,
    batches: list[str] | None = None,
    contents: dict[str, Any] | None = None,
    late_hours: float = 1,
) -> None:
    """A step as the platform copies it: where it happened is the doer's division (a note's
    is its consignee's)."""
    where = ORGS[to if bill == "201" and to else org][1]
    body = {
        "bill_type": bill,
        "org_uscc": org,
        "division_code": where,
        "document_no": doc,
        "business_time": day(when),
        "reported_at": day(when) + timedelta(hours=late_hours),
        "codes": codes,
        "mah_uscc": MAH if batches else None,
        "batch_nos": batches or [],
        "detail": detail,
        "counterparty_uscc": to,
        "source_document_no": cites,
        "contents": contents,
    }
    steps.add_step(
        conn,
        event_id=f"00000000-0000-0000-0000-{next(_events):012d}",
        reported_by="x",
        data_owner=org,
        step=body,
    )


RECEIVED = {"verification": "verified"}


def clean_chain(conn: Any) -> None:
    """Produced, released, shipped to the provincial CDC as a case, a box on to a site, two
    doses of it given; the other box stays at the CDC."""
    conn.execute(
        insert(basic_data.data),
        [
            {
                "kind": "organisation",
                "key": u,
                "version": 1,
                "data": {"kind": k, "division_code": d},
            }
            for u, (k, d) in ORGS.items()
        ],
    )
    everything = ["CASE", "B1", "B2", "D1", "D2", "D3", "D4"]
    add(conn, "101", MAH, "P1", 1, everything, batches=["L1"], contents=PACKING)
    add(conn, "902", MAH, "R1", 1, [], batches=["L1"], detail={"certificate_no": "SJ2026001"})
    note = {"expected_quantity": 4, "batches": [BATCH]}
    add(conn, "201", MAH, "N1", 2, ["CASE"], to=CDC, batches=["L1"], detail=note, contents=PACKING)
    add(conn, "107", CDC, "IN1", 3, ["CASE"], to=MAH, cites="N1", detail=RECEIVED)
    add(conn, "209", CDC, "OUT1", 4, ["B1"], to=SITE)
    add(conn, "107", SITE, "IN2", 5, ["B1"], to=CDC, cites="OUT1", detail=RECEIVED)
    add(conn, "322", SITE, "V1", 6, ["D1"])
    add(conn, "322", SITE, "V2", 6, ["D2"])


def second_box_to_site(conn: Any) -> None:
    add(conn, "209", CDC, "OUT2", 7, ["B2"], to=SITE)
    add(conn, "107", SITE, "IN3", 8, ["B2"], to=CDC, cites="OUT2", detail=RECEIVED)


def doc(bill: str, org: str, no: str) -> str:
    return f"{bill}:{org}:{no}"


Anomaly = Callable[[Any], None]

ANOMALIES: dict[str, tuple[Anomaly, str]] = {
    "missing_production": (
        lambda c: add(
            c, "201", MAH, "N9", 7, ["X1"], to=CDC, batches=["L1"], detail={"batches": []}
        ),
        doc("201", MAH, "N9"),
    ),
    "missing_shipment": (
        lambda c: add(c, "107", SITE, "IN9", 7, ["D3"], to=CDC, cites="OUT9", detail=RECEIVED),
        doc("107", SITE, "IN9"),
    ),
    "missing_receipt": (
        lambda c: (
            add(c, "209", CDC, "OUT2", 7, ["B2"], to=SITE),
            add(c, "322", SITE, "V9", 8, ["D3"]),
        ),
        doc("322", SITE, "V9"),
    ),
    "source_mismatch": (
        lambda c: (
            add(c, "209", CDC, "OUT2", 7, ["B2"], to=SITE),
            add(c, "107", SITE, "IN9", 8, ["B2"], to=CDC, cites="OUT-WRONG", detail=RECEIVED),
        ),
        doc("107", SITE, "IN9"),
    ),
    "time_order": (
        lambda c: (
            add(c, "209", CDC, "OUT2", 7, ["B2"], to=SITE),
            add(c, "107", SITE, "IN9", 6.5, ["B2"], to=CDC, cites="OUT2", detail=RECEIVED),
        ),
        doc("107", SITE, "IN9"),
    ),
    "required_fields": (
        lambda c: add(c, "902", MAH, "R9", 7, [], batches=["L1"], detail={"conclusion": "pass"}),
        doc("902", MAH, "R9"),
    ),
    "received_twice": (
        lambda c: add(c, "107", CDC, "IN9", 7, ["CASE"], to=MAH, cites="N1", detail=RECEIVED),
        doc("107", CDC, "IN9"),
    ),
    "used_twice": (lambda c: add(c, "322", SITE, "V9", 7, ["D1"]), "D1"),
    "shipped_by_non_holder": (
        lambda c: add(c, "209", CITY_CDC, "OUT9", 7, ["D3"], to=SITE),
        doc("209", CITY_CDC, "OUT9"),
    ),
    "late_report": (
        lambda c: add(c, "215", CDC, "DM9", 7, ["D3"], detail={"reason": "frozen"}, late_hours=72),
        doc("215", CDC, "DM9"),
    ),
    "quantity_mismatch": (
        lambda c: (
            add(c, "209", CDC, "OUT2", 7, ["B2"], to=SITE),
            add(c, "107", SITE, "IN3", 8, ["D3"], to=CDC, cites="OUT2", detail=RECEIVED),
        ),
        doc("209", CDC, "OUT2"),
    ),
    "mah_to_site": (
        lambda c: (
            add(c, "101", MAH, "P9", 7, ["Y1"], batches=["L1"]),
            add(c, "201", MAH, "N9", 8, ["Y1"], to=SITE2, batches=["L1"], detail={"batches": []}),
        ),
        doc("201", MAH, "N9"),
    ),
    "site_supplies": (
        lambda c: (second_box_to_site(c), add(c, "209", SITE, "OUT9", 9, ["D4"], to=SITE2)),
        doc("209", SITE, "OUT9"),
    ),
    "cross_province": (
        lambda c: add(c, "209", CDC, "OUT9", 7, ["D3"], to=OTHER_CDC),
        doc("209", CDC, "OUT9"),
    ),
    "used_after_expiry": (
        lambda c: (second_box_to_site(c), add(c, "322", SITE, "V9", 21, ["D3"])),
        "D3",
    ),
    "used_while_locked": (
        lambda c: (
            add(c, "911", MAH, "LK1", 7, [], batches=["L1"], detail={"lock_kind": "pending"}),
            second_box_to_site(c),
            add(c, "322", SITE, "V9", 9, ["D3"]),
        ),
        "D3",
    ),
    "used_while_recalled": (
        lambda c: (
            add(c, "913", MAH, "RC1", 7, [], batches=["L1"], detail={"recall_no": "RC1"}),
            second_box_to_site(c),
            add(c, "322", SITE, "V9", 9, ["D3"]),
        ),
        "D3",
    ),
    "used_after_excursion": (
        lambda c: (
            second_box_to_site(c),
            add(
                c,
                "931",
                SITE,
                "EX1",
                8.5,
                ["D3", "D4"],
                detail={"start_time": "x", "min_celsius": 9.0, "max_celsius": 14.0},
            ),
            add(c, "322", SITE, "V9", 9, ["D3"]),
        ),
        "D3",
    ),
}


def kept(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(rule_finding.c.rule, rule_finding.c.subject))
        return {(str(r), str(s)) for r, s in rows}


def test_every_rule_has_an_anomaly_here() -> None:
    assert {r.id for r in RULES} == set(ANOMALIES)


def test_a_clean_chain_has_no_finding(supervision_engine: Engine) -> None:
    with write_tx(supervision_engine) as conn:
        clean_chain(conn)
        second_box_to_site(conn)
        add(conn, "322", SITE, "V3", 9, ["D3"])
        add(conn, "911", MAH, "LK1", 10, [], batches=["L1"], detail={"lock_kind": "pending"})
        add(conn, "912", MAH, "UL1", 10.5, [], batches=["L1"])
        add(conn, "322", SITE, "V4", 11, ["D4"])  # the lock had ended
        # history sent when the system connected (before its first report) is not late
        add(conn, "901", MAH, "Q0", 0, [], batches=["L1"], detail={}, late_hours=240)
    answer = run_validation(supervision_engine, full=True)
    assert answer["found"] == 0, answer["by_rule"]
    assert kept(supervision_engine) == set()


@pytest.mark.parametrize("rule", sorted(ANOMALIES))
def test_each_anomaly_is_found_by_its_rule_alone(supervision_engine: Engine, rule: str) -> None:
    inject, subject = ANOMALIES[rule]
    with write_tx(supervision_engine) as conn:
        clean_chain(conn)
    assert run_validation(supervision_engine, full=True)["found"] == 0
    with write_tx(supervision_engine) as conn:
        inject(conn)
    incremental = run_validation(supervision_engine, full=False)
    assert kept(supervision_engine) == {(rule, subject)}, incremental["by_rule"]
    assert incremental["kind"] == "incremental" and incremental["found"] == 1
    again = run_validation(supervision_engine, full=True)
    assert again["found"] == 0  # found once, kept once
    assert run_validation(supervision_engine, full=False)["found"] == 0


def test_a_finding_names_who_owes_the_fix_and_where(supervision_engine: Engine) -> None:
    with write_tx(supervision_engine) as conn:
        clean_chain(conn)
        ANOMALIES["missing_shipment"][0](conn)
    (shipment,) = run_validation(supervision_engine, full=True)["new"]
    assert shipment.owing_uscc == CDC  # the shipper the receipt names
    assert shipment.division_code == "320106"  # where the receipt was done
    assert shipment.detail["codes_caught"] == 1 and shipment.detail["code"] == "D3"
    with write_tx(supervision_engine) as conn:
        ANOMALIES["quantity_mismatch"][0](conn)
    later = {f.rule: f for f in run_validation(supervision_engine, full=False)["new"]}
    quantity = later["quantity_mismatch"]
    assert quantity.owing_uscc == SITE  # the consignee owes the answer
    assert quantity.detail["codes_caught"] == 2  # the box and D4 never arrived


def test_a_note_of_a_mah_elsewhere_is_not_judged_for_its_production(
    supervision_engine: Engine,
) -> None:
    """A province's node is copied the notes to its CDCs, not the production of a MAH in
    another province: the missing production is judged only where the MAH's reports go."""
    with write_tx(supervision_engine) as conn:
        clean_chain(conn)
        ANOMALIES["missing_production"][0](conn)
        conn.execute(
            insert(regulator).values(
                uscc=OTHER_CDC, name="邻省药品监督管理局", division_code="110000"
            )
        )
    assert run_validation(supervision_engine, full=True)["found"] == 0
    with write_tx(supervision_engine) as conn:
        conn.execute(
            insert(regulator).values(uscc=CDC, name="示例省药品监督管理局", division_code="320000")
        )
    assert {f.rule for f in run_validation(supervision_engine, full=True)["new"]} == {
        "missing_production"
    }


def test_a_dose_of_a_mah_elsewhere_is_judged_by_the_batch_its_note_names(
    supervision_engine: Engine,
) -> None:
    """No production reached this node (the MAH is in another province): the note of one
    batch says which batch its codes are of, so a use past the batch's expiry is found."""
    note = {"expected_quantity": 4, "batches": [BATCH]}
    with write_tx(supervision_engine) as conn:
        conn.execute(
            insert(regulator).values(uscc=CDC, name="示例省药品监督管理局", division_code="320000")
        )
        add(conn, "201", OTHER_CDC, "N7", 2, ["B2"], to=CDC, batches=["L1"], detail=note)
        add(conn, "107", CDC, "IN7", 3, ["B2"], to=OTHER_CDC, cites="N7", detail=RECEIVED)
        add(conn, "209", CDC, "OUT7", 4, ["B2"], to=SITE)
        add(conn, "107", SITE, "IN8", 5, ["B2"], to=CDC, cites="OUT7", detail=RECEIVED)
        add(conn, "322", SITE, "V9", 21, ["B2"])  # the batch expired on the 20th
    found = {(f.rule, f.subject) for f in run_validation(supervision_engine, full=True)["new"]}
    assert found == {("used_after_expiry", "B2")}


@pytest.mark.parametrize(
    ("utc_hour", "late"),
    [(15.98, False), (16.02, True)],  # 23:59 and 00:01 in China: the expiry day ends at 16:00 UTC
)
def test_expiry_is_judged_by_the_day_in_china(
    supervision_engine: Engine, utc_hour: float, late: bool
) -> None:
    """有效期至 is inclusive and a China date: a dose given late on the expiry day is in time,
    one given a minute after midnight in China (still the 20th in UTC) is not."""
    with write_tx(supervision_engine) as conn:
        clean_chain(conn)
        second_box_to_site(conn)
        add(conn, "322", SITE, "V9", 20 + utc_hour / 24, ["D3"])  # day 20 = EXPIRY
    found = {(f.rule, f.subject) for f in run_validation(supervision_engine, full=True)["new"]}
    assert found == ({("used_after_expiry", "D3")} if late else set())
