"""Readers entitled (issue 12, rule 3): the registry feed names every system's endpoint and
exchange key, so only a registered system, run by the organisation its certificate names and
not revoked, reads it. A certificate the platform's CA issued is not enough."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.roles.platform.platform_world import HOST, MAH_A, MAH_B
from vaxtrace.app import build_app
from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.pki import CertificateAuthority, SystemIdentity
from vaxtrace.roles.platform.service import PlatformService
from vaxtrace.settings import Settings
from vaxtrace.web.tls import with_tls

FEED = "/platform/v1/registry/changes"
PROBLEM = "application/problem+json"


class Feed:
    """The platform's app, its CA, and certificates it issued, in ``certs``."""

    def __init__(self, platform: PlatformService, folder: Path) -> None:
        settings = Settings(data_dir=folder)
        self.ca = CertificateAuthority(settings.pki_dir)
        self.ca.create()
        self.certs = folder / "certs"
        self.app: FastAPI = build_app(settings, roles=("platform",), platform=platform)

    def issue(self, system_id: str, org_uscc: str, stem: str | None = None) -> Path:
        out = self.certs / (stem or system_id)
        self.ca.issue_system(system_id, org_uscc, out)
        return out / f"{system_id}.pem"

    def client(self, cert: Path | None) -> TestClient:
        """A caller presenting ``cert`` (None: no certificate at all)."""
        if cert is None:
            return TestClient(self.app)
        return TestClient(with_tls(self.app, {"client_cert_chain": [cert.read_text()]}))


@pytest.fixture
def feed(platform: PlatformService, tmp_path: Path) -> Feed:
    return Feed(platform, tmp_path)


def _refused(client: TestClient, status: int, reason: str) -> None:
    answer = client.get(FEED, params={"since": 0})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["reason"] == reason


def test_a_registered_system_reads_the_feed(feed: Feed) -> None:
    answer = feed.client(feed.issue("trace-a", HOST)).get(FEED, params={"since": 0})
    assert answer.status_code == 200, answer.text
    systems = [c["key"] for c in answer.json()["changes"] if c["kind"] == "system"]
    assert systems == ["trace-a", "trace-b"]


def test_a_certificate_of_an_unregistered_system_reads_nothing(feed: Feed) -> None:
    _refused(feed.client(feed.issue("trace-z", MAH_A)), 403, "unknown_system")


def test_a_certificate_naming_another_operator_reads_nothing(feed: Feed) -> None:
    """trace-b is run by MAH B: a certificate for it issued to MAH A is not trace-b's."""
    _refused(feed.client(feed.issue("trace-b", MAH_A, "forged")), 403, "certificate_mismatch")


def test_a_revoked_system_reads_nothing(feed: Feed) -> None:
    cert = feed.issue("trace-b", MAH_B)
    feed.ca.revoke(x509.load_pem_x509_certificate(cert.read_bytes()))
    _refused(feed.client(cert), 403, "certificate_revoked")


def test_no_certificate_no_feed(feed: Feed) -> None:
    _refused(feed.client(None), 401, "unauthenticated")


def test_the_service_refuses_an_unregistered_caller(platform: PlatformService) -> None:
    with pytest.raises(DomainError) as refused:
        platform.changes_for(SystemIdentity("trace-z", MAH_A, 7), 0)
    assert refused.value.reason == "unknown_system"
    assert platform.changes_for(SystemIdentity("trace-a", HOST, 8), 0)["changes"]
