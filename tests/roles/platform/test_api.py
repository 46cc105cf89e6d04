"""The platform as its own process over mutual TLS: a trace system registers its coding rule
with its certificate, anyone resolves, a revoked system is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.sim.catalogue import mahs, make_uscc, product_for
from vaxtrace.sim.federation import mtls_client, serve_node

MAH = make_uscc("91320100MA1X00001")
OTHER = make_uscc("91320200MA1X00002")
runner = CliRunner()


def _cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    d = ["--data-dir", str(tmp_path)]
    certs = tmp_path / "certs"
    _cli("pki", "init", *d)
    _cli("pki", "issue-server", "127.0.0.1", "--out", str(certs), *d)
    _cli(
        "platform",
        "add-org",
        MAH,
        "华东示例生物制品股份有限公司",
        "--kind",
        "mah",
        "--division",
        "320100",
        *d,
    )
    _cli(
        "platform",
        "add-org",
        OTHER,
        "江南示范疫苗有限公司",
        "--kind",
        "mah",
        "--division",
        "320200",
        *d,
    )
    _cli(
        "platform",
        "add-system",
        "trace-a",
        "--role",
        "trace",
        "--operator",
        MAH,
        "--endpoint",
        "https://trace-a.example",
        "--represents",
        MAH,
        "--out",
        str(certs),
        *d,
    )
    tls = [
        "--tls-cert",
        str(certs / "server.pem"),
        "--tls-key",
        str(certs / "server.key"),
        "--tls-ca",
        str(tmp_path / "pki" / "ca.pem"),
    ]
    probe = _client(tmp_path, "trace-a")
    with serve_node(
        {"VAXTRACE_DATA_DIR": str(tmp_path)}, "--role", "platform", *tls, client=probe
    ) as base:
        probe.close()  # an idle keep-alive connection would hold the server's shutdown
        yield base, tmp_path


def _client(folder: Path, system: str) -> httpx.Client:
    return mtls_client(folder / "pki" / "ca.pem", folder / "certs", system)


def _rule(mah: str, *entries: str) -> dict[str, object]:
    return {
        "mah_uscc": mah,
        "family": "nmpa20",
        "entries": list(entries),
        "serial_format": "N9",
        "check_algorithm": "VT-MOD97-10x2",
    }


def test_register_resolve_and_revoke_over_mutual_tls(platform: tuple[str, Path]) -> None:
    base, folder = platform
    with _client(folder, "trace-a") as client:
        done = client.post(f"{base}/platform/v1/coding-rules", json=_rule(MAH, "8000001"))
        assert done.status_code == 201, done.text
        not_mine = client.post(f"{base}/platform/v1/coding-rules", json=_rule(OTHER, "8000002"))
        assert not_mine.status_code == 403
        assert not_mine.json()["reason"] == "not_represented"
        found = client.get(
            f"{base}/platform/v1/resolve", params={"code": issue_nmpa20("8000001", 5)}
        )
        assert found.status_code == 200 and found.json()["system_id"] == "trace-a"
        changes = client.get(f"{base}/platform/v1/registry/changes", params={"since": 0})
        assert [c["key"] for c in changes.json()["changes"]] == [MAH, OTHER, "trace-a"]
        beyond = client.get(f"{base}/platform/v1/registry/changes", params={"since": 2**63})
        assert beyond.status_code == 422 and beyond.json()["field"] == "since"
    result = runner.invoke(
        app, ["pki", "revoke", str(folder / "certs" / "trace-a.pem"), "--data-dir", str(folder)]
    )
    assert result.exit_code == 0
    with _client(folder, "trace-a") as client:
        refused = client.post(f"{base}/platform/v1/coding-rules", json=_rule(MAH, "8000003"))
    assert refused.status_code == 403 and "revoked" in refused.json()["detail"]


def test_a_trace_system_registers_its_mahs_products(platform: tuple[str, Path]) -> None:
    base, folder = platform
    hepb = product_for(mahs(1)[0], 0, "HEPB").model_dump(mode="json") | {"mah_uscc": MAH}
    url = f"{base}/platform/v1/registry/products"
    codes = [level["identification_code"] for level in hepb["levels"]]
    with _client(folder, "trace-a") as client:
        unclaimed = client.post(url, json=hepb)
        assert unclaimed.status_code == 422 and unclaimed.json()["reason"] == "not_in_coding_rule"
        claimed = client.post(f"{base}/platform/v1/coding-rules", json=_rule(MAH, *codes))
        assert claimed.status_code == 201, claimed.text
        done = client.post(url, json=hepb)
        assert done.status_code == 201, done.text
        assert done.json() | {"version": 0} == {"key": f"{MAH}/HEPB", "changed": True, "version": 0}
        not_mine = client.post(url, json=hepb | {"mah_uscc": OTHER})
        assert not_mine.status_code == 403 and not_mine.json()["reason"] == "not_represented"
        bad = client.post(url, json=hepb | {"shelf_life_months": 0})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert "shelf_life_months" in bad.text
        feed = client.get(f"{base}/platform/v1/registry/changes", params={"since": 0}).json()
    assert [c["key"] for c in feed["changes"] if c["kind"] == "product"] == [f"{MAH}/HEPB"]
