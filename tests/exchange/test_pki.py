"""The platform CA through ``vaxtrace pki``: init once, issue, revoke."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.exchange.pki import CertificateAuthority, identity_of

runner = CliRunner()
USCC = "91320100MA1X000009"


def test_init_issue_revoke(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert runner.invoke(app, ["pki", "init", *data]).exit_code == 0
    again = runner.invoke(app, ["pki", "init", *data])
    assert again.exit_code == 1 and "ca_exists" in again.output
    assert (tmp_path / "pki" / "ca.key").stat().st_mode & 0o777 == 0o600
    out = tmp_path / "certs"
    issued = runner.invoke(
        app, ["pki", "issue-system", "mah-1", "--org", USCC, "--out", str(out), *data]
    )
    assert issued.exit_code == 0, issued.output
    cert = x509.load_pem_x509_certificate((out / "mah-1.pem").read_bytes())
    assert identity_of(cert).system_id == "mah-1" and identity_of(cert).org_uscc == USCC
    assert (out / "mah-1.key").stat().st_mode & 0o777 == 0o600
    bad = runner.invoke(app, ["pki", "issue-system", "mah-2", "--org", "123", *data])
    assert bad.exit_code == 1 and "uscc" in bad.output
    assert runner.invoke(app, ["pki", "revoke", str(out / "mah-1.pem"), *data]).exit_code == 0
    assert cert.serial_number in CertificateAuthority(tmp_path / "pki").revoked()
    server = runner.invoke(
        app, ["pki", "issue-server", "127.0.0.1", "node.example", "--out", str(out), *data]
    )
    assert server.exit_code == 0
