"""Readers entitled (issue 12, rule 4): a revoked certificate is refused everywhere, over real
mutual TLS: on public routes (the platform's resolution, the trace system's consumer view, its
log, health, docs), on staff routes and on system routes, from the next request on, the same
connection included; and in-process, on the province's and the supervision system's routes.
403 ``certificate_revoked`` as problem+json; a certificate in good standing is answered as
before."""

# No "from __future__ import annotations": FastAPI apps are built here from annotations.
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from vaxtrace.app import build_app
from vaxtrace.core.registry import ConnectedSystem, RegisteredOrganisation
from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.node import ledger_service
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.roles.trace.service import TraceService
from vaxtrace.settings import Settings
from vaxtrace.sim.catalogue import mahs
from vaxtrace.sim.federation import free_port, mtls_client
from vaxtrace.store.trace.documents import TRACE_LEDGER
from vaxtrace.web.tls import mtls_config, with_tls

MAH_ORG = mahs(1)[0].organisation
MAH = MAH_ORG.uscc
PROBLEM = "application/problem+json"

ROUTES = {
    "platform resolution (public)": ("/platform/v1/resolve", {"code": "8123"}, 422),
    "consumer view (public)": ("/trace/v1/public/codes", {"code": "8123"}, 422),
    "log key (public)": ("/trace/v1/ledger/key", {}, 200),
    "code record (staff, no token)": ("/trace/v1/codes", {"code": "8123"}, 401),
    "registry feed (system)": ("/platform/v1/registry/changes", {"since": 0}, 200),
    "health": ("/health", {}, 200),
    "interactive docs": ("/docs", {}, 200),
    "no such route": ("/no/such/route", {}, 404),
}
"""Each route, what it is asked, and what a caller in good standing gets."""


@dataclass
class Node:
    base: str
    ca: CertificateAuthority
    certs: Path
    token: str
    """A staff token of the MAH at the trace system."""

    def client(self, system_id: str) -> httpx.Client:
        return mtls_client(self.ca.cert_path, self.certs, system_id)

    def revoke(self, system_id: str) -> None:
        pem = (self.certs / f"{system_id}.pem").read_bytes()
        self.ca.revoke(x509.load_pem_x509_certificate(pem))


def _platform(engine: Engine) -> PlatformService:
    platform = PlatformService(engine)
    org = RegisteredOrganisation(uscc=MAH, name=MAH_ORG.name, kind="mah", division_code="320100")
    platform.register_organisation(org)
    for system_id in ("trace-a", "trace-x"):
        platform.register_system(
            ConnectedSystem.named_by_id(system_id, "trace", MAH, "https://t.example", (MAH,))
        )
    return platform


@pytest.fixture
def node(role_engines: Callable[[str], Engine], tmp_path: Path) -> Iterator[Node]:
    """A trace system and the platform in one process, served over mutual TLS only."""
    settings = Settings(data_dir=tmp_path / "node")
    ca = CertificateAuthority(settings.pki_dir)
    ca.create()
    certs = tmp_path / "certs"
    ca.issue_server(["127.0.0.1"], certs, "server")
    for system_id in ("trace-a", "trace-x"):
        ca.issue_system(system_id, MAH, certs)
    trace_engine = role_engines("trace")
    trace = TraceService(
        trace_engine, ledger_service(settings, "trace", trace_engine, TRACE_LEDGER)
    )
    trace.register_organisation(MAH_ORG)
    token = trace.issue_token(MAH)
    platform = _platform(role_engines("platform"))
    app = build_app(settings, roles=("trace", "platform"), trace=trace, platform=platform)
    port = free_port()
    config = mtls_config(
        app,
        host="127.0.0.1",
        port=port,
        certfile=str(certs / "server.pem"),
        keyfile=str(certs / "server.key"),
        ca_file=str(ca.cert_path),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield Node(f"https://127.0.0.1:{port}", ca, certs, token)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_revoked_certificate_is_refused_on_every_route(node: Node, route: str) -> None:
    path, params, good = ROUTES[route]
    with node.client("trace-x") as revoked, node.client("trace-a") as standing:
        assert revoked.get(node.base + path, params=params).status_code == good
        node.revoke("trace-x")
        answer = revoked.get(node.base + path, params=params)  # the same connection
        assert standing.get(node.base + path, params=params).status_code == good
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["reason"] == "certificate_revoked"
    assert "trace-x" in answer.json()["detail"]


def test_a_valid_token_does_not_make_up_for_a_revoked_certificate(node: Node) -> None:
    path, auth = "/trace/v1/batches/NO-SUCH", {"Authorization": f"Bearer {node.token}"}
    with node.client("trace-x") as revoked, node.client("trace-a") as standing:
        assert revoked.get(node.base + path, headers=auth).status_code == 404
        node.revoke("trace-x")
        answer = revoked.get(node.base + path, headers=auth)
        assert standing.get(node.base + path, headers=auth).status_code == 404
    assert answer.status_code == 403 and answer.json()["reason"] == "certificate_revoked"


@pytest.mark.parametrize(
    ("role", "path"),
    [("immunization", "/immunization/v1/stock"), ("supervision", "/supervision/v1/steps")],
)
def test_in_process_too(
    role_engines: Callable[[str], Engine], tmp_path: Path, role: str, path: str
) -> None:
    """A local system presenting its certificate in-process (``--role all``) is refused alike."""
    url = role_engines(role).url.render_as_string(hide_password=False)
    settings = Settings(data_dir=tmp_path, **{f"{role}_database_url": url})
    ca = CertificateAuthority(settings.pki_dir)
    ca.create()
    cert = ca.issue_system("local-x", MAH, tmp_path / "certs")
    app = build_app(settings, roles=(role,))
    client = TestClient(with_tls(app, {"client_cert_chain": [_pem(cert)]}))
    assert client.get(path).status_code == 401  # a staff route, no token
    ca.revoke(cert)
    answer = client.get(path)
    assert answer.status_code == 403 and answer.json()["reason"] == "certificate_revoked"
    assert answer.headers["content-type"] == PROBLEM


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
