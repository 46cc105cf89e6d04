"""Writes in batches (on SQLite and PostgreSQL): nothing appended is lost, whether the
background thread, a flush or the close writes it, and a flush the database refuses keeps its
rows for the next one; a group commit answers each caller once its item is committed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from vaxtrace.core.times import as_utc
from vaxtrace.store.batched import SQLITE_VARIABLES, Appender, GroupCommit, insert_rows
from vaxtrace.store.engine import write_tx
from vaxtrace.store.immunization.schema import dose_check, expected_receipt, receipt_scan

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
                shipper_uscc="m",
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


def test_group_commit_answers_each_caller_once_committed(immunization_engine: Engine) -> None:
    """What is submitted while a transaction runs shares the next; an item the database
    refuses fails its own caller only."""
    entered, gate, batches = threading.Event(), threading.Event(), []

    def apply(conn: Connection, codes: Sequence[str]) -> list[str]:
        entered.set()
        gate.wait(10)
        batches.append(list(codes))
        rows = [scan(c, note_event_id="e-none" if c == "bad" else None) for c in codes]
        conn.execute(receipt_scan.insert(), rows)
        return [f"kept {c}" for c in codes]

    commit: GroupCommit[str, str] = GroupCommit(immunization_engine, apply, "test")

    def submit(code: str) -> str:
        try:
            return commit.submit(code)
        except IntegrityError:
            return f"refused {code}"

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(submit, "c0")
        assert entered.wait(10)  # c0 is taken, and waits at the gate
        rest = [pool.submit(submit, c) for c in ("c1", "bad", "c2")]
        deadline = time.monotonic() + 10
        while commit.pending < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        gate.set()
        answers = [first.result(), *(f.result() for f in rest)]
    assert answers == ["kept c0", "kept c1", "refused bad", "kept c2"]
    assert batches == [["c0"], ["c1", "bad", "c2"], ["c1"], ["bad"], ["c2"]]
    assert written(immunization_engine) == ["c0", "c1", "c2"]
    commit.close()
    assert commit.submit("c3") == "kept c3"  # once closed, in the caller's thread
    assert written(immunization_engine) == ["c0", "c1", "c2", "c3"]


def test_a_group_commit_is_awaited_on_an_event_loop(immunization_engine: Engine) -> None:
    """:meth:`GroupCommit.later` hands back a future the caller's event loop awaits: the
    loop goes on serving while the batch commits, and the item is written when it is done."""
    gate = threading.Event()

    def apply(conn: Connection, codes: Sequence[str]) -> list[str]:
        gate.wait(10)
        conn.execute(receipt_scan.insert(), [scan(c) for c in codes])
        return [f"kept {c}" for c in codes]

    commit: GroupCommit[str, str] = GroupCommit(immunization_engine, apply, "test")

    async def scan_while_serving() -> tuple[list[str], list[str]]:
        kept = [asyncio.wrap_future(commit.later(c)) for c in ("c0", "c1")]
        served = []
        for tick in range(3):  # the loop is free while the commit waits at the gate
            await asyncio.sleep(0)
            served.append(f"tick {tick}")
        gate.set()
        return served, list(await asyncio.gather(*kept))

    served, answers = asyncio.run(scan_while_serving())
    assert served == ["tick 0", "tick 1", "tick 2"]
    assert answers == ["kept c0", "kept c1"]
    assert written(immunization_engine) == ["c0", "c1"]
    commit.close()
    done = commit.later("c2")  # once closed, written in the caller's thread: done at once
    assert done.done() and done.result() == "kept c2"


def test_rows_are_stored_as_sqlalchemy_stores_them(immunization_engine: Engine) -> None:
    """Many rows a statement (more than one statement's worth), each value stored as a plain
    insert stores it: times, JSON, truth values, read back through the driver too."""
    rows = [
        {
            "org_uscc": "u",
            "code": f"c{i}",
            "purpose": "check",
            "allowed": i % 2 == 0,
            "reasons": [] if i % 2 == 0 else ["locked", "expired"],
            "checked_at": AT + timedelta(microseconds=i),
        }
        for i in range(2 * SQLITE_VARIABLES // 6 + 5)
    ]
    with write_tx(immunization_engine) as conn:
        insert_rows(conn, dose_check, rows)
        conn.execute(dose_check.insert(), [r | {"purpose": "plain"} for r in rows])
    columns = [c for c in dose_check.c if c.name not in ("id", "purpose")]
    names = ", ".join(c.name for c in columns)
    with immunization_engine.connect() as conn:
        read = [
            list(conn.execute(select(*columns).where(dose_check.c.purpose == p).order_by("id")))
            for p in ("check", "plain")
        ]
        stored = [
            list(
                conn.exec_driver_sql(
                    f"SELECT {names} FROM dose_check WHERE purpose = '{p}' ORDER BY id"
                )
            )
            for p in ("check", "plain")
        ]
    assert read[0] == read[1] and stored[0] == stored[1]
    assert [(r.code, r.allowed, r.reasons, as_utc(r.checked_at)) for r in read[0]] == [
        (r["code"], r["allowed"], r["reasons"], r["checked_at"]) for r in rows
    ]
