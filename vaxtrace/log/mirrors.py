"""The check that a journal role's tables mirror its journal (see vaxtrace.store.mirrors): an
operator who inserts, deletes or alters a history row without a matching entry is named; and
the state rebuilt from the journal (the province's stock, replayed) against its table, naming
the first code that differs and the entry that should have produced it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from vaxtrace.log.verify import Check, LogUnderCheck
from vaxtrace.store.ledger import Verdict
from vaxtrace.store.mirrors import MIRRORS, first_difference_in


def tables_mirror_journal(role: str) -> Check:
    """A check of ``role``'s tables against its journal, after the log's own checks (once the
    entries are known to be the log's, the rows are compared with them)."""

    def tables_mirror(log: LogUnderCheck) -> Verdict | None:
        with snapshot(log.conn) as conn:
            found = first_difference_in(conn, role)
            if found is None:
                return _replayed(log, conn, role)
        mirror, difference = found
        return log.failed(
            f"the tables differ from the log: {role} {mirror.table.name}: {difference.describe()}",
            difference.entry_id,
        )

    return tables_mirror


def _replayed(log: LogUnderCheck, conn: Connection, role: str) -> Verdict | None:
    """The tables rebuilt from the journal (the province's stock), each against its table:
    the first code that differs, with the entry that should have produced it."""
    for table, replayed in MIRRORS[role].replayed:
        found = replayed(conn)
        if found is not None:
            return log.failed(
                f"the tables differ from the log: {role} {table}: {found.message}",
                found.entry_id,
            )
    return None


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """Where the tables and the journal are read as of one moment, while the node writes: on
    PostgreSQL a repeatable-read transaction of its own (read committed, the default, would
    let a decision committed between the two reads look like a row without its entry, or an
    entry without its row); SQLite's read transaction is a snapshot already."""
    if conn.dialect.name != "postgresql":
        yield conn
        return
    options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with conn.engine.connect().execution_options(**options) as own, own.begin():
        yield own


def mirrored_tables(role: str) -> list[str]:
    """The tables compared with ``role``'s journal (those rebuilt from it by replay said so)."""
    journaled = MIRRORS[role]
    replayed = [f"{table} (replayed from the journal)" for table, _ in journaled.replayed]
    return [mirror.table.name for mirror in journaled.mirrors] + replayed
