"""Rows appended in batches: history that must be kept but that no decision waits for (the
audit of a repeated or rejected scan) is written by one background thread every few tens of
milliseconds, in one transaction, instead of each request queueing for the database's writer.

What a clean shutdown leaves is always written (:meth:`Appender.close`, also at interpreter
exit); what a crash leaves is lost: at most the rows of the last ``interval``, or of as long as
the database refused writes.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, Table, insert

from vaxtrace.store.engine import write_tx

logger = logging.getLogger("vaxtrace")


class Appender:
    """Rows for ``table``, kept in memory until the next flush; thread-safe.

    A background thread (started at the first row) flushes every ``interval`` seconds;
    :meth:`flush` writes what is pending at once, :meth:`close` stops the thread and flushes.
    A flush that fails keeps its rows for the next one. Once closed, a row is written as it
    is appended.
    """

    def __init__(self, engine: Engine, table: Table, interval: float = 0.05) -> None:
        self.engine = engine
        self.table = table
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
                    conn.execute(insert(self.table), rows)
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


def _close_at_exit(ref: weakref.ref[Appender]) -> None:
    appender = ref()
    if appender is not None and not appender._closed:
        appender.close()
