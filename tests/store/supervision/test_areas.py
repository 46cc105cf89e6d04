"""What was kept inside a regulator's division: by area prefix, newest first, below a cursor,
of one bill type when asked."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from vaxtrace.store.engine import Connection, read_tx, write_tx
from vaxtrace.store.supervision import findings, steps

WHEN = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _step(conn: Connection, n: int, division: str, bill_type: str) -> None:
    steps.add_step(
        conn,
        event_id=f"e{n}",
        reported_by="province-32",
        data_owner="91320100MA1X00001",
        step={
            "bill_type": bill_type,
            "org_uscc": "91320100MA1X00001",
            "division_code": division,
            "document_no": f"D{n}",
            "business_time": WHEN,
            "codes": [f"code{n}"],
        },
    )


def test_steps_in_an_area_newest_first_below_a_cursor(supervision_engine: Engine) -> None:
    with write_tx(supervision_engine) as conn:
        for n, (division, bill) in enumerate(
            [("320106", "322"), ("320106", "209"), ("330100", "322"), ("320200", "322")], 1
        ):
            _step(conn, n, division, bill)
    with read_tx(supervision_engine) as conn:
        ids = [
            r["event_id"] for r in steps.steps_in(conn, "32", bill_type=None, before=None, limit=10)
        ]
        assert ids == ["e4", "e2", "e1"]
        only = steps.steps_in(conn, "3201", bill_type="322", before=None, limit=10)
        assert [r["event_id"] for r in only] == ["e1"]
        newest = steps.steps_in(conn, "32", bill_type=None, before=None, limit=1)
        older = steps.steps_in(conn, "32", bill_type=None, before=newest[0]["id"], limit=10)
        assert [r["event_id"] for r in older] == ["e2", "e1"]


def test_findings_in_an_area(supervision_engine: Engine) -> None:
    with write_tx(supervision_engine) as conn:
        for n, division in enumerate(["320106", "330100"], 1):
            kept = findings.Finding(
                kind="exchange_refusal",
                org_uscc="12320106MB0000001",
                division_code=division,
                reason="unknown_code",
                bill_type="322",
                document_no=f"D{n}",
                detail={"codes": ["c"]},
                found_at=WHEN,
            )
            findings.add_finding(conn, f"f{n}", kept)
    with read_tx(supervision_engine) as conn:
        found = findings.findings_in(conn, "32", before=None, limit=10)
    assert [(r["event_id"], r["detail"]) for r in found] == [("f1", {"codes": ["c"]})]
