"""One row per code of each step, filled set-based with the step: the codes it lists and every
code inside them (as the node knows the packing); a code's chain is its own steps and its
batch's, in time order; the migration gives the steps kept before it their rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import Engine, func, select

from vaxtrace.store.engine import write_tx
from vaxtrace.store.migrate import alembic_config, upgrade
from vaxtrace.store.supervision import steps
from vaxtrace.store.supervision.schema import supervised_code_step

MAH = "91320100MA1X0000XX"
CDC = "12320100MB0X0000XX"
SITE = "12320106MB0X0000XX"
CASE, BOX, DOSES = "C1", "B1", ("D1", "D2")


def step(bill: str, org: str, division: str, day: int, codes: list[str], **more: Any) -> Any:
    return {
        "bill_type": bill,
        "org_uscc": org,
        "division_code": division,
        "document_no": f"{bill}-{day}",
        "business_time": datetime(2026, 11, day, tzinfo=UTC),
        "codes": codes,
        "mah_uscc": None,
        "batch_nos": [],
        "detail": None,
    } | more


def add(conn: Any, n: int, body: Any) -> None:
    steps.add_step(
        conn,
        event_id=f"00000000-0000-0000-0000-{n:012d}",
        reported_by="x",
        data_owner=body["org_uscc"],
        step=body,
    )


def test_a_step_on_a_container_is_a_step_on_everything_inside(supervision_engine: Engine) -> None:
    packing = {CASE: (BOX,), BOX: DOSES}
    batch = {"mah_uscc": MAH, "batch_nos": ["L1"]}
    with write_tx(supervision_engine) as conn:
        add(conn, 1, step("101", MAH, "320100", 1, [CASE, BOX, *DOSES], contents=packing, **batch))
        add(conn, 2, step("902", MAH, "320100", 2, [], **batch))
        add(conn, 3, step("201", MAH, "320100", 3, [CASE], contents=packing))
        add(conn, 4, step("107", CDC, "320100", 4, [CASE]))
        add(conn, 5, step("209", CDC, "320100", 5, [BOX]))
        add(conn, 6, step("322", SITE, "320106", 6, ["D1"]))
        add(conn, 7, step("322", SITE, "320106", 7, ["D1"]))  # used twice: both kept
    with supervision_engine.connect() as conn:
        chain = [r["bill_type"] for r in steps.chain_of(conn, "D1")]
        assert chain == ["101", "902", "201", "107", "209", "322", "322"]
        assert [r["bill_type"] for r in steps.chain_of(conn, "D2")] == chain[:5]
        assert [r["bill_type"] for r in steps.chain_of(conn, CASE)] == ["101", "902", "201", "107"]
        assert dict(steps.batch_of(conn, "D2") or {}) == {"mah_uscc": MAH, "batch_no": "L1"}
        assert steps.code_seen_in(conn, "D1", "320106") and not steps.code_seen_in(
            conn, "D2", "320106"
        )
        assert steps.code_seen_in(conn, "D2", "32") and steps.chain_of(conn, "nothing") == []
        per_step = select(supervised_code_step.c.step_id, func.count()).group_by(
            supervised_code_step.c.step_id
        )
        assert dict(conn.execute(per_step).all()) == {
            1: 4,
            3: 4,
            4: 4,
            5: 3,
            6: 1,
            7: 1,  # the lot release is on its batch, not codes
        }


def test_the_migration_gives_earlier_steps_their_code_rows(supervision_engine: Engine) -> None:
    config = alembic_config("supervision", supervision_engine)
    with supervision_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
        conn.exec_driver_sql(
            "INSERT INTO supervised_step (event_id, reported_by, data_owner, bill_type, "
            "org_uscc, division_code, document_no, business_time, codes, received_at) VALUES "
            "('00000000-0000-0000-0000-000000000001', 'x', 'S', '322', 'S', '320106', 'JZ1', "
            "'2026-11-06 00:00:00+00:00', '[\"D1\", \"D2\"]', '2026-11-06 00:00:00+00:00')"
        )
    upgrade(supervision_engine, "supervision")
    with supervision_engine.connect() as conn:
        rows = (
            conn.execute(select(supervised_code_step.c.code).order_by(supervised_code_step.c.code))
            .scalars()
            .all()
        )
        assert rows == ["D1", "D2"]
        assert [r["document_no"] for r in steps.chain_of(conn, "D2")] == ["JZ1"]
