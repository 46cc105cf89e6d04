"""A recall's units, found set-based over the code steps (on both backends): every dose-level
code of the recalled batches (not the containers), each where its latest movement left it,
grouped by document; limited to an area, or to the recall's divisions; and the recall's
batches, progress and closing kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from vaxtrace.core.recalls import UnitState, completion, placed
from vaxtrace.store.engine import write_tx
from vaxtrace.store.supervision import recalls, steps

MAH = "91320100MA1X0000XX"
CDC = "12320100MB0X0000XX"
SITE = "12320106MB0X0000XX"
OTHER_MAH = "91330100MA1X0000XX"
DOSES = [f"D{i}" for i in range(1, 9)]
START = datetime(2026, 11, 10, tzinfo=UTC)


def step(bill: str, org: str, division: str, day: int, codes: list[str], **more: Any) -> Any:
    return {
        "bill_type": bill,
        "org_uscc": org,
        "division_code": division,
        "document_no": f"{bill}-{day}-{codes[0] if codes else ''}",
        "business_time": datetime(2026, 11, day, tzinfo=UTC),
        "codes": codes,
        "mah_uscc": None,
        "batch_nos": [],
        "detail": None,
    } | more


def chain(engine: Engine) -> None:
    """D1–D8 of batch L1, D1–D4 in case C1; an other MAH's batch L1 (X1) besides."""
    to = lambda who: {"counterparty_uscc": who}  # noqa: E731
    bodies = [
        step(
            "101",
            MAH,
            "320100",
            1,
            ["C1", *DOSES],
            mah_uscc=MAH,
            batch_nos=["L1"],
            contents={"C1": DOSES[:4]},
        ),
        step("101", OTHER_MAH, "330100", 1, ["X1"], mah_uscc=OTHER_MAH, batch_nos=["L1"]),
        step("201", MAH, "320100", 2, ["C1", "D5", "D6", "D7"]),
        step("107", CDC, "320100", 3, ["C1", "D5", "D6"], **to(MAH)),
        step("209", CDC, "320100", 4, ["D1", "D2", "D3", "D5"], **to(SITE)),
        step("107", SITE, "320106", 5, ["D1", "D2", "D3"], **to(CDC)),
        step("322", SITE, "320106", 6, ["D1"]),
        step("913", MAH, "320100", 10, [], mah_uscc=MAH, batch_nos=["L1"]),
        step("322", SITE, "320106", 11, ["D2"]),
        step("202", SITE, "320106", 12, ["D3"], **to(CDC)),
        step("202", CDC, "320100", 12, ["D4"], **to(MAH)),
        step("205", CDC, "320100", 13, ["D6"]),
        step("911", MAH, "320100", 14, ["D8"], mah_uscc=MAH),  # a lock moves nothing
    ]
    with write_tx(engine) as conn:
        for n, body in enumerate(bodies, start=1):
            steps.add_step(
                conn,
                event_id=f"00000000-0000-0000-0000-{n:012d}",
                reported_by="x",
                data_owner=body["org_uscc"],
                step=body,
            )


def new(no: str = "R1", divisions: tuple[str, ...] = ()) -> recalls.NewRecall:
    return recalls.NewRecall(
        recall_no=no,
        mah_uscc=MAH,
        division_code="320100",
        level=1,
        mock=False,
        initiator="mah",
        initiated_by=MAH,
        reason="sterility",
        started_at=START,
        batch_nos=("L1",),
        divisions=divisions,
    )


def states(engine: Engine, recall_id: int, prefix: str = "") -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        found = recalls.latest_steps(conn, recall_id, prefix)
    return {
        f"{p.step.bill_type}:{p.step.document_no}": (p.state.value, p.step.units)
        for p in (placed(s, MAH, START) for s in found)
    }


