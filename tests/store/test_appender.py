"""Rows appended in batches (on SQLite and PostgreSQL): nothing appended is lost, whether the
background thread, a flush or the close writes it, and a flush the database refuses keeps its
rows for the next one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from vaxtrace.store.appender import Appender
from vaxtrace.store.immunization.schema import expected_receipt, receipt_scan

AT = datetime(2026, 1, 1, tzinfo=UTC)


def scan(code: str, note_event_id: str | None = None) -> dict[str, Any]:
    return {
        "note_event_id": note_event_id,
        "note_no": "FH1",
        "code": code,
        "result": "repeat",
        "reason": "already_scanned",
        "operator_uscc": "u",
        "scanned_at": AT,
    }


def written(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(receipt_scan.c.code).order_by(receipt_scan.c.id)).scalars())


@pytest.fixture
def appender(immunization_engine: Engine) -> Iterator[Appender]:
    made = Appender(immunization_engine, receipt_scan, interval=3600)  # flushed by hand
    yield made
    made.close()


def test_rows_wait_for_a_flush_then_land_in_order(appender: Appender) -> None:
    for n in range(5):
        appender.append(scan(f"c{n}"))
    assert (appender.pending, written(appender.engine)) == (5, [])
    assert appender.flush() == 5
    assert written(appender.engine) == [f"c{n}" for n in range(5)]
    assert appender.flush() == 0


def test_the_background_thread_writes_every_interval(immunization_engine: Engine) -> None:
    appender = Appender(immunization_engine, receipt_scan, interval=0.02)
    appender.append(scan("c1"))
    deadline = time.monotonic() + 10
    while written(immunization_engine) != ["c1"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    appender.close()


def test_a_refused_flush_keeps_its_rows_for_the_next(appender: Appender) -> None:
    appender.append(scan("c1", note_event_id="e-1"))  # no such note yet: a foreign key refuses
    appender.append(scan("c2"))
    with pytest.raises(IntegrityError):
        appender.flush()
    assert (appender.pending, written(appender.engine)) == (2, [])
    appender.append(scan("c3"))
    with appender.engine.begin() as conn:
        conn.execute(
            expected_receipt.insert().values(
                event_id="e-1",
                mah_uscc="m",
                note_no="FH1",
                consignee_uscc="c",
                doses=1,
                note={},
                announced_at=AT,
                sequence=1,
            )
        )
    assert appender.flush() == 3
    assert written(appender.engine) == ["c1", "c2", "c3"]


def test_closing_writes_what_is_pending_and_later_rows_at_once(appender: Appender) -> None:
    appender.append(scan("c1"))
    appender.close()
    assert written(appender.engine) == ["c1"]
    appender.append(scan("c2"))
    assert written(appender.engine) == ["c1", "c2"]
