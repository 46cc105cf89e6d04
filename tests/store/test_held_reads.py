"""Held reads: each statement reads what is committed now, through a connection the thread
keeps, replaced when the database drops it; on both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from vaxtrace.store.engine import make_engine, write_tx
from vaxtrace.store.held_reads import HeldReads

BY_ID = text("SELECT id, label FROM held_probe WHERE id = :id")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with write_tx(engine) as conn:
        conn.execute(text("CREATE TABLE held_probe (id INTEGER PRIMARY KEY, label TEXT)"))
    yield engine
    engine.dispose()


def _put(engine: Engine, id_: int, label: str) -> None:
    with write_tx(engine) as conn:
        conn.execute(
            text("INSERT INTO held_probe VALUES (:id, :label)"), {"id": id_, "label": label}
        )


def test_each_read_sees_what_is_committed_now(engine: Engine) -> None:
    reads = HeldReads(engine)
    assert reads.first(BY_ID, id=1) is None
    _put(engine, 1, "first")  # committed after the held connection read
    assert reads.first(BY_ID, id=1) == {"id": 1, "label": "first"}
    with write_tx(engine) as conn:
        conn.execute(text("UPDATE held_probe SET label = 'changed' WHERE id = 1"))
    assert reads.first(BY_ID, id=1) == {"id": 1, "label": "changed"}
    reads.close()


def test_the_held_connection_holds_no_transaction(engine: Engine) -> None:
    """A write that takes every lock it can still goes through while a connection is held
    (a held read left in a transaction would keep a snapshot, and on PostgreSQL block DDL)."""
    reads = HeldReads(engine)
    _put(engine, 1, "x")
    assert reads.first(BY_ID, id=1) is not None
    with write_tx(engine) as conn:
        conn.execute(text("ALTER TABLE held_probe ADD COLUMN note TEXT"))
    assert reads.first(text("SELECT note FROM held_probe WHERE id = :id"), id=1) == {"note": None}
    reads.close()


def test_each_thread_keeps_its_own_connection_and_close_closes_them(engine: Engine) -> None:
    reads = HeldReads(engine)
    _put(engine, 1, "x")
    answers: list[object] = []
    threads = [
        threading.Thread(target=lambda: answers.append(reads.first(BY_ID, id=1))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [{"id": 1, "label": "x"}] * 3
    assert len(reads._held) == 3
    reads.close()
    assert reads._held == []
    assert reads.first(BY_ID, id=1) == {"id": 1, "label": "x"}  # a new one after close
    reads.close()


def test_a_connection_the_database_dropped_is_replaced(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only a server drops a client's connection")
    reads = HeldReads(engine)
    _put(engine, 1, "x")
    pid = reads.first(text("SELECT pg_backend_pid() AS pid"))
    assert pid is not None
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), pid)
    assert reads.first(BY_ID, id=1) == {"id": 1, "label": "x"}
    assert reads.first(text("SELECT pg_backend_pid() AS pid")) != pid
    reads.close()


def test_an_in_memory_database_is_read_through_the_pool() -> None:
    """Its data lives in the pooled connection: a detached one would take it away."""
    engine = make_engine("sqlite://")
    with write_tx(engine) as conn:
        conn.execute(text("CREATE TABLE held_probe (id INTEGER PRIMARY KEY, label TEXT)"))
    _put(engine, 1, "x")
    reads = HeldReads(engine)
    for _ in range(2):
        assert reads.first(BY_ID, id=1) == {"id": 1, "label": "x"}
    assert reads._held == []
    reads.close()
    engine.dispose()
