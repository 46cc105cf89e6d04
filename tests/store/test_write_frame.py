"""A write applied once per client document id, whatever its concurrent twins do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from tests.refusals import refused_with
from vaxtrace.core.errors import DomainError
from vaxtrace.store.engine import make_engine
from vaxtrace.store.write_frame import apply_once, check_replay


def _clash(_conn: Connection) -> str:
    raise IntegrityError("INSERT", {}, Exception("unique"))


def _refused(_conn: Connection) -> str:
    raise DomainError("not_held", "held elsewhere")


def test_the_twin_that_lost_answers_as_a_retry(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    assert apply_once(engine, lambda _conn: "first", lambda: None) == "first"
    assert apply_once(engine, _clash, lambda: "winner's answer") == "winner's answer"
    assert apply_once(engine, _refused, lambda: "winner's answer") == "winner's answer"
    with pytest.raises(DomainError) as refused:
        apply_once(engine, _refused, lambda: None)
    assert refused.value.reason == "not_held"  # a real refusal stays one
    with refused_with(409) as clashed:
        apply_once(engine, _clash, lambda: None)
    assert clashed.value.reason == "write_conflict"
    engine.dispose()


def test_a_retry_must_be_the_same_request() -> None:
    prior = {"operation": "ship", "request_sha256": "abc"}
    check_replay(prior, "ship", "abc")
    for operation, sha in (("ship", "abd"), ("warehouse", "abc")):
        with refused_with(409) as reused:
            check_replay(prior, operation, sha)
        assert reused.value.reason == "client_document_id_reused"


def test_a_deadlock_victim_runs_again(database_url: str) -> None:
    """Two writes that lock two rows in opposite orders deadlock on PostgreSQL; the victim is
    rolled back and runs again, so both writes land (SQLite has one writer: no deadlock)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: no deadlock to survive")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
    meet = threading.Barrier(2)
    attempts: list[int] = []

    def write(first: int, second: int) -> Callable[[Connection], int]:
        def attempt(conn: Connection) -> int:
            attempts.append(first)
            conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": first})
            if len(attempts) <= 2:  # the first two attempts meet, each holding one row
                meet.wait(timeout=10)
            conn.execute(text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": second})
            return first

        return attempt

    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda a=a, b=b: answers.append(apply_once(engine, write(a, b), lambda: None))
        )
        for a, b in ((1, 2), (2, 1))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answers) == [1, 2]
    assert len(attempts) == 3  # one of them ran again
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM pair ORDER BY id")).scalars().all() == [2, 2]
    engine.dispose()
