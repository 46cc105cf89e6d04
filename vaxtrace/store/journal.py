"""SQL of a node's journal (业务日志): the decisions of a role that has no trace events of its
own, kept as entries its tamper-evident log commits to.

The trace role's log commits to its events. The province (receipts, scans' outcomes,
distributions, vaccinations, temperature decisions, alerts), the platform (registry changes,
coding rules, forwarded envelopes' digests) and supervision (findings, locks, recall
decisions) write a journal entry for each decision, in the transaction that makes it, and the
entry gets its leaf in that transaction too: no decision without a leaf. An entry is its
canonical JSON document, kept as the bytes its leaf hashes, so the same log format, proofs and
``verify`` serve every node.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Index, LargeBinary, MetaData, String, Table, insert, select

from vaxtrace.ledger.canonical import canonical_json
from vaxtrace.store.columns import moment, required, surrogate_key
from vaxtrace.store.ledger import Ledger, LedgerTables

ENTRY_FIELDS = frozenset({"id", "kind", "recorded_at"})
"""What every entry says of itself (its document the kind and time, :meth:`Journal.entries`
its id); the rest is the decision's own."""

JOURNAL_TABLES = ("log_entry",)
"""History: the migration makes it append-only."""


def journal_table(metadata: MetaData) -> Table:
    """Add the journal to a role's schema."""
    return Table(
        "log_entry",
        metadata,
        surrogate_key(),
        required("kind", String(40)),
        required("document", LargeBinary),
        moment("recorded_at"),
        Index("ix_log_entry_kind", "kind", "id"),
    )


def _as_text(value: Any) -> str:
    """What JSON has no type for, as text: times and dates in ISO 8601, the rest by str()."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class Journal:
    """One role's journal and the log over it."""

    def __init__(self, table: Table, ledger_tables: LedgerTables) -> None:
        self.table = table
        self.ledger = Ledger(ledger_tables, self.documents)
        self._insert = insert(table).returning(table.c.id)

    def documents(
        self, conn: Connection, from_id: int, to_id: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """(entry id, canonical document) from ``from_id`` (to ``to_id``), in id order."""
        query = select(self.table.c.id, self.table.c.document).where(self.table.c.id >= from_id)
        if to_id is not None:
            query = query.where(self.table.c.id < to_id)
        rows = conn.execute(query.order_by(self.table.c.id).execution_options(yield_per=10_000))
        for entry_id, document in rows:
            yield int(entry_id), bytes(document)

    def keep(self, conn: Connection, kind: str, body: Mapping[str, Any]) -> int:
        """Keep one decision, in the caller's transaction, with its leaf; answers the log's
        new tree size. Values JSON has no type for (a date, a decimal) are kept as text."""
        clash = ENTRY_FIELDS & body.keys()
        if clash:
            raise ValueError(f"a journal entry's body may not set {sorted(clash)}")
        self.ledger.take_turn(conn)  # entry ids in the order their leaves are appended
        recorded_at = datetime.now(UTC)
        plain = json.loads(json.dumps(body, default=_as_text))
        document = canonical_json({"kind": kind, "recorded_at": recorded_at.isoformat(), **plain})
        entry_id = conn.execute(
            self._insert, {"kind": kind, "document": document, "recorded_at": recorded_at}
        ).scalar_one()
        return self.ledger.append_from(conn, int(entry_id))

    def entries(self, conn: Connection, kind: str | None = None) -> list[dict[str, Any]]:
        """The kept entries (of one kind), oldest first, as their documents say."""
        query = select(self.table.c.id, self.table.c.document).order_by(self.table.c.id)
        if kind is not None:
            query = query.where(self.table.c.kind == kind)
        return [{"id": int(i), **json.loads(bytes(d))} for i, d in conn.execute(query)]
