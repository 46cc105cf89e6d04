"""Writes done in batches by one thread, so that requests do not each queue for the database's
single writer (SQLite) and the writes of many requests share one transaction.

- :class:`Appender`: history that must be kept but that nobody waits for (the audit of a
  repeated or rejected scan), written every few tens of milliseconds. What a clean shutdown
  leaves is always written (:meth:`Appender.close`, also at interpreter exit); what a crash
  leaves is lost: at most the rows of the last ``interval``, or of as long as the database
  refused writes.
- :class:`GroupCommit`: writes a caller waits for (an accepted scan): committed before
  :meth:`GroupCommit.submit` returns (or the future of :meth:`GroupCommit.later` is done),
  together with whatever other callers submitted meanwhile (group commit).
  Nothing is lost that was answered.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, Table, insert

from vaxtrace.store.engine import write_tx

logger = logging.getLogger("vaxtrace")


class Appender:
    """Rows for ``table``, kept in memory until the next flush; thread-safe.

    A background thread (started at the first row) flushes every ``interval`` seconds;
    :meth:`flush` writes what is pending at once, :meth:`close` stops the thread and flushes.
    A flush that fails keeps its rows for the next one. Once closed, a row is written as it
    is appended.
    """

    def __init__(
        self,
        engine: Engine,
        table: Table,
        interval: float = 0.05,
        *,
        write: Callable[[Connection, Sequence[dict[str, Any]]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.write = write or (lambda conn, rows: insert_rows(conn, table, rows))
        """How a flush writes its rows, in its transaction (by default, inserted as they are)."""
        self.interval = interval
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # guards _pending and _thread
        self._flushing = threading.Lock()  # one flush at a time: rows land in order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        atexit.register(_close_at_exit, weakref.ref(self))

    def append(self, row: dict[str, Any]) -> None:
        """Keep ``row`` for the next flush (once closed: write it now)."""
        with self._lock:
            self._pending.append(row)
            closed = self._closed
            if not closed and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"append-{self.table.name}", daemon=True
                )
                self._thread.start()
        if closed:
            self.flush()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write every row appended so far, in one transaction; how many."""
        with self._flushing:
            with self._lock:
                rows, self._pending = self._pending, []
            if not rows:
                return 0
            try:
                with write_tx(self.engine) as conn:
                    self.write(conn, rows)
            except BaseException:
                with self._lock:  # keep them, in order, for the next flush
                    self._pending[:0] = rows
                raise
            return len(rows)

    def close(self) -> None:
        """Stop the background thread and write what is pending."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._stop.set()
        if thread is not None:
            thread.join()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # a locked or unreachable database: the rows wait for the next round
                logger.exception("appending to %s failed; will retry", self.table.name)


SQLITE_VARIABLES = 999
"""Parameters a SQLite statement may take in every build (newer ones take far more)."""


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` (all with the same keys) into ``table``, as SQLAlchemy stores their values.

    On SQLite many rows a statement: ``executemany`` steps each row with the GIL let go and
    taken back, so a busy event loop in the same process yields to this thread once a row
    (measured: a dose-check's audit row cost the loop ~20 µs at 5,000 checks a second).
    """
    if conn.dialect.name != "sqlite" or not rows:
        conn.execute(insert(table), list(rows))
        return
    names = [table.c[name].name for name in rows[0]]
    processors = [
        table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for name in names
    ]
    marks = "(" + ", ".join(["?"] * len(names)) + ")"
    per_statement = max(1, SQLITE_VARIABLES // len(names))
    for start in range(0, len(rows), per_statement):
        page = rows[start : start + per_statement]
        values = [
            value if process is None else process(value)
            for row in page
            for process, value in zip(processors, (row[n] for n in names), strict=True)
        ]
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
            + ", ".join([marks] * len(page)),
            tuple(values),
        )


def _close_at_exit(ref: weakref.ref[Appender]) -> None:
    appender = ref()
    if appender is not None and not appender._closed:
        appender.close()


Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """Items written by one background thread, each caller waiting for its own: what arrives
    while a transaction runs goes into the next, one for all of them.

    ``apply(conn, items)`` does the batch's work in its transaction and answers one result
    per item, in order; it must decide each item as if the items came one after another.
    When a batch fails, its items are tried again one by one, so only the item at fault
    fails (its caller gets the exception). Once closed, an item is written in the caller's
    thread.
    """

    def __init__(
        self,
        engine: Engine,
        apply: Callable[[Connection, Sequence[Item]], Sequence[Result]],
        name: str,
        max_batch: int = 500,
    ) -> None:
        self.engine = engine
        self.apply = apply
        self.name = name
        self.max_batch = max_batch
        self._queue: list[tuple[Item, Future[Result]]] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Items waiting for the next transaction."""
        with self._ready:
            return len(self._queue)

    def submit(self, item: Item) -> Result:
        """Write ``item``; its result once committed."""
        return self.later(item).result()

    def later(self, item: Item) -> Future[Result]:
        """Write ``item``; the future of its result, done once committed (a caller on an event
        loop awaits it there instead of holding a thread)."""
        future: Future[Result] = Future()
        with self._ready:
            closed = self._closed
            if not closed:
                self._queue.append((item, future))
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()
                self._ready.notify()
        if closed:
            self._write([(item, future)])
        return future

    def close(self) -> None:
        """Write what was submitted, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            self._write(batch)

    def _write(self, batch: list[tuple[Item, Future[Result]]]) -> None:
        try:
            with write_tx(self.engine) as conn:
                results = self.apply(conn, [item for item, _ in batch])
                if len(results) != len(batch):
                    raise ValueError(f"{self.name}: {len(results)} results for {len(batch)}")
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
            else:  # find the item at fault: the others are written all the same
                for one in batch:
                    self._write([one])
            return
        for (_, future), result in zip(batch, results, strict=True):  # checked above
            future.set_result(result)
