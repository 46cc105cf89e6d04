"""SQL of the tamper-evident log every role keeps beside its events (RFC 9162 tree).

``ledger_node`` holds the hash of every *perfect* subtree (level 0 = the leaves), keyed by
``level << 48 | index``; ``ledger_leaf`` maps each leaf to the event it commits to. Both are
written in the transaction that writes the event, and both are append-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
)

from vaxtrace.ledger import merkle
from vaxtrace.store.bulk import bulk_insert, lock_for_ids
from vaxtrace.store.columns import Id as Id  # the type moved to columns; kept for importers
from vaxtrace.store.columns import moment, required, surrogate_key
from vaxtrace.store.rows import insert_new

LEVEL_SHIFT = 48
APPEND_CHUNK = 20_000
LEDGER_TABLES = ("ledger_node", "ledger_leaf", "ledger_checkpoint")
"""History tables of the log; the migration makes them append-only."""


def node_key(level: int, index: int) -> int:
    return level << LEVEL_SHIFT | index


@dataclass(frozen=True, slots=True)
class LedgerTables:
    node: Table
    leaf: Table
    checkpoint: Table
    cosignature: Table
    witnessed: Table
    alert: Table


def _position(name: str) -> Column[Any]:
    """A key the log numbers itself (a node, a leaf, a tree size): never auto-incremented."""
    return Column(name, BigInteger, primary_key=True, autoincrement=False)


def _tree_head(tree_size: Column[Any], taken: str) -> list[Column[Any]]:
    """A signed checkpoint as kept: its tree size, root and note, and when it was taken."""
    return [tree_size, required("root", LargeBinary(32)), required("note", Text), moment(taken)]


def ledger_tables(metadata: MetaData) -> LedgerTables:
    """Add the log's tables to a role's schema."""
    return LedgerTables(
        node=Table(
            "ledger_node", metadata, _position("node_key"), required("hash", LargeBinary(32))
        ),
        leaf=Table(
            "ledger_leaf",
            metadata,
            _position("leaf_index"),
            required("event_id", BigInteger, unique=True),
        ),
        checkpoint=Table(
            "ledger_checkpoint", metadata, *_tree_head(_position("tree_size"), "signed_at")
        ),
        cosignature=Table(
            "ledger_cosignature",
            metadata,
            _position("tree_size"),
            Column("witness", String(200), primary_key=True),
            required("line", Text),
            moment("received_at"),
        ),
        witnessed=Table(
            "ledger_witnessed",
            metadata,
            Column("origin", String(200), primary_key=True),
            *_tree_head(required("tree_size", BigInteger), "checked_at"),
        ),
        alert=Table(
            "ledger_alert",
            metadata,
            surrogate_key(),
            required("origin", String(200)),
            required("kind", String(20)),
            required("detail", Text),
            required("note", Text),
            moment("raised_at"),
            Index("ix_ledger_alert_origin", "origin", "raised_at"),
        ),
    )


Documents = Callable[[Connection, int, int | None], Iterator[tuple[int, bytes]]]
"""(event id, canonical bytes) of a role's events with from_id <= id (< to_id), in id order."""


