"""A batch's flow and the statistics, on both backends, from hand-built steps with known
counts: a case of two boxes shipped with its contents, received, a box distributed to a site,
one dose vaccinated, one vaccinated and undone then returned, one damaged, one in transit;
only dose-level codes count, each dose where its latest movement left it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from vaxtrace.core.flows import Holding, Link, Moved, flow
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision import flows, steps

MAH = "91320100MA1X0000XX"
CDC = "12320100MB0X0000XX"
SITE = "12320106MB0X0000XX"
SITE2 = "12320111MB0X0000XX"
CASE, BOX1, BOX2 = "C1", "B1", "B2"
PACKING = {CASE: (BOX1, BOX2), BOX1: ("D1", "D2"), BOX2: ("D3", "D4")}
MASTER = {"batch_no": "L1", "product_code": "HepB", "expiry_date": "2028-01-31"}


def step(
    bill: str, org: str, division: str, day: int, codes: list[str], other: str | None = None
) -> dict[str, Any]:
    return {
        "bill_type": bill,
        "org_uscc": org,
        "division_code": division,
        "document_no": f"{bill}-{day}",
        "business_time": datetime(2026, 11, day, 3, tzinfo=UTC),
        "codes": codes,
        "mah_uscc": None,
        "batch_nos": [],
        "detail": None,
        "counterparty_uscc": other,
    }


def add(conn: Connection, n: int, body: dict[str, Any]) -> None:
    steps.add_step(
        conn,
        event_id=f"00000000-0000-0000-0000-{n:012d}",
        reported_by="x",
        data_owner=body["org_uscc"],
        step=body,
    )


@pytest.fixture
def chain(supervision_engine: Engine) -> Engine:
    batch = {"mah_uscc": MAH, "batch_nos": ["L1"], "contents": PACKING}
    note = {"mah_uscc": MAH, "contents": PACKING, "detail": {"batches": [MASTER]}}
    bodies = [
        step("101", MAH, "320100", 1, [CASE, BOX1, BOX2, "D1", "D2", "D3", "D4"]) | batch,
        step("101", MAH, "320100", 1, ["E1"]) | {"mah_uscc": MAH, "batch_nos": ["L2"]},
        step("201", MAH, "320100", 2, [CASE], CDC) | note,  # where its consignee is
        step("107", CDC, "320100", 3, [CASE], MAH),
        step("209", CDC, "320100", 4, [BOX1], SITE),
        step("107", SITE, "320106", 5, [BOX1], CDC),
        step("322", SITE, "320106", 6, ["D1"]),
        step("322", SITE, "320106", 6, ["D2"]),
        step("323", SITE, "320106", 7, ["D2"]),
        step("202", SITE, "320106", 8, ["D2"], CDC),
        step("215", CDC, "320100", 9, ["D3"]),
        step("209", CDC, "320100", 10, ["D4"], SITE2),
        step("911", MAH, "320100", 11, ["D4"]),  # a lock moves nothing
        step("913", MAH, "320100", 12, []) | {"mah_uscc": MAH, "batch_nos": ["L1"]},
    ]
    with write_tx(supervision_engine) as conn:
        for n, body in enumerate(bodies, 1):
            add(conn, n, body)
    return supervision_engine


def moves(engine: Engine, area: str, period: flows.Period = "day") -> list[Moved]:
    with engine.connect() as conn:
        rows = flows.batch_moves(conn, MAH, "L1", area, period)
    return [
        Moved(
            r["bill_type"],
            r["org_uscc"],
            r["counterparty_uscc"],
            str(r["period"]),
            int(r["moved"]),
            int(r["now"]),
        )
        for r in rows
    ]


def test_the_flow_counts_doses_where_their_latest_movement_left_them(chain: Engine) -> None:
    found = {(m.bill_type, m.org_uscc, m.period): (m.moved, m.now) for m in moves(chain, "")}
    assert found == {
        ("101", MAH, "2026-11-01"): (4, 0),
        ("201", MAH, "2026-11-02"): (4, 0),
        ("107", CDC, "2026-11-03"): (4, 0),
        ("209", CDC, "2026-11-04"): (2, 0),
        ("107", SITE, "2026-11-05"): (2, 0),
        ("322", SITE, "2026-11-06"): (2, 1),
        ("323", SITE, "2026-11-07"): (1, 0),
        ("202", SITE, "2026-11-08"): (1, 1),
        ("215", CDC, "2026-11-09"): (1, 1),
        ("209", CDC, "2026-11-10"): (1, 1),
    }
    picture = flow(moves(chain, ""))
    assert picture.holders == [MAH, CDC, SITE, SITE2]
    assert sorted(picture.links, key=lambda link: (link.source, link.target)) == sorted(
        [
            Link(MAH, CDC, 4),
            Link(CDC, SITE, 2),
            Link(CDC, SITE2, 1),
            Link(CDC, "damaged", 1),
            Link(SITE, "vaccinated", 1),
            Link(SITE, "returned:" + CDC, 1),
        ],
        key=lambda link: (link.source, link.target),
    )
    assert picture.holdings == {
        CDC: Holding(in_stock=1, damaged=1),  # the returned dose, the broken one
        SITE: Holding(used=1),
        SITE2: Holding(in_transit=1),
    }
    assert picture.periods[0] == "2026-11-01" and len(picture.periods) == 10
    assert sum(picture.totals["used"]) == 1 and sum(picture.totals["shipped"]) == 7
    assert picture.per_holder[SITE]["received"][4] == 2


def test_a_county_sees_only_the_movements_done_inside_it(chain: Engine) -> None:
    county = moves(chain, "320106")
    assert {m.org_uscc for m in county} == {SITE}
    picture = flow(county)
    assert {(link.source, link.target, link.value) for link in picture.links} == {
        (CDC, SITE, 2),  # its receipt says whence
        (SITE, "vaccinated", 1),
        (SITE, "returned:" + CDC, 1),
    }
    assert picture.holdings == {CDC: Holding(in_stock=1), SITE: Holding(used=1)}
    assert moves(chain, "320111") == []
    assert [m.period for m in moves(chain, "", "month")] == ["2026-11"] * 10


def test_unknown_and_known_batches(chain: Engine) -> None:
    with chain.connect() as conn:
        known = flows.batch_known(conn, MAH, "L1")
        assert known is not None and known["product_code"] == "HepB"
        bare = flows.batch_known(conn, MAH, "L2")  # only a production named it
        assert bare is not None and dict(bare) == {"mah_uscc": MAH, "batch_no": "L2"}
        assert flows.batch_known(conn, MAH, "L9") is None
        assert flows.batch_moves(conn, MAH, "L9", "", "day") == []


def stats(engine: Engine, group_by: flows.GroupBy, **more: Any) -> dict[str, dict[str, int]]:
    args: dict[str, Any] = {"level": "county", "area_prefix": "", "since": None, "until": None}
    with engine.connect() as conn:
        rows = flows.statistics(conn, group_by=group_by, **(args | more))
    return {str(r["key"]): {k: int(v) for k, v in r.items() if k != "key"} for r in rows}


def counts(
    produced: int, shipped: int, received: int, used: int, returned: int, lost: int, in_stock: int
) -> Any:
    return {
        "produced": produced,
        "shipped": shipped,
        "received": received,
        "used": used,
        "returned": returned,
        "lost": lost,
        "in_stock": in_stock,
    }


def test_statistics_by_division_month_mah_and_product(chain: Engine) -> None:
    by_county = stats(chain, "division")
    assert by_county == {
        # E1 (of L2) is still at the MAH; the dose returned to the CDC counts where the
        # return was recorded (the step does not say where its receiver is)
        "320100": counts(5, 7, 4, 0, 0, 1, 1),
        "320106": counts(0, 0, 2, 1, 1, 0, 1),
    }
    assert stats(chain, "division", level="province") == {"32": counts(5, 7, 6, 1, 1, 1, 2)}
    assert stats(chain, "month") == {"2026-11": counts(5, 7, 6, 1, 1, 1, 2)}
    assert stats(chain, "mah") == {MAH: counts(5, 7, 6, 1, 1, 1, 2)}
    assert stats(chain, "product") == {
        f"{MAH}/HepB": counts(4, 7, 6, 1, 1, 1, 1),
        "": counts(1, 0, 0, 0, 0, 0, 1),  # L2: no note said its product
    }
    assert stats(chain, "division", area_prefix="320106") == {"320106": counts(0, 0, 2, 1, 1, 0, 1)}
    since = datetime(2026, 11, 6, tzinfo=UTC)
    until = datetime(2026, 11, 10, tzinfo=UTC)
    assert stats(chain, "division", since=since, until=until) == {
        "320100": counts(0, 0, 0, 0, 0, 1, 0),
        "320106": counts(0, 0, 0, 1, 1, 0, 1),
    }


def test_where_a_recalled_batch_is_now(chain: Engine) -> None:
    with chain.connect() as conn:
        recalls = flows.recalled_batches(conn)
        assert [(r["mah_uscc"], r["batch_no"]) for r in recalls] == [(MAH, "L1")]
        rows = flows.recall_progress(conn, MAH, "L1", level="county", area_prefix="")
        county = flows.recall_progress(conn, MAH, "L1", level="county", area_prefix="320106")
        assert flows.recall_progress(conn, MAH, "L9", level="city", area_prefix="") == []
    assert [dict(r) for r in rows] == [
        # D3 damaged at the CDC, D4 in transit from it
        {"key": "320100", "total": 2, "returned": 0, "destroyed": 0, "used": 0, "damaged": 1,
         "outstanding": 1},
        # D1 used, D2 returned by the site
        {"key": "320106", "total": 2, "returned": 1, "destroyed": 0, "used": 1, "damaged": 0,
         "outstanding": 0},
    ]  # fmt: skip
    assert [dict(r) for r in county] == [dict(rows[1])]
