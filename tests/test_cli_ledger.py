"""``vaxtrace ledger``: verify, prove and check-proof, with tampering done in raw SQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.ledger import LEDGER_TABLES

runner = CliRunner()


@pytest.fixture
def node(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Demo data in the database of each backend, the node's key in tmp_path."""
    monkeypatch.setenv("VAXTRACE_TRACE_DATABASE_URL", database_url)
    result = runner.invoke(
        app, ["demo", "--no-serve", "--units", "1000", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    keep_trusted_checkpoint(tmp_path)
    return database_url


def _ledger(*args: str, data_dir: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["ledger", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def keep_trusted_checkpoint(data_dir: Path) -> list[str]:
    """What an operator keeps outside the node at the end of a run: the log's checkpoint and
    its verifier key, saved beside the data directory; the ``verify`` arguments to use them."""
    kept = data_dir.parent / f"{data_dir.name}-kept"
    kept.mkdir(exist_ok=True)
    for command, name in (("checkpoint", "checkpoint.txt"), ("key", "key.txt")):
        code, out = _ledger(command, data_dir=data_dir)
        assert code == 0, out
        (kept / name).write_text(out)
    return trusted_args(data_dir)


def trusted_args(data_dir: Path) -> list[str]:
    kept = data_dir.parent / f"{data_dir.name}-kept"
    return ["--trusted", str(kept / "checkpoint.txt"), "--trusted-key", str(kept / "key.txt")]


def verify(data_dir: Path, *extra: str) -> tuple[int, str]:
    return _ledger("verify", *(extra or trusted_args(data_dir)), data_dir=data_dir)


def _tamper(url: str, *statements: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        drop_append_only(conn, ("trace_event", "event_code", *LEDGER_TABLES))
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_verify_prove_and_check(node: str, tmp_path: Path) -> None:
    code, out = verify(tmp_path)
    assert code == 0 and "ledger ok" in out
    proof = tmp_path / "proof.json"
    code, out = _ledger("prove", "7", "--output", str(proof), data_dir=tmp_path)
    assert code == 0, out
    checked = runner.invoke(app, ["ledger", "check-proof", str(proof)])
    assert checked.exit_code == 0 and "proof ok: event 7" in checked.output
    bundle = json.loads(proof.read_text())
    pinned = runner.invoke(app, ["ledger", "check-proof", str(proof), "--key", bundle["log_key"]])
    assert pinned.exit_code == 0
    proof.write_text(json.dumps(bundle | {"document": None}))  # as a public reader gets it
    public = runner.invoke(app, ["ledger", "check-proof", str(proof)])
    assert public.exit_code == 0 and "proof ok: event 7 (leaf hash" in public.output
    bundle["leaf_index"] += 1
    proof.write_text(json.dumps(bundle))
    forged = runner.invoke(app, ["ledger", "check-proof", str(proof)])
    assert forged.exit_code == 1 and "proof rejected" in forged.output


# event 4 is the first production warehousing (101), listing the first batch's cases
@pytest.mark.parametrize(
    ("statements", "word"),
    [
        (
            ["UPDATE trace_event SET document_no = 'FORGED' WHERE id = 4"],
            "event 4 (leaf 3) was altered",
        ),
        (["DELETE FROM event_code WHERE event_id = 4"], "event 4 (leaf 3) was altered"),
        (
            [
                "DELETE FROM write_request WHERE event_id = 4",
                "DELETE FROM event_code WHERE event_id = 4",
                "DELETE FROM trace_event WHERE id = 4",
            ],
            "event 4 (leaf 3) was deleted",
        ),
        (
            [
                "UPDATE ledger_leaf SET event_id = -1 WHERE event_id = 4",
                "UPDATE ledger_leaf SET event_id = 4 WHERE event_id = 5",
                "UPDATE ledger_leaf SET event_id = 5 WHERE event_id = -1",
            ],
            "reordered",
        ),
    ],
)
def test_tampering_in_raw_sql_is_named(
    node: str, tmp_path: Path, statements: list[str], word: str
) -> None:
    _tamper(node, *statements)
    code, out = verify(tmp_path)
    assert code == 1
    assert word in out and "event 4" in out


def test_an_event_inserted_behind_the_logs_back_is_named(node: str, tmp_path: Path) -> None:
    _tamper(
        node,
        "INSERT INTO trace_event (event_uuid, bill_type, org_uscc, business_time, recorded_time,"
        " document_no, client_document_id, payload) VALUES ('forged-uuid', '201', 'x', "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 'D', 'forged', '{}')",
    )
    code, out = verify(tmp_path)
    assert code == 1 and "has no leaf" in out
