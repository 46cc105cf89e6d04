"""A node's journal (store.journal): each decision kept as its canonical document, given its
leaf in the log in the transaction that keeps it, and ``verify_log`` naming an entry kept
behind the log's back or altered since; for every role that journals, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text

from vaxtrace.ledger import merkle
from vaxtrace.ledger.canonical import canonical_json
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.engine import make_engine, read_tx, write_tx
from vaxtrace.store.immunization import schema as immunization_schema
from vaxtrace.store.journal import Journal
from vaxtrace.store.ledger import verify_log
from vaxtrace.store.migrate import upgrade
from vaxtrace.store.migrations.log_tables import LOG_HISTORY
from vaxtrace.store.platform import schema as platform_schema
from vaxtrace.store.supervision import schema as supervision_schema

JOURNALS = {
    "platform": platform_schema.journal,
    "immunization": immunization_schema.journal,
    "supervision": supervision_schema.journal,
}


@dataclass(frozen=True)
class Node:
    """A role's migrated database and its journal."""

    engine: Engine
    journal: Journal

    def keep(self, kind: str, body: dict[str, Any]) -> int:
        with write_tx(self.engine) as conn:
            return self.journal.keep(conn, kind, body)

    def rows(self) -> dict[str, int]:
        """Rows of the journal and of the log's tree."""
        with read_tx(self.engine) as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in (
                    ("log_entry", self.journal.table),
                    ("ledger_leaf", self.journal.ledger.t.leaf),
                    ("ledger_node", self.journal.ledger.t.node),
                )
            }

    def leaves(self) -> list[tuple[int, int]]:
        """(leaf index, entry id) in leaf order."""
        leaf = self.journal.ledger.t.leaf
        with read_tx(self.engine) as conn:
            query = select(leaf.c.leaf_index, leaf.c.event_id).order_by(leaf.c.leaf_index)
            return [(int(i), int(e)) for i, e in conn.execute(query)]

    def entry_ids(self) -> list[int]:
        with read_tx(self.engine) as conn:
            return [e["id"] for e in self.journal.entries(conn)]


@pytest.fixture(params=list(JOURNALS))
def node(request: pytest.FixtureRequest, database_url: str) -> Iterator[Node]:
    role: str = request.param
    engine = make_engine(database_url)
    try:
        upgrade(engine, role)
        yield Node(engine, JOURNALS[role])
    finally:
        engine.dispose()


def test_entries_get_consecutive_leaves_in_id_order(node: Node) -> None:
    base = len(node.leaves())
    sizes = [node.keep("finding", {"n": 1})]
    with write_tx(node.engine) as conn:  # several in one transaction
        sizes += [node.journal.keep(conn, "finding", {"n": n}) for n in (2, 3, 4)]
    sizes.append(node.keep("step", {"n": 5}))
    assert sizes == [base + n for n in range(1, 6)]  # each answers the new tree size
    ids = node.entry_ids()
    assert ids == sorted(ids) and len(ids) == base + 5
    assert node.leaves() == list(enumerate(ids))  # leaf i commits to the i-th entry
    with read_tx(node.engine) as conn:
        assert node.journal.ledger.size(conn) == base + 5
        kept = node.journal.entries(conn, "finding")
    assert [e["n"] for e in kept] == [1, 2, 3, 4] and {e["kind"] for e in kept} == {"finding"}


def test_documents_are_the_bytes_the_leaves_hash(node: Node) -> None:
    body = {
        "org_uscc": "12320000MB0000001D",
        "on": date(2026, 11, 20),
        "celsius": Decimal("4.5"),
        "ratio": 0.25,
        "name": "示例市疾病预防控制中心",
        "codes": ["80000010000000000017"],
    }
    before = datetime.now(UTC)
    node.keep("temperature_record", body)
    node.keep("alert", {"nested": {"b": 1, "a": [None, True]}})
    with read_tx(node.engine) as conn:
        documents = list(node.journal.documents(conn, 1))
        assert [i for i, _ in documents] == node.entry_ids()
        for entry_id, document in documents:
            index = node.journal.ledger.leaf_of_event(conn, entry_id)
            assert index is not None
            assert node.journal.ledger.leaf_hash(conn, index) == merkle.leaf_hash(document)
            assert document == canonical_json(json.loads(document))  # RFC 8785 bytes
        first, second = documents[0][0], documents[1][0]
        assert list(node.journal.documents(conn, first, second)) == documents[:1]
    kept = json.loads(documents[0][1])
    assert kept == {
        "kind": "temperature_record",
        "recorded_at": kept["recorded_at"],
        "org_uscc": "12320000MB0000001D",
        "on": "2026-11-20",  # a date, a decimal: kept as text
        "celsius": "4.5",
        "ratio": 0.25,
        "name": "示例市疾病预防控制中心",
        "codes": ["80000010000000000017"],
    }
    assert before <= datetime.fromisoformat(kept["recorded_at"]) <= datetime.now(UTC)


