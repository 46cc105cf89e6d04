"""The province's tables against its journal where a later entry changes a row: an excursion
decided, an alert acknowledged, an expiry run's batches; moments kept in another time zone
compare as the same instant (both backends)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, update

from tests.store import test_immunization_coldchain as coldchain_rows
from vaxtrace.core.coldchain.decisions import ExcursionState
from vaxtrace.log.mirrors import snapshot
from vaxtrace.roles.immunization.service import disposal
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.immunization import alerts, coldchain, expiry
from vaxtrace.store.immunization.schema import (
    EXPIRY_HISTORY,
    excursion,
    expired_batch,
    refusal_alert,
)
from vaxtrace.store.mirrors import WRITE_OPERATIONS, first_difference_in
from vaxtrace.store.platform.registry import record_change
from vaxtrace.store.platform.schema import registry_change

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 4, 3, 8, 0, tzinfo=CST)
CDC = "12320000MB0000001"
MAH = "91320100MA1X00001"


@pytest.fixture
def conn(immunization_engine: Engine) -> Iterator[Connection]:
    with immunization_engine.begin() as connection:
        yield connection


def _named(conn: Connection) -> str | None:
    found = first_difference_in(conn, "immunization")
    if found is None:
        return None
    mirror, difference = found
    return f"{mirror.table.name}: {difference.describe()}"


def _excursion(conn: Connection) -> None:
    """A fridge record and the open excursion it raised (as the cold-chain store's tests
    keep them)."""
    coldchain_rows.record(conn, 1, CDC)
    coldchain_rows.excursion(conn, 1, 1, CDC)


def test_an_excursion_is_compared_in_the_state_its_decision_left_it(conn: Connection) -> None:
    _excursion(conn)
    assert _named(conn) is None
    decided = coldchain.decide(
        conn, 1, state=ExcursionState.ABNORMAL, decided_by="王", reason="冻结", at=T0
    )
    assert decided and _named(conn) is None
    conn.execute(update(excursion).values(state="usable"))
    found = _named(conn)
    assert found is not None and found.startswith("excursion: row (id=1) differs from entry")
    assert 'in state: the table says "usable", the log "abnormal": altered' in found
    conn.execute(update(excursion).values(state="abnormal", decided_at=T0 + timedelta(hours=1)))
    found = _named(conn)
    assert found is not None and "in decided_at:" in found


def test_an_undecided_excursion_set_decided_is_named(conn: Connection) -> None:
    _excursion(conn)
    conn.execute(update(excursion).values(state="usable", decided_by="李"))
    found = _named(conn)
    assert found is not None and 'in state: the table says "usable", the log "open"' in found


def _notice() -> dict[str, object]:
    return {
        "org_uscc": CDC,
        "refused_event_id": "727251d0-0d91-4cf2-90d3-df998cd5920e",
        "origin_event_id": "ea5eeeb0-dec5-4bfe-8480-30f458a9ab2d",
        "receiver_system_id": "local-trace",
        "reason": "locked",
        "bill_type": "322",
        "document_no": "DEMO-REFUSED",
        "codes": ["80000090000004029559"],
    }


def test_an_alert_is_compared_with_its_first_acknowledgement(conn: Connection) -> None:
    alert_id = alerts.raise_alert(conn, _notice(), T0)
    assert _named(conn) is None
    at = (T0 + timedelta(hours=1)).astimezone(UTC)  # as the service acknowledges (SQLite keeps
    # a time's wall clock only: the store assumes UTC there)
    alerts.acknowledge(conn, alert_id, at, "seen")
    alerts.acknowledge(conn, alert_id, at + timedelta(hours=1), "again")  # changes nothing
    assert _named(conn) is None
    conn.execute(update(refusal_alert).values(acknowledged_at=None, acknowledgement=None))
    found = _named(conn)
    assert found is not None and found.startswith("refusal_alert: row (id=1) differs")
    assert "in acknowledged_at: the table says null, the log" in found


def test_an_alert_moved_to_another_unit_is_named(conn: Connection) -> None:
    alerts.raise_alert(conn, _notice(), T0)
    conn.execute(update(refusal_alert).values(org_uscc="12320102MB0000007"))
    found = _named(conn)
    assert found is not None and 'in org_uscc: the table says "12320102MB0000007"' in found


def test_an_expiry_runs_batches_mirror_its_entry(conn: Connection) -> None:
    batch = {
        "mah_uscc": MAH,
        "batch_no": "2024010001",
        "product_code": "P1",
        "expiry_date": date(2024, 4, 2),
        "doses": 12,
        "units": 3,
    }
    expiry.record_expiry_run(
        conn, run_on=date(2024, 4, 3), source="nightly", batches=[batch], now=T0
    )
    assert _named(conn) is None
    drop_append_only(conn, EXPIRY_HISTORY)
    conn.execute(update(expired_batch).values(doses=2))
    found = _named(conn)
    assert found is not None and found.startswith("expired_batch: row (mah_uscc=")
    assert "in doses: the table says 2, the log 12: altered" in found


def test_a_decision_committed_while_verify_reads_is_not_named(platform_engine: Engine) -> None:
    """The tables and the journal are read in one snapshot: what commits in between (its row
    and its entry together) is seen in neither."""
    if platform_engine.dialect.name != "postgresql":
        pytest.skip("SQLite's read transaction is a snapshot already")
    with platform_engine.connect() as conn, conn.begin(), snapshot(conn) as seen:
        seen.execute(select(registry_change.c.version)).all()  # the snapshot is taken
        with platform_engine.begin() as writer:
            record_change(writer, "organisation", "91110000MA0000001X", {"name": "later"})
        assert first_difference_in(seen, "platform") is None
        assert seen.execute(select(registry_change.c.version)).all() == []
    with platform_engine.connect() as conn:
        assert first_difference_in(conn, "platform") is None


def test_every_province_write_operation_is_mirrored() -> None:
    """Each operation a service writes in the write frame is a kind the province_write mirror
    reads (a new operation left out would name its rows as inserted outside the log)."""
    services = Path(disposal.__file__).parent
    passed = {
        found
        for source in services.glob("*.py")
        for found in re.findall(
            r'province_write\(\s*engine, outbox, actor, "(\w+)"', source.read_text()
        )
    }
    assert passed and passed | set(disposal.OPERATIONS.values()) == set(WRITE_OPERATIONS)
