"""``vaxtrace serve`` over real HTTP: a separate process on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.sim.federation import serve_node


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--units", "1000", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    with serve_node({"VAXTRACE_DATA_DIR": str(tmp_path)}) as base:
        yield base, tmp_path


def test_public_query_and_refusals_over_http(served: tuple[str, Path]) -> None:
    import json

    base, data_dir = served
    info = json.loads((data_dir / "demo.json").read_text())
    code = info["codes"][0]
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
