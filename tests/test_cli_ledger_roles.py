"""Every node keeps a log: the platform's, the province's and supervision's journals are
verified, proved and tampered with as the trace log is (``ledger … --role R``), against the
checkpoint the demo kept outside the node, cosigned by the other roles."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.ledger.checkpoint import Note
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.migrations.log_tables import LOG_HISTORY

runner = CliRunner()
JOURNAL_ROLES = ("platform", "immunization", "supervision")


@pytest.fixture(params=JOURNAL_ROLES)
def role_node(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, str]:
    """The demo, with the role under test on each backend (the others on SQLite files)."""
    role: str = request.param
    if database_url.startswith("sqlite"):  # the data directory's own file of the role
        database_url = f"sqlite:///{tmp_path / f'{role}.sqlite'}"
    else:
        monkeypatch.setenv(f"VAXTRACE_{role.upper()}_DATABASE_URL", database_url)
    result = runner.invoke(
        app, ["demo", "--no-serve", "--units", "1000", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    return role, database_url


def _ledger(role: str, data_dir: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ledger", *args, "--role", role, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def _verify(role: str, data_dir: Path) -> tuple[int, str]:
    kept = data_dir.parent / f"{data_dir.name}-kept"
    trusted = ["--trusted", str(kept / f"{role}-checkpoint.txt")]
    return _ledger(
        role, data_dir, "verify", *trusted, "--trusted-key", str(kept / f"{role}-key.txt")
    )


def _tampered(url: str) -> Connection:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET session_replication_role = replica"))
    drop_append_only(conn, LOG_HISTORY)
    return conn


def _entries(conn: Connection) -> list[tuple[int, str]]:
    return [(int(i), str(k)) for i, k in conn.execute(text("SELECT id, kind FROM log_entry"))]


def test_an_untouched_journal_is_cosigned_verifies_proves_and_keeps_its_name(
    role_node: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One demo for what leaves the journal as it is (a demo a test is the slow part)."""
    role, url = role_node
    kept = tmp_path.parent / f"{tmp_path.name}-kept"
    note = Note.parse((kept / f"{role}-checkpoint.txt").read_text())
    others = {f"vaxtrace/local/{r}" for r in ("trace", *JOURNAL_ROLES) if r != role}
    assert {s.name for s in note.signatures} == {f"vaxtrace/local/{role}"} | others
    code, out = _verify(role, tmp_path)
    assert code == 0, out
    assert "ledger ok" in out and f"signed by vaxtrace/local/{role}" in out
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        entry_id, kind = _entries(conn)[-1]
    engine.dispose()
    bundle_file = tmp_path / "proof.json"
    code, out = _ledger(role, tmp_path, "prove", str(entry_id), "--output", str(bundle_file))
    assert code == 0, out
    document = json.loads(base64.b64decode(json.loads(bundle_file.read_text())["document"]))
    assert document["kind"] == kind
    result = runner.invoke(app, ["ledger", "check-proof", str(bundle_file)])
    assert result.exit_code == 0, result.output
    assert f"({kind} entry" in result.output and f"is leaf {entry_id - 1} of" in result.output
    # renamed, the node signs on under the log's own name: one log
    monkeypatch.setenv("VAXTRACE_NODE_NAME", "renamed")
    code, out = _ledger(role, tmp_path, "key")
    assert code == 0, out
    assert out.startswith(f"vaxtrace/local/{role}+")
    code, out = _verify(role, tmp_path)
    assert code == 0, out


def test_an_altered_entry_is_named(role_node: tuple[str, str], tmp_path: Path) -> None:
    role, url = role_node
    with _tampered(url) as conn:
        entry_id, _kind = _entries(conn)[3]
        forged = b'{"kind":"forged"}'
        conn.execute(
            text("UPDATE log_entry SET document = :d WHERE id = :i"), {"d": forged, "i": entry_id}
        )
        conn.commit()
    code, out = _verify(role, tmp_path)
    assert code == 1, out
    assert f"event {entry_id}" in out and "altered" in out


def test_a_rolled_back_journal_is_named(role_node: tuple[str, str], tmp_path: Path) -> None:
    role, url = role_node
    with _tampered(url) as conn:
        size = int(conn.execute(text("SELECT COUNT(*) FROM ledger_leaf")).scalar_one())
        keep = size - 5
        later = f"(SELECT event_id FROM ledger_leaf WHERE leaf_index >= {keep})"
        conn.execute(text(f"DELETE FROM log_entry WHERE id IN {later}"))
        conn.execute(text(f"DELETE FROM ledger_leaf WHERE leaf_index >= {keep}"))
        for table in ("ledger_cosignature", "ledger_checkpoint"):
            conn.execute(text(f"DELETE FROM {table} WHERE tree_size > {keep}"))
        conn.commit()
    code, out = _verify(role, tmp_path)
    assert code == 1, out
    assert "rollback" in out and f"covers {size}" in out
