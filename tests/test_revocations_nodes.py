"""A certificate revoked at the platform's CA is refused by every node of the federation, not
only the platform: a MAH's trace node, its own process with its own data directory, takes the
CA's revocation list with the registry and refuses the revoked system from then on."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from cryptography import x509
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.sim.federation import Federation, free_port

runner = CliRunner()


def test_a_certificate_revoked_at_the_platform_is_refused_by_the_nodes(tmp_path: Path) -> None:
    demo = runner.invoke(
        app, ["demo", "--no-serve", "--units", "1000", "--data-dir", str(tmp_path / "mah")]
    )
    assert demo.exit_code == 0, demo.output
    federation = Federation(tmp_path)
    node = federation.add_mah_node("trace-a", tmp_path / "mah", 0, port=free_port())
    cdc = make_uscc("12320000MB0000001")
    federation.add_province("province-32", cdc, tmp_path / "province", free_port())
    checkpoint = f"https://127.0.0.1:{node.port}/trace/v1/ledger/checkpoint"
    with contextlib.ExitStack() as stack:
        stack.enter_context(federation.serve_platform())
        stack.enter_context(federation.serve_mah(node))
        province = stack.enter_context(federation.client("province-32"))
        assert province.get(checkpoint).status_code == 200
        certificate = x509.load_pem_x509_certificate(
            (federation.certs / "province-32.pem").read_bytes()
        )
        federation.ca.revoke(certificate)
        deadline = time.monotonic() + 20
        answer = province.get(checkpoint)
        while answer.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            province.close()  # a new connection each time: the refusal is per request
            province = stack.enter_context(federation.client("province-32"))
            answer = province.get(checkpoint)
        assert answer.status_code == 403, answer.text
        assert answer.json()["reason"] == "certificate_revoked"
        revoked = (tmp_path / "mah" / "pki" / "revoked.json").read_text()
        assert str(certificate.serial_number) in revoked
        other = stack.enter_context(federation.client("platform"))
        assert other.get(checkpoint).status_code == 200  # only the revoked one
    federation.close()
