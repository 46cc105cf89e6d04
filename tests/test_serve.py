"""``vaxtrace serve`` over real HTTP: a separate process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vaxtrace.cli import app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--units", "1000", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    port = _free_port()
    env = dict(os.environ, VAXTRACE_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaxtrace.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        yield base, tmp_path
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_public_query_and_refusals_over_http(served: tuple[str, Path]) -> None:
    import json

    base, data_dir = served
    info = json.loads((data_dir / "demo.json").read_text())
    code = info["samples"][0]
    public = httpx.get(f"{base}/trace/v1/public/codes", params={"code": code})
    assert public.status_code == 200
    assert public.json()["code"] == code and "holder_uscc" not in public.json()
    anonymous = httpx.get(f"{base}/trace/v1/codes", params={"code": code})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    token = next(iter(info["tokens"].values()))
    full = httpx.get(
        f"{base}/trace/v1/codes",
        params={"code": code},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert full.status_code == 200 and full.json()["history"]
    malformed = httpx.get(f"{base}/trace/v1/public/codes", params={"code": "8123"})
    assert malformed.status_code == 422
    assert malformed.json()["reason"] == "bad_length" and malformed.json()["field"] == "code"
    assert httpx.get(f"{base}/docs").status_code == 200
