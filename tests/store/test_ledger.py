"""The log beside the trace events: leaves in the same transaction, proofs, tamper detection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from vaxtrace.ledger import merkle
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.engine import read_tx, write_tx
from vaxtrace.store.ledger import LEDGER_TABLES, Ledger, verify_log
from vaxtrace.store.trace import codes, documents, events, schema
from vaxtrace.store.trace.documents import event_documents


def _ledger() -> Ledger:
    return Ledger(schema.ledger, event_documents)


def _append(engine: Engine, n: int, *, start: int = 0) -> list[int]:
    ids = []
    with write_tx(engine) as conn:
        for i in range(start, start + n):
            header = events.EventHeader(
                bill_type="201",
                org_uscc="91320100MA1X000009",
                business_time=datetime(2026, 1, 1, 8, tzinfo=UTC),
                document_no=f"DOC{i}",
                client_document_id=f"c{i}",
            )
            ids.append(events.append_event(conn, header, {"n": i, "t": 2.5}))
        _ledger().append_from(conn, ids[0])
    return ids


def test_leaves_proofs_and_a_clean_verify(trace_engine: Engine) -> None:
    ids = _append(trace_engine, 37)
    ids += _append(trace_engine, 5, start=37)
    ledger = _ledger()
    with read_tx(trace_engine) as conn:
        assert ledger.size(conn) == 42
        documents = dict(event_documents(conn, 0))
        root = ledger.root(conn, 42)
        for event_id in (ids[0], ids[20], ids[-1]):
            index = ledger.leaf_of_event(conn, event_id)
            assert index is not None
            proof = ledger.inclusion(conn, index, 42)
            leaf = merkle.leaf_hash(documents[event_id])
            assert merkle.verify_inclusion(index, 42, leaf, proof, root)
        old_root = ledger.root(conn, 37)
        assert merkle.verify_consistency(37, 42, old_root, root, ledger.consistency(conn, 37, 42))
    with write_tx(trace_engine) as conn:
        ledger.save_checkpoint(conn, 42, root, "note")
    with read_tx(trace_engine) as conn:
        verdict = verify_log(ledger, conn)
    assert verdict.ok and verdict.leaves == 42


def test_a_refused_write_leaves_no_leaf(trace_engine: Engine) -> None:
    _append(trace_engine, 3)
    with pytest.raises(RuntimeError), write_tx(trace_engine) as conn:
        header = events.EventHeader("201", "91320100MA1X000009", datetime.now(UTC), "X", "cx")
        event_id = events.append_event(conn, header, {})
        _ledger().append_from(conn, event_id)
        raise RuntimeError("refused after the leaf was written")
    with read_tx(trace_engine) as conn:
        assert _ledger().size(conn) == 3
        assert verify_log(_ledger(), conn).ok


TAMPERING = {
    "altered": ("UPDATE trace_event SET document_no = 'FORGED' WHERE id = {mid}", "altered"),
    "deleted": ("DELETE FROM trace_event WHERE id = {mid}", "deleted"),
    "inserted": (
        "INSERT INTO trace_event (id, event_uuid, bill_type, org_uscc, business_time, "
        "recorded_time, document_no, client_document_id, payload) VALUES ({last} + 1, 'u', "
        "'201', 'x', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'D', 'forged', '{{}}')",
        "inserted",
    ),
    "reordered leaves": (
        "UPDATE ledger_leaf SET event_id = -1 WHERE event_id = {mid}; "
        "UPDATE ledger_leaf SET event_id = {mid} WHERE event_id = {mid2}; "
        "UPDATE ledger_leaf SET event_id = {mid2} WHERE event_id = -1",
        "reordered",
    ),
    "reordered events": (
        "UPDATE trace_event SET id = -1 WHERE id = {mid}; "
        "UPDATE trace_event SET id = {mid} WHERE id = {mid2}; "
        "UPDATE trace_event SET id = {mid2} WHERE id = -1",
        "altered",
    ),
}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_direct_tampering_is_found_and_named(trace_engine: Engine, kind: str) -> None:
    ids = _append(trace_engine, 20)
    ledger = _ledger()
    with write_tx(trace_engine) as conn:
        ledger.save_checkpoint(conn, 20, ledger.root(conn, 20), "note")
        drop_append_only(conn, ("trace_event", *LEDGER_TABLES))  # what an intruder would do
    sql, word = TAMPERING[kind]
    with write_tx(trace_engine) as conn:
        for statement in sql.format(mid=ids[9], mid2=ids[10], last=ids[-1]).split("; "):
            conn.execute(text(statement))
    with read_tx(trace_engine) as conn:
        verdict = verify_log(ledger, conn)
    assert not verdict.ok
    assert word in verdict.problem
    expected = ids[-1] + 1 if kind == "inserted" else ids[9]
    assert verdict.event_id == expected, verdict


def test_rewriting_event_and_leaf_together_breaks_the_signed_root(trace_engine: Engine) -> None:
    ids = _append(trace_engine, 20)
    ledger = _ledger()
    with write_tx(trace_engine) as conn:
        ledger.save_checkpoint(conn, 20, ledger.root(conn, 20), "note")
        drop_append_only(conn, ("trace_event", *LEDGER_TABLES))
        conn.execute(text(f"UPDATE trace_event SET document_no = 'FORGED' WHERE id = {ids[4]}"))
        forged = merkle.leaf_hash(dict(event_documents(conn, ids[4], ids[4] + 1))[ids[4]])
        index = ledger.leaf_of_event(conn, ids[4])
        conn.execute(
            schema.ledger.node.update()
            .where(schema.ledger.node.c.node_key == index)
            .values(hash=forged)
        )
    with read_tx(trace_engine) as conn:
        verdict = verify_log(ledger, conn)
    assert not verdict.ok and "rewritten" in verdict.problem
    assert verdict.event_id == ids[4]


def test_documents_read_at_once_or_in_batches_are_the_same(
    trace_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads a small window at once and a large one through a server-side cursor."""
    ids = _append(trace_engine, 12)
    with write_tx(trace_engine) as conn:
        rows = [(n, f"8{n:019d}", 1, 1, 1, None, None, "normal", "X", ids[0]) for n in range(1, 41)]
        codes.insert_codes(conn, rows)
        events.link_codes(conn, range(1, 41), ids[3])
        events.link_codes(conn, range(30, 5, -1), ids[7])

    def read() -> list[list[tuple[int, bytes]]]:
        with read_tx(trace_engine) as conn:
            return [list(event_documents(conn, ids[2])), list(event_documents(conn, 0, ids[9]))]

    at_once = read()
    monkeypatch.setattr(documents, "STREAM_ABOVE", 0)
    assert read() == at_once
    assert b'"codes":["80000000000000000006","80000000000000000007"' in dict(at_once[0])[ids[7]]


def test_two_signers_of_one_size_keep_the_first_checkpoint(trace_engine: Engine) -> None:
    """Two transactions that both found a checkpoint due (PostgreSQL's read committed lets
    them) sign the same size: the first stands, the second is no error."""
    ledger = _ledger()
    _append(trace_engine, 3)
    with write_tx(trace_engine) as conn:
        size, root = ledger.size(conn), ledger.root(conn, ledger.size(conn))
    first = datetime(2026, 1, 1, tzinfo=UTC)
    with write_tx(trace_engine) as conn:
        ledger.save_checkpoint(conn, size, root, "first note", first)
    with write_tx(trace_engine) as conn:
        ledger.save_checkpoint(conn, size, root, "second note", datetime.now(UTC))
    with read_tx(trace_engine) as conn:
        kept = ledger.latest_checkpoint(conn)
    assert kept is not None and (kept["tree_size"], kept["note"]) == (size, "first note")