def test_every_unit_is_where_its_latest_movement_left_it(supervision_engine: Engine) -> None:
    chain(supervision_engine)
    with write_tx(supervision_engine) as conn:
        recall_id = recalls.open_recall(conn, new())
        assert recall_id is not None
        assert recalls.open_recall(conn, new()) is None  # started once
    assert states(supervision_engine, recall_id) == {
        "101:101-1-C1": ("at_mah", 1),  # D8: the lock after it is no movement
        "201:201-2-C1": ("in_transit", 1),  # D7 shipped, never received
        "209:209-4-D1": ("in_transit", 1),  # D5 supplied to the site, not received
        "322:322-6-D1": ("vaccinated", 1),  # before the recall
        "322:322-11-D2": ("used_during_recall", 1),
        "202:202-12-D3": ("in_stock", 1),  # back at the CDC
        "202:202-12-D4": ("returned", 1),  # back at the MAH
        "205:205-13-D6": ("destroyed", 1),
    }
    with supervision_engine.connect() as conn:
        done = completion(placed(s, MAH, START) for s in recalls.latest_steps(conn, recall_id))
        assert (done.total, done.accounted_for, done.rate) == (8, 4, 0.5)
        assert done.counts[UnitState.IN_TRANSIT] == 2
        # what happened to units after the recall started that took them further
        assert recalls.last_onward(conn, recall_id, START) == datetime(2026, 11, 11, tzinfo=UTC)
        assert recalls.last_onward(conn, recall_id, datetime(2026, 11, 12, tzinfo=UTC)) is None
        assert recalls.mah_divisions(conn, MAH, ["L1", "L9"]) == {"L1": "320100"}
        assert recalls.batches_of(conn, recall_id) == ["L1"]


def test_an_area_sees_the_units_last_seen_inside_it(supervision_engine: Engine) -> None:
    chain(supervision_engine)
    with write_tx(supervision_engine) as conn:
        recall_id = recalls.open_recall(conn, new())
        assert recall_id is not None
    assert set(states(supervision_engine, recall_id, "320106")) == {
        "322:322-6-D1",
        "322:322-11-D2",
        "202:202-12-D3",
    }
    with supervision_engine.connect() as conn:
        assert recalls.has_units_in(conn, recall_id, "320106")
        assert not recalls.has_units_in(conn, recall_id, "320111")
        assert [r["id"] for r in recalls.recalls_in(conn, "320106", before=None, limit=10)] == [
            recall_id
        ]
        assert recalls.recalls_in(conn, "320111", before=None, limit=10) == []
        assert recalls.recalls_in(conn, "", before=recall_id, limit=10) == []


def test_a_recall_limited_to_divisions_covers_the_units_that_went_there(
    supervision_engine: Engine,
) -> None:
    chain(supervision_engine)
    with write_tx(supervision_engine) as conn:
        recall_id = recalls.open_recall(conn, new("R2", divisions=("320106",)))
        assert recall_id is not None
    assert sum(n for _, n in states(supervision_engine, recall_id).values()) == 3  # D1–D3


def test_progress_and_closing_are_kept(supervision_engine: Engine) -> None:
    chain(supervision_engine)
    closed_at = datetime(2026, 11, 20, tzinfo=UTC)
    with write_tx(supervision_engine) as conn:
        recall_id = recalls.open_recall(conn, new())
        assert recall_id is not None
        done = completion(placed(s, MAH, START) for s in recalls.latest_steps(conn, recall_id))
        recalls.add_progress(conn, recall_id, START, done)
        recalls.close_recall(conn, recall_id, MAH, closed_at, {"summary": "s"})
    with supervision_engine.connect() as conn:
        (point,) = recalls.progress_of(conn, recall_id)
        assert (point["units"], point["accounted_for"]) == (8, 4)
        assert point["by_state"]["in_transit"] == 2
        kept = recalls.recall_by_id(conn, recall_id)
        assert (
            kept is not None and kept["state"] == "closed" and kept["summary"] == {"summary": "s"}
        )
        assert recalls.open_recalls(conn) == []