class Ledger:
    """The log of one role's database."""

    def __init__(self, tables: LedgerTables, documents: Documents) -> None:
        self.t = tables
        self.documents = documents
        # built once: every write runs them
        self._size = select(func.max(tables.leaf.c.leaf_index))
        self._nodes = select(tables.node.c.node_key, tables.node.c.hash).where(
            tables.node.c.node_key.in_(bindparam("keys", expanding=True))
        )

    # --- writing -------------------------------------------------------------------------

    def size(self, conn: Connection) -> int:
        found = conn.execute(self._size).scalar_one()
        return 0 if found is None else int(found) + 1

    def frontier(self, conn: Connection, size: int) -> merkle.Frontier:
        keys = merkle.Frontier.edge_nodes(size)
        found = self.nodes(conn, keys)
        return merkle.Frontier(size, [found[k] for k in keys])

    def take_turn(self, conn: Connection) -> None:
        """Wait for the log's turn, held until the transaction ends (PostgreSQL; SQLite has
        one writer already). A write that will append takes it before it writes its events,
        so their ids follow the order in which writers append."""
        lock_for_ids(conn, "ledger_leaf")

    def append_from(self, conn: Connection, first_event_id: int) -> int:
        """Give every event from ``first_event_id`` on its leaf; return the new tree size.

        Call inside the transaction that wrote the events: no event without a leaf.
        """
        self.take_turn(conn)
        tree = self.frontier(conn, self.size(conn))
        leaves: list[tuple[int, int]] = []
        nodes: list[tuple[int, bytes]] = []
        for event_id, document in self.documents(conn, first_event_id, None):
            leaves.append((tree.size, event_id))
            for level, index, value in tree.append(merkle.leaf_hash(document)):
                nodes.append((node_key(level, index), value))
            if len(leaves) >= APPEND_CHUNK:
                self._flush(conn, leaves, nodes)
        self._flush(conn, leaves, nodes)
        return tree.size

    @staticmethod
    def _flush(
        conn: Connection, leaves: list[tuple[int, int]], nodes: list[tuple[int, bytes]]
    ) -> None:
        if leaves:
            bulk_insert(conn, "ledger_leaf", ("leaf_index", "event_id"), leaves)
            bulk_insert(conn, "ledger_node", ("node_key", "hash"), nodes)
            leaves.clear()
            nodes.clear()

    # --- reading -------------------------------------------------------------------------

    def nodes(
        self, conn: Connection, keys: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        wanted = {node_key(lv, ix): (lv, ix) for lv, ix in keys}
        found: dict[tuple[int, int], bytes] = {}
        ordered = list(wanted)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            rows = conn.execute(self._nodes, {"keys": chunk})
            for key, value in rows:
                found[wanted[int(key)]] = bytes(value)
        missing = [k for k in keys if k not in found]
        if missing:
            raise LookupError(f"ledger nodes missing: {missing[:3]}")
        return found

    def _with_nodes(self, conn: Connection, compute: Callable[[merkle.NodeSource], Any]) -> Any:
        found = self.nodes(conn, merkle.needed_nodes(compute))
        return compute(lambda level, index: found[(level, index)])

    def root(self, conn: Connection, size: int) -> bytes:
        result: bytes = self._with_nodes(conn, lambda node: merkle.root(size, node))
        return result

    def leaf_of_event(self, conn: Connection, event_id: int) -> int | None:
        found = conn.execute(
            select(self.t.leaf.c.leaf_index).where(self.t.leaf.c.event_id == event_id)
        ).scalar_one_or_none()
        return None if found is None else int(found)

    def inclusion(self, conn: Connection, index: int, size: int) -> list[bytes]:
        proof: list[bytes] = self._with_nodes(
            conn, lambda node: merkle.inclusion_proof(index, size, node)
        )
        return proof

    def consistency(self, conn: Connection, old: int, new: int) -> list[bytes]:
        proof: list[bytes] = self._with_nodes(
            conn, lambda node: merkle.consistency_proof(old, new, node)
        )
        return proof

    def leaf_hash(self, conn: Connection, index: int) -> bytes:
        return self.nodes(conn, [(0, index)])[(0, index)]

    # --- checkpoints -----------------------------------------------------------------------

    def latest_checkpoint(self, conn: Connection) -> Any:
        query = select(self.t.checkpoint).order_by(self.t.checkpoint.c.tree_size.desc()).limit(1)
        return conn.execute(query).mappings().first()

    def checkpoint_at(self, conn: Connection, size: int) -> Any:
        query = select(self.t.checkpoint).where(self.t.checkpoint.c.tree_size == size)
        return conn.execute(query).mappings().first()

    def save_checkpoint(
        self, conn: Connection, size: int, root: bytes, note: str, signed_at: datetime | None = None
    ) -> None:
        # two signers of one size at once (PostgreSQL's read committed lets both see it due):
        # the first checkpoint stands, as a witness may already have cosigned it
        conn.execute(
            insert_new(conn, self.t.checkpoint).values(
                tree_size=size, root=root, note=note, signed_at=signed_at or datetime.now(UTC)
            )
        )

    def cosignatures(self, conn: Connection, size: int) -> list[str]:
        query = (
            select(self.t.cosignature.c.line)
            .where(self.t.cosignature.c.tree_size == size)
            .order_by(self.t.cosignature.c.witness)
        )
        return [str(r[0]) for r in conn.execute(query)]

    def save_cosignature(self, conn: Connection, size: int, witness: str, line: str) -> None:
        table = self.t.cosignature
        exists = conn.execute(
            select(table.c.line).where(table.c.tree_size == size, table.c.witness == witness)
        ).first()
        if exists is None:
            conn.execute(
                insert(table).values(
                    tree_size=size, witness=witness, line=line, received_at=datetime.now(UTC)
                )
            )

    # --- witnessing others -------------------------------------------------------------------

    def witnessed(self, conn: Connection, origin: str) -> Any:
        query = select(self.t.witnessed).where(self.t.witnessed.c.origin == origin)
        return conn.execute(query).mappings().first()

    def all_witnessed(self, conn: Connection) -> list[dict[str, Any]]:
        """Every log this one witnesses, the latest checkpoint seen of each, by origin."""
        query = select(self.t.witnessed).order_by(self.t.witnessed.c.origin)
        return [dict(r) for r in conn.execute(query).mappings()]

    def save_witnessed(
        self, conn: Connection, origin: str, size: int, root: bytes, note: str
    ) -> None:
        table = self.t.witnessed
        values = {"tree_size": size, "root": root, "note": note, "checked_at": datetime.now(UTC)}
        if self.witnessed(conn, origin) is None:
            conn.execute(insert(table).values(origin=origin, **values))
        else:
            conn.execute(table.update().where(table.c.origin == origin).values(**values))

    def raise_alert(self, conn: Connection, origin: str, kind: str, detail: str, note: str) -> None:
        conn.execute(
            insert(self.t.alert).values(
                origin=origin, kind=kind, detail=detail, note=note, raised_at=datetime.now(UTC)
            )
        )

    def latest_alert(self, conn: Connection, origin: str) -> tuple[str, str] | None:
        """(kind, note) of the latest alert about ``origin``'s log, if any: the same refusal
        seen again round after round is one alert."""
        a = self.t.alert.c
        query = select(a.kind, a.note).where(a.origin == origin).order_by(a.id.desc()).limit(1)
        found = conn.execute(query).first()
        return None if found is None else (str(found[0]), str(found[1]))

    def alerts(self, conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(select(self.t.alert).order_by(self.t.alert.c.id)).mappings()
        return [dict(r) for r in rows]

    # --- verification ------------------------------------------------------------------------

    def stored_leaves(self, conn: Connection) -> Iterator[tuple[int, int, bytes]]:
        """(leaf index, event id, stored leaf hash) in leaf order."""
        query = (
            select(self.t.leaf.c.leaf_index, self.t.leaf.c.event_id, self.t.node.c.hash)
            .join(self.t.node, self.t.node.c.node_key == self.t.leaf.c.leaf_index, isouter=True)
            .order_by(self.t.leaf.c.leaf_index)
        )
        for index, event_id, value in conn.execute(query.execution_options(yield_per=10_000)):
            yield int(index), int(event_id), b"" if value is None else bytes(value)

    def stored_level(self, conn: Connection, level: int, lo: int, hi: int) -> list[bytes]:
        """Stored hashes of perfect nodes at ``level`` with lo <= index < hi, in order."""
        query = (
            select(self.t.node.c.hash)
            .where(
                self.t.node.c.node_key >= node_key(level, lo),
                self.t.node.c.node_key < node_key(level, hi),
            )
            .order_by(self.t.node.c.node_key)
        )
        return [bytes(r[0]) for r in conn.execute(query)]


def interior_nodes(pairs: Iterable[tuple[int, int, bytes]]) -> dict[int, list[tuple[int, bytes]]]:
    """Group (level, index, hash) by level, levels above the leaves only."""
    grouped: dict[int, list[tuple[int, bytes]]] = {}
    for level, index, value in pairs:
        if level:
            grouped.setdefault(level, []).append((index, value))
    return grouped


VERIFY_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of re-deriving a log from the events it commits to."""

    ok: bool
    leaves: int
    problem: str = ""
    event_id: int | None = None


class _Verifier:
    """Walks events and stored leaves together, rebuilding the tree as it goes."""

    def __init__(self, ledger: Ledger, conn: Connection, checkpoint_size: int) -> None:
        self.ledger, self.conn = ledger, conn
        self.tree = merkle.Frontier()
        self.checkpoint_size = checkpoint_size
        self.checkpoint_root: bytes | None = merkle.EMPTY_ROOT if checkpoint_size == 0 else None
        self.chunk_events: list[int] = []
        self.computed: list[tuple[int, int, bytes]] = []

    def add(self, event_id: int, leaf: bytes) -> Verdict | None:
        self.chunk_events.append(event_id)
        self.computed.extend(self.tree.append(leaf))
        if self.tree.size == self.checkpoint_size:
            self.checkpoint_root = self.tree.root()
        if self.tree.size % VERIFY_CHUNK == 0:
            return self.flush()
        return None

    def flush(self) -> Verdict | None:
        """Compare the interior nodes this chunk completed with the stored ones."""
        first_leaf = self.tree.size - len(self.chunk_events)
        for level, pairs in sorted(interior_nodes(self.computed).items()):
            lo = pairs[0][0]
            stored = self.ledger.stored_level(self.conn, level, lo, pairs[-1][0] + 1)
            for offset, (index, value) in enumerate(pairs):
                if offset >= len(stored) or stored[offset] != value:
                    leaf = (index << level) - first_leaf
                    event = self.chunk_events[max(leaf, 0)]
                    return Verdict(
                        False,
                        self.tree.size,
                        f"stored tree node (level {level}, "
                        f"index {index}) was rewritten; it covers event {event} on",
                        event,
                    )
        self.chunk_events, self.computed = [], []
        return None


def verify_log(ledger: Ledger, conn: Connection) -> Verdict:
    """Recompute every leaf from the stored events and check the tree and latest checkpoint.

    Names the first event that was altered, deleted, inserted or reordered.
    """
    checkpoint = ledger.latest_checkpoint(conn)
    checkpoint_size = 0 if checkpoint is None else int(checkpoint["tree_size"])
    walk = _Verifier(ledger, conn, checkpoint_size)
    documents = ledger.documents(conn, 0, None)
    event = next(documents, None)
    previous = -1
    for index, leaf_event, stored in ledger.stored_leaves(conn):
        if leaf_event <= previous:
            return Verdict(
                False,
                index,
                f"leaf {index} commits to event {leaf_event} after "
                f"event {previous}: the log was reordered",
                leaf_event,
            )
        previous = leaf_event
        if event is None or event[0] > leaf_event:
            return Verdict(
                False, index, f"event {leaf_event} (leaf {index}) was deleted", leaf_event
            )
        if event[0] < leaf_event:
            elsewhere = ledger.leaf_of_event(conn, event[0])
            if elsewhere is not None:
                return Verdict(
                    False,
                    index,
                    f"event {event[0]} sits at leaf {elsewhere}, after "
                    f"event {leaf_event} at leaf {index}: the log was reordered",
                    event[0],
                )
            return Verdict(
                False, index, f"event {event[0]} has no leaf: inserted outside the log", event[0]
            )
        leaf = merkle.leaf_hash(event[1])
        if leaf != stored:
            return Verdict(
                False,
                index,
                f"event {leaf_event} (leaf {index}) was altered: its "
                "content no longer matches its leaf",
                leaf_event,
            )
        bad = walk.add(leaf_event, leaf)
        if bad is not None:
            return bad
        event = next(documents, None)
    if event is not None:
        return Verdict(
            False,
            walk.tree.size,
            f"event {event[0]} has no leaf: inserted outside the log",
            event[0],
        )
    bad = walk.flush()
    if bad is not None:
        return bad
    if checkpoint is not None:
        if checkpoint_size > walk.tree.size:
            return Verdict(
                False,
                walk.tree.size,
                f"the signed checkpoint covers {checkpoint_size}"
                f" events but only {walk.tree.size} remain: events were deleted",
            )
        if walk.checkpoint_root != bytes(checkpoint["root"]):
            return Verdict(
                False,
                walk.tree.size,
                "the events no longer hash to the root of the "
                f"signed checkpoint at size {checkpoint_size}: history was rewritten",
            )
    return Verdict(True, walk.tree.size)
