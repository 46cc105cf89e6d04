"""Two nodes as separate processes over real HTTP: one watches the other's log and cosigns."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.ledger.checkpoint import COSIGNATURE_V1, Note, SigningKey
from vaxtrace.sim.federation import serve_node

LEDGER = "/trace/v1/ledger"


def test_a_watching_node_cosigns_the_other_log(tmp_path: Path) -> None:
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    demo = CliRunner().invoke(
        app,
        ["demo", "--no-serve", "--units", "1000", "--data-dir", str(a_dir)],
        env={"VAXTRACE_NODE_NAME": "a"},
    )
    assert demo.exit_code == 0, demo.output
    a_key = SigningKey.load_or_create("vaxtrace/a/trace", a_dir / "ledger" / "trace.key")
    b_key = SigningKey.load_or_create("vaxtrace/b/trace", b_dir / "ledger" / "trace.key")
    a_env = {
        "VAXTRACE_DATA_DIR": str(a_dir),
        "VAXTRACE_NODE_NAME": "a",
        "VAXTRACE_LEDGER_CHECKPOINT_SECONDS": "0.3",
        "VAXTRACE_LEDGER_WITNESSES": f'["{b_key.verifier(COSIGNATURE_V1).text()}"]',
    }
    with serve_node(a_env) as a_url:
        b_env = {
            "VAXTRACE_DATA_DIR": str(b_dir),
            "VAXTRACE_NODE_NAME": "b",
            "VAXTRACE_LEDGER_CHECKPOINT_SECONDS": "0.3",
            "VAXTRACE_LEDGER_PEERS": f'["{a_url} {a_key.verifier().text()}"]',
        }
        with serve_node(b_env) as b_url:
            for _ in range(100):
                note = Note.parse(httpx.get(f"{a_url}{LEDGER}/checkpoint").text)
                if len(note.signatures) == 2:
                    break
                time.sleep(0.1)
            assert a_key.verifier().verify(note) is None
            assert b_key.verifier(COSIGNATURE_V1).verify(note) is not None
            assert httpx.get(f"{b_url}{LEDGER}/alerts").json() == []
