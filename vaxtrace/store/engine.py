"""Engine factory: a SQLite file (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, create_engine, event
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

__all__ = [
    "Connection",
    "Engine",
    "IntegrityError",
    "RowMapping",
    "after_commit",
    "is_sqlite",
    "make_engine",
    "read_tx",
    "write_tx",
]
"""What a role's service names of the database: the connection and engine it passes to the
store's functions, a row, and the one error a write may meet (re-exported, so that nothing
under ``roles/`` imports SQLAlchemy itself)."""


SESSION_ENDED_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
"""PostgreSQL ended the session: an administrator, a shutdown, a crash restart."""


def connection_lost(exc: DBAPIError) -> bool:
    """Whether a database error is the connection lost (a restart, a failover, a cut
    session), not the statement's fault: the request may simply be tried again."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return exc.connection_invalidated or sqlstate in SESSION_ENDED_SQLSTATES or sqlstate[:2] == "08"


def make_engine(url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _sqlite_pragmas(engine, busy_timeout_ms)
        _WRITERS[engine] = threading.RLock()
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # No JIT: the roles' statements are short, but the planner's row estimates for recursive
    # walks over scratch tables run to millions, past jit_above_cost, and compiling then
    # takes 30-130 ms a statement (a shipping note's expansion: 0.4 ms of work, 76 ms of JIT).
    given = parsed.query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    parsed = parsed.update_query_dict({"options": f"{given} -c jit=off".strip()})
    # No server-side prepared statements (psycopg prepares a statement on its 5th run): the
    # plan of a prepared statement without parameters is never made again, so one planned
    # when a scratch table was large, or trace_code small, is kept when that no longer holds
    # (a shipping note's contents query: 0.4 ms planned afresh, 400 ms on the kept plan).
    return create_engine(parsed, pool_pre_ping=True, connect_args={"prepare_threshold": None})


def _sqlite_pragmas(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin() issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front, so two writers queue on busy_timeout instead of
        # failing at once when both try to upgrade a read lock.
        write = conn.get_execution_options().get("vaxtrace_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
"""SQLite allows one writer: the threads of a process queue for it here, in order, instead of
in SQLite's busy handler, which sleeps in growing steps and lets a busy server's writers
spend more time asleep than writing. Other processes still wait on busy_timeout."""


AFTER_COMMIT = "vaxtrace_after_commit"


def after_commit(conn: Connection, hook: Callable[[], None]) -> None:
    """Run ``hook`` once the write transaction of ``conn`` (a :func:`write_tx`) has committed;
    never if it rolls back."""
    conn.info.setdefault(AFTER_COMMIT, []).append(hook)


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back on any error; then
    the hooks registered with :func:`after_commit` run."""
    with (
        _WRITERS.get(engine) or nullcontext(),
        engine.connect().execution_options(vaxtrace_write=True) as conn,
    ):
        try:
            with conn.begin():
                yield conn
        finally:
            hooks = conn.info.pop(AFTER_COMMIT, [])  # the connection goes back to the pool
        if not conn.in_transaction():
            for hook in hooks:
                hook()


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """One read-only snapshot."""
    with engine.connect() as conn, conn.begin():
        yield conn


def is_sqlite(engine_or_conn: Any) -> bool:
    return bool(engine_or_conn.dialect.name == "sqlite")