@pytest.mark.parametrize("field", ["kind", "recorded_at"])
def test_a_body_may_not_say_what_the_entry_says_of_itself(node: Node, field: str) -> None:
    node.keep("alert", {"n": 1})
    before = node.rows()
    # refused inside the transaction, which goes on and commits: keep wrote nothing
    with write_tx(node.engine) as conn, pytest.raises(ValueError, match=field):
        node.journal.keep(conn, "alert", {field: "forged", "n": 2})
    assert node.rows() == before
    with read_tx(node.engine) as conn:
        assert verify_log(node.journal.ledger, conn).ok


def test_a_refused_transaction_leaves_no_entry_and_no_leaf(node: Node) -> None:
    node.keep("alert", {"n": 1})
    before = node.rows()

    class Refused(Exception):
        pass

    with pytest.raises(Refused), write_tx(node.engine) as conn:
        assert node.journal.keep(conn, "alert", {"n": 2}) == before["ledger_leaf"] + 1
        raise Refused
    assert node.rows() == before
    assert node.keep("alert", {"n": 3}) == before["ledger_leaf"] + 1  # the next leaf, no gap
    with read_tx(node.engine) as conn:
        verdict = verify_log(node.journal.ledger, conn)
    assert verdict.ok and verdict.leaves == before["ledger_leaf"] + 1


@pytest.mark.parametrize("then_kept", [0, 2], ids=["last", "between"])
def test_verify_names_an_entry_kept_behind_the_logs_back(node: Node, then_kept: int) -> None:
    for n in range(3):
        node.keep("alert", {"n": n})
    document = canonical_json({"kind": "alert", "recorded_at": "2026-11-20T00:00:00+00:00"})
    with write_tx(node.engine) as conn:
        forged = conn.execute(
            insert(node.journal.table)
            .values(kind="alert", document=document, recorded_at=datetime.now(UTC))
            .returning(node.journal.table.c.id)
        ).scalar_one()
    for n in range(then_kept):  # later entries get their leaves; the forged one has none
        node.keep("alert", {"n": 10 + n})
    with read_tx(node.engine) as conn:
        verdict = verify_log(node.journal.ledger, conn)
    assert not verdict.ok and verdict.event_id == forged
    assert f"event {forged} has no leaf: inserted outside the log" in verdict.problem


def test_verify_names_an_altered_entry(node: Node) -> None:
    for n in range(4):
        node.keep("alert", {"org_uscc": "12320000MB0000001D", "n": n})
    with read_tx(node.engine) as conn:
        assert verify_log(node.journal.ledger, conn).ok
    altered = node.entry_ids()[-3]
    with write_tx(node.engine) as conn:
        drop_append_only(conn, LOG_HISTORY)  # the operator drops the guards
        table = node.journal.table
        (document,) = conn.execute(select(table.c.document).where(table.c.id == altered)).one()
        changed = json.loads(document) | {"org_uscc": "12320000MB0000009X"}
        conn.execute(
            table.update().where(table.c.id == altered).values(document=canonical_json(changed))
        )
    with read_tx(node.engine) as conn:
        verdict = verify_log(node.journal.ledger, conn)
    assert not verdict.ok and verdict.event_id == altered
    assert f"event {altered} (leaf" in verdict.problem and "was altered" in verdict.problem


def test_the_journal_is_append_only(node: Node) -> None:
    node.keep("alert", {"n": 1})
    for statement in ("UPDATE log_entry SET kind = 'forged'", "DELETE FROM log_entry"):
        with pytest.raises(Exception, match="append-only"), write_tx(node.engine) as conn:
            conn.execute(text(statement))
    assert node.rows()["log_entry"] == 1


def test_writers_at_once_keep_leaves_in_id_order(node: Node) -> None:
    """Writers keeping at the same time: the log's turn makes ids follow leaf order."""

    def writer(n: int) -> list[int]:
        return [node.keep("step", {"writer": n, "i": i}) for i in range(15)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        sizes = [size for answered in pool.map(writer, range(6)) for size in answered]
    assert sorted(sizes) == list(range(1, 6 * 15 + 1))  # each write its own new size
    ids = node.entry_ids()
    assert node.leaves() == list(enumerate(ids))
    with read_tx(node.engine) as conn:
        assert verify_log(node.journal.ledger, conn).ok


def test_a_bodys_id_does_not_shadow_the_entrys(node: Node) -> None:
    node.keep("alert", {"n": 1})
    try:
        node.keep("alert", {"id": 1_000, "n": 2})
    except ValueError:  # refusing the body, as for 'kind', would do too
        return
    with read_tx(node.engine) as conn:
        listed = [e["id"] for e in node.journal.entries(conn)]
        kept = [entry_id for entry_id, _ in node.journal.documents(conn, 1)]
    assert listed == kept
