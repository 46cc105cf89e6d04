"""The cold chain's SQL on SQLite and PostgreSQL: an excursion holds exactly the codes its unit
has in stock, the dose gate's lookup answers the worst state holding each code, times come back
as aware UTC, and records, readings and held codes are append-only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.exc import DBAPIError

from vaxtrace.core.coldchain.decisions import ExcursionState
from vaxtrace.core.coldchain.readings import Reading
from vaxtrace.core.times import as_utc
from vaxtrace.store.append_only import APPEND_ONLY_MESSAGE
from vaxtrace.store.immunization import coldchain as store
from vaxtrace.store.immunization.schema import (
    COLD_CHAIN_HISTORY,
    expected_receipt,
    receiving_note,
    stock,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 4, 3, 8, 0, tzinfo=CST)
CDC, SITE = "12320000MB0000001", "12320102MB0000007"


@pytest.fixture
def conn(immunization_engine: Engine) -> Iterator[Connection]:
    with immunization_engine.begin() as connection:
        _receipt(connection)
        yield connection


def _receipt(conn: Connection) -> None:
    conn.execute(
        insert(expected_receipt).values(
            event_id="e-1",
            shipper_uscc="91320100MA1X00001",
            note_no="FH1",
            consignee_uscc=CDC,
            doses=1,
            note={},
            announced_at=T0,
            sequence=1,
        )
    )
    conn.execute(
        insert(receiving_note).values(
            id=1,
            note_event_id="e-1",
            note_no="FH1",
            shipper_uscc="91320100MA1X00001",
            consignee_uscc=CDC,
            document_no="RCV1",
            client_document_id="rcv-1",
            verification="verified",
            expected_quantity=1,
            actual_quantity=1,
            business_time=T0,
            recorded_at=T0,
        )
    )


def put(
    conn: Connection,
    code: str,
    holder: str,
    state: str = "in_stock",
    parent: str | None = None,
    arrived: datetime | None = None,
) -> None:
    conn.execute(
        insert(stock).values(
            code=code,
            parent_code=parent,
            holder_uscc=holder,
            state=state,
            mah_uscc="91320100MA1X00001",
            receipt_id=1,
            updated_at=T0,
            stepped_at=None if arrived is None else arrived.astimezone(UTC),  # kept in UTC
        )
    )


def record(conn: Connection, record_id: int, unit: str = CDC) -> None:
    store.add_record(
        conn,
        {
            "id": record_id,
            "unit_uscc": unit,
            "client_document_id": f"t-{record_id}",
            "request_sha256": "0" * 64,
            "equipment_id": "FRIDGE-1",
            "kind": "storage",
            "rule_set": "freeze_sensitive_2_8@1",
            "source": "json",
            "first_time": T0,
            "last_time": T0 + timedelta(hours=2),
            "readings": 2,
            "min_celsius": -1.0,
            "max_celsius": 5.0,
            "tier": "severe",
            "response": {"record_id": record_id},
            "recorded_at": T0,
        },
    )


def excursion(
    conn: Connection, excursion_id: int, record_id: int, unit: str = CDC, **extra: Any
) -> int:
    return store.add_excursion(
        conn,
        {
            "id": excursion_id,
            "unit_uscc": unit,
            "equipment_id": "FRIDGE-1",
            "record_id": record_id,
            "rule_set": "freeze_sensitive_2_8@1",
            "rule_id": "freeze",
            "rule_kind": "continuous",
            "tier": "severe",
            "start_time": T0,
            "end_time": T0 + timedelta(minutes=70),
            "minutes": 70.0,
            "min_celsius": -1.0,
            "max_celsius": -1.0,
            "codes": 0,
            "state": "open",
            "recorded_at": T0,
        }
        | extra,
    )


def test_an_excursion_holds_exactly_what_its_unit_had_in_stock_by_its_end(
    conn: Connection,
) -> None:
    put(conn, "CASE1", CDC, arrived=T0 - timedelta(days=1))
    put(conn, "BOX1", CDC, parent="CASE1", arrived=T0 - timedelta(days=1))
    put(conn, "DOSE1", CDC, parent="BOX1")  # arrived before arrivals were kept
    put(conn, "DOSE2", CDC, state="used")
    put(conn, "DOSE3", SITE)
    put(conn, "LATER", CDC, arrived=T0 + timedelta(minutes=71))  # after the excursion ended
    put(conn, "INTRANSIT", CDC, state="in_transit", arrived=T0 - timedelta(hours=1))
    record(conn, 1)
    assert store.next_ids(conn) == (2, 1)
    end = T0 + timedelta(minutes=70)
    assert store.in_stock_count(conn, CDC, end) == 3
    assert store.in_stock_count(conn, CDC, end + timedelta(minutes=1)) == 4
    assert excursion(conn, 1, 1) == 3
    assert store.codes_held(conn, 1, 10) == ["BOX1", "CASE1", "DOSE1"]
    assert store.next_ids(conn) == (2, 2)
    assert store.excursion_state_of(conn, ["DOSE1", "DOSE2", "DOSE3", "NOPE"]) == {"DOSE1": "open"}


def test_the_gate_sees_the_worst_state_holding_a_code(conn: Connection) -> None:
    for code in ("A", "B", "C"):
        put(conn, code, CDC)
    record(conn, 1)
    excursion(conn, 1, 1)
    excursion(conn, 2, 1, rule_id="freeze_cumulative")
    excursion(conn, 3, 1, rule_id="heat")
    assert store.decide(conn, 1, state=ExcursionState.ABNORMAL, decided_by="王", reason="r", at=T0)
    assert store.decide(conn, 3, state=ExcursionState.USABLE, decided_by="王", reason="r", at=T0)
    assert not store.decide(
        conn, 3, state=ExcursionState.ABNORMAL, decided_by="李", reason="r", at=T0
    )
    assert store.excursion_state_of(conn, ["A", "B"]) == {"A": "abnormal", "B": "abnormal"}
    assert store.decide(conn, 2, state=ExcursionState.USABLE, decided_by="王", reason="r", at=T0)
    assert store.excursion_state_of(conn, ["A"]) == {"A": "abnormal"}
    row = store.excursion_row(conn, 3)
    assert row is not None and (row["state"], row["decided_by"]) == ("usable", "王")
    assert as_utc(row["decided_at"]) == T0


def test_the_gate_asks_about_many_codes_at_once(conn: Connection) -> None:
    codes = [f"D{n:05d}" for n in range(1_200)]
    conn.execute(
        insert(stock),
        [
            {
                "code": code,
                "holder_uscc": CDC,
                "state": "in_stock",
                "mah_uscc": "91320100MA1X00001",
                "receipt_id": 1,
                "updated_at": T0,
            }
            for code in codes
        ],
    )
    record(conn, 1)
    assert excursion(conn, 1, 1) == 1_200
    found = store.excursion_state_of(conn, [*codes, "OTHER"])
    assert len(found) == 1_200 and set(found.values()) == {"open"}


def test_times_come_back_in_utc_and_overlaps_are_found(conn: Connection) -> None:
    record(conn, 1)
    stored = store.add_readings(
        conn,
        unit_uscc=CDC,
        equipment_id="FRIDGE-1",
        record_id=1,
        readings=[Reading(T0, 4.0), Reading(T0 + timedelta(minutes=10), -1.0)],
    )
    assert stored == 2
    found = store.readings_between(
        conn, CDC, "FRIDGE-1", datetime(2024, 4, 3, 0, 0, tzinfo=UTC), T0
    )
    assert found == {datetime(2024, 4, 3, 0, 0, tzinfo=UTC): 4.0}
    assert all(t.tzinfo is not None for t in found)
    assert store.readings_between(conn, SITE, "FRIDGE-1", T0, T0) == {}
    excursion(conn, 1, 1)
    overlap = {"unit_uscc": CDC, "equipment_id": "FRIDGE-1", "rule_id": "freeze"}
    later = T0 + timedelta(minutes=70)
    assert (
        store.overlapping_excursion(conn, **overlap, start=later, end=later + timedelta(hours=1))
        == 1
    )
    after = later + timedelta(seconds=1)
    assert store.overlapping_excursion(conn, **overlap, start=after, end=after) is None
    other_rule = overlap | {"rule_id": "heat"}
    assert store.overlapping_excursion(conn, **other_rule, start=T0, end=later) is None


@pytest.mark.parametrize("table", COLD_CHAIN_HISTORY)
def test_cold_chain_history_refuses_rewrites(immunization_engine: Engine, table: str) -> None:
    with immunization_engine.begin() as conn:
        _receipt(conn)
        put(conn, "A", CDC)
        record(conn, 1)
        store.add_readings(
            conn, unit_uscc=CDC, equipment_id="F", record_id=1, readings=[Reading(T0, 4.0)]
        )
        excursion(conn, 1, 1)
    for statement in (f"UPDATE {table} SET record_id = record_id", f"DELETE FROM {table}"):
        if table == "excursion_code":
            statement = statement.replace("record_id", "excursion_id")
        elif table == "temperature_record":
            statement = statement.replace("record_id = record_id", "readings = 0")
        with pytest.raises(DBAPIError) as caught, immunization_engine.begin() as conn:
            conn.execute(text(statement))
        assert APPEND_ONLY_MESSAGE in str(caught.value)
