"""``vaxtrace ledger verify`` against a checkpoint kept outside the node: what an operator with
file access can do to the node's log in raw SQL (a rollback, a consistent rewrite, a rewrite
signed again, a forged key or checkpoint) is named, and nothing is "ok" without a trusted
checkpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, text

from tests.test_cli_ledger import _ledger, node, trusted_args, verify
from vaxtrace.app import build_app
from vaxtrace.commands import ledger as ledger_command
from vaxtrace.ledger.checkpoint import COSIGNATURE_V1, Checkpoint, Note, SigningKey
from vaxtrace.settings import Settings
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.ledger import LEDGER_TABLES, LEVEL_SHIFT
from vaxtrace.store.trace.documents import TRACE_LEDGER

__all__ = ["node"]  # the fixture, shared with tests/test_cli_ledger.py

ORIGIN = "vaxtrace/local/trace"


@contextlib.contextmanager
def tampering(url: str) -> Iterator[Connection]:
    """A connection with the append-only guards of the events and the log dropped."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the operator is the database's superuser
            conn.execute(text("SET session_replication_role = replica"))
        drop_append_only(conn, ("trace_event", "event_code", *LEDGER_TABLES))
        yield conn
    engine.dispose()


def _size(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COUNT(*) FROM ledger_leaf")).scalar_one())


def _roll_back(conn: Connection, size: int) -> None:
    """The log as it was at ``size``: later events, leaves, tree nodes and checkpoints gone."""
    later = f"(SELECT event_id FROM ledger_leaf WHERE leaf_index >= {size})"
    for table in ("event_code", "write_request"):
        conn.execute(text(f"DELETE FROM {table} WHERE event_id IN {later}"))
    conn.execute(text(f"DELETE FROM trace_event WHERE id IN {later}"))
    conn.execute(text(f"DELETE FROM ledger_leaf WHERE leaf_index >= {size}"))
    for level in range(40):  # a node stays if every leaf under it does
        lo, hi = (level << LEVEL_SHIFT) + (size >> level), (level + 1) << LEVEL_SHIFT
        conn.execute(text(f"DELETE FROM ledger_node WHERE node_key >= {lo} AND node_key < {hi}"))
    for table in ("ledger_cosignature", "ledger_checkpoint"):
        conn.execute(text(f"DELETE FROM {table} WHERE tree_size > {size}"))
    _drop_dangling_rows(conn)


def _drop_dangling_rows(conn: Connection) -> None:
    """Rows that referred to the removed events go too (SQLite checks its foreign keys when a
    node starts; the PostgreSQL operator wrote as replica, which skips them)."""
    if conn.dialect.name != "sqlite":
        return
    while broken := conn.execute(text("PRAGMA foreign_key_check")).all():
        for table, rowid, _parent, _key in broken:
            conn.execute(text(f'DELETE FROM "{table}" WHERE rowid = {rowid}'))


def _rewrite(conn: Connection) -> None:
    """Event 4 altered and the whole log rebuilt over it, every checkpoint deleted."""
    conn.execute(text("UPDATE trace_event SET document_no = 'FORGED' WHERE id = 4"))
    for table in ("ledger_cosignature", "ledger_checkpoint", "ledger_node", "ledger_leaf"):
        conn.execute(text(f"DELETE FROM {table}"))
    TRACE_LEDGER.append_from(conn, 1)


def _failed(data_dir: Path, *words: str) -> str:
    code, out = verify(data_dir)
    assert code == 1, out
    for word in words:
        assert word in out
    return out


def test_an_untouched_log_verifies(node: str, tmp_path: Path) -> None:
    code, out = verify(tmp_path)
    assert code == 0, out
    assert "ledger ok" in out and "extend the trusted checkpoint at size" in out


def test_no_trusted_checkpoint_is_a_failure(node: str, tmp_path: Path) -> None:
    for args in ([], ["--trusted", trusted_args(tmp_path)[1]]):
        code, out = _ledger("verify", *args, data_dir=tmp_path)
        assert code == 1
        assert "no trusted checkpoint" in out and "--trusted FILE" in out and "--trusted-key" in out


def test_a_rollback_is_named(node: str, tmp_path: Path) -> None:
    with tampering(node) as conn:
        size = _size(conn)
        _roll_back(conn, size - 10)
    _failed(tmp_path, "rollback", f"covers {size}")


def test_a_consistent_rewrite_without_checkpoints_is_named(node: str, tmp_path: Path) -> None:
    with tampering(node) as conn:
        _rewrite(conn)
    _failed(tmp_path, "rewrite", "history was rewritten")


def test_a_rewrite_signed_again_with_the_nodes_key_is_named(node: str, tmp_path: Path) -> None:
    with tampering(node) as conn:
        _rewrite(conn)
    code, out = _ledger("checkpoint", data_dir=tmp_path)
    assert code == 0, out
    _failed(tmp_path, "rewrite", "history was rewritten")


def test_a_replaced_signing_key_is_named(node: str, tmp_path: Path) -> None:
    with tampering(node) as conn:
        _rewrite(conn)
    (tmp_path / "ledger" / "trace.key").unlink()
    code, out = _ledger("checkpoint", data_dir=tmp_path)
    assert code == 0, out
    _failed(tmp_path, "forged key", "not the trusted key")


def test_a_code_state_changed_in_the_tables_is_named(node: str, tmp_path: Path) -> None:
    with tampering(node) as conn:
        code = conn.execute(
            text("SELECT code FROM trace_code WHERE status <> 'destroyed' ORDER BY id LIMIT 1")
        ).scalar_one()
        conn.execute(text(f"UPDATE trace_code SET status = 'destroyed' WHERE code = '{code}'"))
    _failed(tmp_path, "the tables differ from the log", f"code {code}", "status is destroyed")


def test_verify_without_the_nodes_key_refuses_and_makes_none(node: str, tmp_path: Path) -> None:
    key = tmp_path / "ledger" / "trace.key"
    key.rename(tmp_path / "elsewhere.key")  # run with settings that miss the node's key
    code, out = verify(tmp_path)
    assert code == 1 and "no signing key at" in out and "node's own settings" in out
    assert not key.exists()  # a second key would stop the node from starting


def test_a_checkpoint_signed_by_another_key_is_refused(node: str, tmp_path: Path) -> None:
    other = SigningKey.load_or_create(ORIGIN, tmp_path / "other.key")
    with tampering(node) as conn:
        size, root = conn.execute(
            text("SELECT tree_size, root FROM ledger_checkpoint ORDER BY tree_size DESC LIMIT 1")
        ).one()
        forged = other.sign(Checkpoint(ORIGIN, int(size), bytes(root))).text()
        conn.execute(
            text("UPDATE ledger_checkpoint SET note = :note WHERE tree_size = :size"),
            {"note": forged, "size": size},
        )
    _failed(tmp_path, "forged checkpoint", f"no signature by {ORIGIN}")


def test_a_trusted_checkpoint_signed_by_another_key_is_refused(node: str, tmp_path: Path) -> None:
    trusted = Path(trusted_args(tmp_path)[1])
    body = Note.parse(trusted.read_text()).body
    other = SigningKey.load_or_create(ORIGIN, tmp_path / "other.key")
    trusted.write_text(other.sign(Checkpoint.parse_body(body)).text())
    _failed(tmp_path, "trusted checkpoint refused", f"no signature by {ORIGIN}")


def _earlier_checkpoint(url: str, data_dir: Path) -> tuple[int, Path]:
    """A checkpoint the node signed before its latest, kept as the trusted one."""
    with tampering(url) as conn:
        size, note = conn.execute(
            text("SELECT tree_size, note FROM ledger_checkpoint ORDER BY tree_size LIMIT 1")
        ).one()
        assert int(size) < _size(conn)
    kept = data_dir / "earlier.txt"
    kept.write_text(str(note))
    return int(size), kept


def test_a_newer_checkpoint_is_checked_for_consistency(node: str, tmp_path: Path) -> None:
    size, kept = _earlier_checkpoint(node, tmp_path)
    key = trusted_args(tmp_path)[3]
    code, out = verify(tmp_path, "--trusted", str(kept), "--trusted-key", key)
    assert code == 0 and f"trusted checkpoint at size {size}" in out, out
    with tampering(node) as conn:  # the tree's rightmost node, past the trusted size, changed
        latest = _size(conn)
        level = (latest & -latest).bit_length() - 1
        conn.execute(
            text("UPDATE ledger_node SET hash = :h WHERE node_key = :k"),
            {"h": bytes(32), "k": level << LEVEL_SHIFT | (latest >> level) - 1},
        )
    code, out = verify(tmp_path, "--trusted", str(kept), "--trusted-key", key)
    assert code == 1 and "fork" in out and f"trusted checkpoint at size {size}" in out, out


def test_witness_cosignatures_can_be_required(node: str, tmp_path: Path) -> None:
    trusted = Path(trusted_args(tmp_path)[1])
    witness = SigningKey.load_or_create("vaxtrace/w/trace", tmp_path / "w.key")
    cosigner = witness.verifier(COSIGNATURE_V1).text()
    code, out = verify(tmp_path, *trusted_args(tmp_path), "--witness", cosigner)
    assert code == 1 and "trusted checkpoint refused" in out and "vaxtrace/w/trace" in out
    note = Note.parse(trusted.read_text())
    trusted.write_text(note.with_signature(witness.cosign(note, 1_790_000_000)).text())
    code, out = verify(tmp_path, *trusted_args(tmp_path), "--witness", cosigner)
    assert code == 0 and "cosigned by vaxtrace/w/trace" in out, out


def test_the_trusted_checkpoint_fetched_from_a_log(
    node: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(build_app(Settings(data_dir=tmp_path)))
    monkeypatch.setattr(
        ledger_command, "http_client", lambda _settings: contextlib.nullcontext(client)
    )
    key = trusted_args(tmp_path)[3]
    url = "http://testserver/trace/v1/ledger"
    code, out = verify(tmp_path, "--from", url, "--trusted-key", key)
    assert code == 0 and "ledger ok" in out, out
    code, out = verify(tmp_path, "--from", url, "--trusted", key, "--trusted-key", key)
    assert code == 1 and "once" in out
