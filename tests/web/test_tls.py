"""Mutual TLS over real sockets with real certificates: identity from the certificate only."""

# No "from __future__ import annotations": the route below is defined in a fixture and
# FastAPI must see its annotations evaluated.
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI

from vaxtrace.exchange.pki import CertificateAuthority, SystemIdentity
from vaxtrace.sim.federation import free_port, mtls_client
from vaxtrace.web import problems
from vaxtrace.web.identity import system_identity
from vaxtrace.web.tls import mtls_config

USCC = "91320100MA1X000009"


@pytest.fixture
def pki(tmp_path: Path) -> CertificateAuthority:
    ca = CertificateAuthority(tmp_path / "ca")
    ca.create()
    ca.issue_server(["127.0.0.1", "localhost"], tmp_path / "server", "node")
    ca.issue_system("mah-trace-1", USCC, tmp_path / "clients")
    ca.issue_system("mah-trace-2", USCC, tmp_path / "clients")
    return ca


@pytest.fixture
def server(pki: CertificateAuthority, tmp_path: Path) -> Iterator[str]:
    app = FastAPI()
    problems.install(app)
    Caller = Annotated[SystemIdentity, Depends(system_identity(pki.revoked))]

    @app.get("/whoami")
    def whoami(caller: Caller) -> dict[str, str]:
        return {"system_id": caller.system_id, "org_uscc": caller.org_uscc}

    port = free_port()
    config = mtls_config(
        app,
        host="127.0.0.1",
        port=port,
        certfile=str(tmp_path / "server" / "node.pem"),
        keyfile=str(tmp_path / "server" / "node.key"),
        ca_file=str(pki.cert_path),
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    for _ in range(100):
        if runner.started:
            break
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(timeout=10)


def _client(pki: CertificateAuthority, cert_dir: Path | None, name: str = "") -> httpx.Client:
    return mtls_client(pki.cert_path, cert_dir, name)


def test_identity_comes_from_the_certificate(
    server: str, pki: CertificateAuthority, tmp_path: Path
) -> None:
    with _client(pki, tmp_path / "clients", "mah-trace-1") as client:
        answer = client.get(f"{server}/whoami", headers={"X-System-Id": "mah-trace-2"})
    assert answer.status_code == 200
    assert answer.json() == {"system_id": "mah-trace-1", "org_uscc": USCC}


def test_no_certificate_is_refused_in_the_handshake(server: str, pki: CertificateAuthority) -> None:
    with (
        _client(pki, None) as client,
        pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)),
    ):
        client.get(f"{server}/whoami")


def test_a_certificate_of_another_ca_is_refused(
    server: str, pki: CertificateAuthority, tmp_path: Path
) -> None:
    rogue = CertificateAuthority(tmp_path / "rogue")
    rogue.create("Rogue CA")
    rogue.issue_system("mah-trace-1", USCC, tmp_path / "rogue-clients")
    with (
        _client(pki, tmp_path / "rogue-clients", "mah-trace-1") as client,
        pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)),
    ):
        client.get(f"{server}/whoami")


def test_a_revoked_certificate_is_refused(
    server: str, pki: CertificateAuthority, tmp_path: Path
) -> None:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((tmp_path / "clients" / "mah-trace-2.pem").read_bytes())
    pki.revoke(cert)
    with _client(pki, tmp_path / "clients", "mah-trace-2") as client:
        answer = client.get(f"{server}/whoami")
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert "revoked" in answer.json()["detail"]
    crl = x509.load_pem_x509_crl(pki.crl_path.read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    with _client(pki, tmp_path / "clients", "mah-trace-1") as client:
        assert client.get(f"{server}/whoami").status_code == 200
