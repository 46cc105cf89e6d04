"""The engine factory: what every connection of a role's engine is set up with."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine.url import make_url

from vaxtrace.store.engine import after_commit, make_engine, read_tx, write_tx


def test_postgresql_connections_do_not_jit_nor_prepare_and_keep_the_urls_options(
    database_url: str,
) -> None:
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL setting")
    engine = make_engine(f"{database_url}?options=-c%20search_path%3Dpublic")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
            assert conn.exec_driver_sql("SHOW search_path").scalar_one() == "public"
            assert conn.connection.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_sqlite_writers_of_one_process_queue_for_the_lock(tmp_path: Path) -> None:
    """Eight threads writing at once never see 'database is locked', even with a busy timeout
    of 1 ms: they queue in the process, not in SQLite's sleeping busy handler."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}", busy_timeout_ms=1)
    with write_tx(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")

    def writes(worker: int) -> None:
        for n in range(20):
            with write_tx(engine) as conn:
                conn.exec_driver_sql(f"INSERT INTO t VALUES ({worker * 100 + n})")
                time.sleep(0.001)  # hold the lock a while, as a real write does

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writes, range(8)))
    with read_tx(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 160
    engine.dispose()


def test_after_commit_hooks_run_once_committed_never_on_rollback(database_url: str) -> None:
    engine = make_engine(database_url)
    ran: list[str] = []
    with write_tx(engine) as conn:
        after_commit(conn, lambda: ran.append("committed"))
        assert ran == []  # not before the commit
    assert ran == ["committed"]
    with pytest.raises(RuntimeError), write_tx(engine) as conn:
        after_commit(conn, lambda: ran.append("rolled back"))
        raise RuntimeError("refused")
    with write_tx(engine) as conn:  # the pooled connection keeps no hook of the rolled back
        pass
    assert ran == ["committed"]
    engine.dispose()
