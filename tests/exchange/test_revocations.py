"""The CA's revocation list as a node takes it: only the trusted CA's, and for good."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from vaxtrace.exchange.pki import CertificateAuthority, revoked_serials
from vaxtrace.exchange.revocations import RevocationListError, keep_revoked, serials_in

USCC = "91320100MA1X000009"


def _ca(folder: Path, name: str) -> CertificateAuthority:
    ca = CertificateAuthority(folder)
    ca.create(name)
    return ca


def _revoked_one(ca: CertificateAuthority, out: Path) -> x509.Certificate:
    cert = ca.issue_system("mah-1", USCC, out)
    ca.revoke(cert)
    return cert


def test_a_list_signed_by_the_trusted_ca_is_read(tmp_path: Path) -> None:
    ca = _ca(tmp_path / "ca", "VaxTrace Platform CA")
    assert serials_in(ca.revocation_list(), ca.cert_path) == frozenset()
    cert = _revoked_one(ca, tmp_path / "certs")
    assert serials_in(ca.revocation_list(), ca.cert_path) == {cert.serial_number}


def test_a_list_of_another_ca_is_refused(tmp_path: Path) -> None:
    trusted = _ca(tmp_path / "trusted", "VaxTrace Platform CA")
    other = _ca(tmp_path / "other", "VaxTrace Platform CA")  # same name, another key
    _revoked_one(other, tmp_path / "certs")
    with pytest.raises(RevocationListError, match="not signed by the platform's CA"):
        serials_in(other.revocation_list(), trusted.cert_path)
    stranger = _ca(tmp_path / "stranger", "Someone Else CA")
    with pytest.raises(RevocationListError, match="issued by"):
        serials_in(stranger.revocation_list(), trusted.cert_path)
    with pytest.raises(RevocationListError, match="not a PEM"):
        serials_in(b"<html>proxy error</html>", trusted.cert_path)


def test_revocations_are_kept_for_good(tmp_path: Path) -> None:
    node = tmp_path / "node-pki"
    assert keep_revoked(node, frozenset({1, 2})) == 2
    assert keep_revoked(node, frozenset({2})) == 0  # a stale list takes nothing back
    assert revoked_serials(node) == {1, 2}
    assert keep_revoked(node, frozenset({3})) == 1
    assert revoked_serials(node) == {1, 2, 3}
