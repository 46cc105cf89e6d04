"""The alerts' SQL on both backends: raised set-based, a key raised once whatever the repeats;
climbed only while open at the tier it was read at; notices queued once per alert, tier and
contact, claimed by one run at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.supervision import alerts
from vaxtrace.store.supervision.schema import alert, alert_event, alert_notice

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def _row(n: int, division: str = "320106", severity: str = "severe") -> dict[str, Any]:
    return {
        "rule": "chain_incomplete",
        "severity": severity,
        "subject_kind": "code",
        "subject": f"8000001000000{n:04d}",
        "owing_uscc": "12320106MB0X00007",
        "division_code": division,
        "occurred_at": T0,
        "detail": {"missing": "107"},
    }


def _count(engine: Engine, table: Any) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_key_is_raised_once(supervision_engine: Engine) -> None:
    with write_tx(supervision_engine) as conn:
        first = alerts.raise_alerts(conn, [_row(1), _row(2)], T0)
    with write_tx(supervision_engine) as conn:
        again = alerts.raise_alerts(conn, [_row(2), _row(3)], T0 + timedelta(hours=1))
    assert len(first) == 2 and len(again) == 1 and again[0] not in first
    assert _count(supervision_engine, alert) == 3
    with read_tx(supervision_engine) as conn:
        row = alerts.find(conn, first[0])
        assert row is not None
        assert (row["state"], row["tier_division"]) == ("open", "320106")
        assert row["detail"] == {"missing": "107"}
        assert [e["kind"] for e in alerts.history(conn, first[0])] == ["opened"]


def test_only_open_alerts_waiting_long_enough_climb(supervision_engine: Engine) -> None:
    with write_tx(supervision_engine) as conn:
        severe, warning, handled, national = alerts.raise_alerts(
            conn,
            [_row(1), _row(2, severity="warning"), _row(3), _row(4, division="000000")],
            T0,
        )
        alerts.acknowledge(conn, handled, "11320106MB0X00004", T0, None)
    now = T0 + timedelta(hours=5)
    cutoffs = {"severe": now - timedelta(hours=4), "warning": now - timedelta(hours=24)}
    with read_tx(supervision_engine) as conn:
        due = alerts.waiting(conn, cutoffs, 100)
    assert [r["id"] for r in due] == [severe]
    with write_tx(supervision_engine) as conn:
        moved = alerts.climb(conn, {severe: ("320106", "320100")}, now, "not handled in time")
        # a second run that read the same row before the first moved it moves nothing
        stale = alerts.climb(conn, {severe: ("320106", "320100")}, now, "not handled in time")
    assert moved == [severe] and stale == []
    with read_tx(supervision_engine) as conn:
        row = alerts.find(conn, severe)
        assert row is not None and row["tier_division"] == "320100"
        assert alerts.waiting(conn, cutoffs, 100) == []  # it waits from its climb on
        later = {"severe": now}  # 4 h after its climb
        assert [r["id"] for r in alerts.waiting(conn, later, 100)] == [severe]
        kinds = [(e["kind"], e["tier_division"]) for e in alerts.history(conn, severe)]
        assert kinds == [("opened", "320106"), ("escalated", "320100")]
    assert warning and national


def test_notices_are_queued_once_per_tier_and_contact(supervision_engine: Engine) -> None:
    with write_tx(supervision_engine) as conn:
        alerts.replace_contacts(
            conn,
            "320106",
            [
                {"name": "甲", "address": "a@county.example", "channel": "smtp"},
                {"name": "乙", "address": "b@county.example", "channel": "smtp"},
            ],
            T0,
        )
        alerts.replace_contacts(
            conn, "320100", [{"name": "丙", "address": "c@city.example", "channel": "smtp"}], T0
        )
        ids = alerts.raise_alerts(conn, [_row(1), _row(2, division="320111")], T0)
        alerts.queue_notices(conn, ids, T0)
        alerts.queue_notices(conn, ids, T0)  # again: nothing more
    assert _count(supervision_engine, alert_notice) == 2  # the neighbour county has nobody
    with write_tx(supervision_engine) as conn:
        alerts.climb(conn, {ids[0]: ("320106", "320100")}, T0, "late")
        alerts.queue_notices(conn, [ids[0]], T0)
        counts = alerts.contact_counts(conn, ["320106", "320100", "320111"])
    assert counts == {"320106": 2, "320100": 1, "320111": 0}
    with read_tx(supervision_engine) as conn:
        queued = [(n["tier_division"], n["address"]) for n in alerts.notices_of(conn, ids[0])]
    assert queued == [
        ("320106", "a@county.example"),
        ("320106", "b@county.example"),
        ("320100", "c@city.example"),
    ]


def test_a_notice_is_claimed_by_one_run_and_retried_after_a_failure(
    supervision_engine: Engine,
) -> None:
    with write_tx(supervision_engine) as conn:
        alerts.replace_contacts(
            conn, "320106", [{"name": "甲", "address": "a@c.example", "channel": "smtp"}], T0
        )
        ids = alerts.raise_alerts(conn, [_row(1)], T0)
        alerts.queue_notices(conn, ids, T0)
    with read_tx(supervision_engine) as conn:
        (due,) = alerts.due_notices(conn, ["smtp"], T0, LEASE, 3, 10)
        assert alerts.due_notices(conn, ["webhook"], T0, LEASE, 3, 10) == []
        assert alerts.waiting_notices(conn, ["webhook"]) == 1
        assert alerts.waiting_notices(conn, ["smtp", "webhook"]) == 0
    assert due["contact_name"] == "甲" and due["subject"] == _row(1)["subject"]
    notice = int(due["id"])
    with write_tx(supervision_engine) as conn:
        assert alerts.claim_notice(conn, notice, T0, LEASE, 3)
        assert not alerts.claim_notice(conn, notice, T0, LEASE, 3)  # another run
        alerts.mark_notice(conn, notice, alerts.FAILED, T0, "smtp down")
    with write_tx(supervision_engine) as conn:
        assert alerts.claim_notice(conn, notice, T0, LEASE, 3)  # retried
    # a run that stopped after its claim: taken over once the lease has passed
    with write_tx(supervision_engine) as conn:
        assert not alerts.claim_notice(conn, notice, T0 + LEASE / 2, LEASE, 3)
        assert alerts.claim_notice(conn, notice, T0 + 2 * LEASE, LEASE, 3)
        alerts.mark_notice(conn, notice, alerts.SENT, T0 + 2 * LEASE)
    with read_tx(supervision_engine) as conn:
        assert alerts.due_notices(conn, ["smtp"], T0 + timedelta(days=1), LEASE, 3, 10) == []
        (row,) = alerts.notices_of(conn, ids[0])
    assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    assert _count(supervision_engine, alert_event) == 1


def test_alerts_in_an_area_by_where_they_happened_or_are_handled(
    supervision_engine: Engine,
) -> None:
    with write_tx(supervision_engine) as conn:
        here, there, far = alerts.raise_alerts(
            conn, [_row(1), _row(2, division="320111"), _row(3, division="330100")], T0
        )
        alerts.resolve(conn, there, "11320111MB0X00005", T0, "fixed")

    def ids(prefix: str, **filters: Any) -> list[int]:
        given: dict[str, Any] = {
            "state": None,
            "rule": None,
            "severity": None,
            "tier_division": None,
            "before": None,
            "limit": 10,
        } | filters
        with read_tx(supervision_engine) as conn:
            return [int(r["id"]) for r in alerts.in_area(conn, prefix, **given)]

    assert ids("320106") == [here]
    assert ids("3201") == [there, here]
    assert ids("") == [far, there, here]
    assert ids("32", state="resolved") == [there]
    assert ids("32", before=there) == [here]
    assert ids("32", tier_division="320106") == [here]
    assert ids("32", rule="other") == []
