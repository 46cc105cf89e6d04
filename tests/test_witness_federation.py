"""Logs anchored outside their node in a federation: a MAH's trace node and a province node,
each its own process over mutual TLS, register their logs' keys; the platform witnesses both,
lists their cosigned checkpoints in its directory, and each node keeps the platform's
cosignature. ``ledger verify --from`` the platform's directory then checks the node's log."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.ledger.checkpoint import Note
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.sim.federation import Federation, free_port, log_key_of

runner = CliRunner()
DIRECTORY = "/platform/v1/ledger/witnessed"


def _eventually(read: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(0.2)
    return read()


def test_the_platform_witnesses_every_registered_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = runner.invoke(  # its logs named as the system the MAH's node will be
        app,
        ["demo", "--no-serve", "--units", "1000", "--data-dir", str(tmp_path / "mah")],
        env={"VAXTRACE_NODE_NAME": "trace-a"},
    )
    assert demo.exit_code == 0, demo.output
    federation = Federation(tmp_path)
    node = federation.add_mah_node("trace-a", tmp_path / "mah", 0, port=free_port())
    node.env["VAXTRACE_LEDGER_CHECKPOINT_SECONDS"] = "0.3"
    cdc = make_uscc("12320000MB0000001")
    province_port = free_port()
    province = federation.add_province("province-32", cdc, tmp_path / "province", province_port)
    province["VAXTRACE_LEDGER_CHECKPOINT_SECONDS"] = "0.3"
    keys = {
        "vaxtrace/trace-a/trace": federation.register_log("trace-a", node.env, "trace"),
        "vaxtrace/province-32/immunization": federation.register_log(
            "province-32", province, "immunization"
        ),
    }
    platform_env = federation.platform_env() | {"VAXTRACE_LEDGER_CHECKPOINT_SECONDS": "0.3"}
    with contextlib.ExitStack() as stack:
        monkeypatch.setattr(federation, "platform_env", lambda: platform_env)
        stack.enter_context(federation.serve_platform())
        stack.enter_context(federation.serve_mah(node))
        stack.enter_context(federation.serve_province(province, province_port))
        client = stack.enter_context(federation.client("platform"))
        base = f"https://127.0.0.1:{federation.platform_port}"

        def directory() -> dict[str, Any]:
            answer = client.get(f"{base}{DIRECTORY}")
            assert answer.status_code == 200, answer.text
            return {entry["origin"]: entry for entry in answer.json()}

        listed = _eventually(directory, lambda found: set(found) == set(keys))
        assert set(listed) == set(keys)
        platform_key = client.get(f"{base}/platform/v1/ledger/key").text.splitlines()[1]
        for origin, entry in listed.items():
            note = Note.parse(entry["checkpoint"])
            assert {origin, "vaxtrace/platform/platform"} <= {s.name for s in note.signatures}
        # each node takes the platform's cosignature on its own checkpoint
        trace_url = f"https://127.0.0.1:{node.port}/trace/v1/ledger/checkpoint"
        trace_client = stack.enter_context(federation.client("platform"))

        def trace_signers() -> set[str]:
            return {s.name for s in Note.parse(trace_client.get(trace_url).text).signatures}

        signers = _eventually(trace_signers, lambda names: "vaxtrace/platform/platform" in names)
        assert {"vaxtrace/trace-a/trace", "vaxtrace/platform/platform"} <= signers
        # the MAH's operator verifies the node against the platform's directory
        verify = runner.invoke(
            app,
            [
                "ledger",
                "verify",
                "--from",
                f"{base}{DIRECTORY}/vaxtrace/trace-a/trace",
                "--trusted-key",
                keys["vaxtrace/trace-a/trace"],
                "--witness",
                platform_key,
            ],
            env=node.env,
        )
        assert verify.exit_code == 0, verify.output
        assert "cosigned by vaxtrace/platform/platform" in verify.output
        unknown = client.get(f"{base}{DIRECTORY}/vaxtrace/nobody/trace/checkpoint")
        assert unknown.status_code == 404
        assert unknown.json()["reason"] == "unknown_log"
    assert log_key_of(node.env, "trace") == keys["vaxtrace/trace-a/trace"]
    federation.close()
