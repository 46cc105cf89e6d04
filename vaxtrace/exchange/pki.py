"""The platform's certificate authority: system certificates for mutual TLS, and revocation.

Every connected system (a MAH's trace system, a province's immunization system, a supervision
node) gets a client certificate whose subject names it: ``CN=<system id>``, ``O=<USCC>`` of the
organisation running it, and a URI SAN ``urn:vaxtrace:system:<system id>``. Servers get a
certificate for their host names. Keys are ECDSA P-256 (every TLS stack speaks it).
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

SYSTEM_URN = "urn:vaxtrace:system:"
CA_YEARS = 10
CERT_DAYS = 825


@dataclass(frozen=True, slots=True)
class SystemIdentity:
    """Who is calling, as its verified certificate says."""

    system_id: str
    org_uscc: str
    serial: int


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def identity_of(cert: x509.Certificate) -> SystemIdentity:
    """The system a certificate was issued to; raise if it is not one of ours."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise DomainError(
            Reason.NOT_A_SYSTEM_CERTIFICATE, "the certificate names no system"
        ) from exc
    uris = [
        u
        for u in sans.get_values_for_type(x509.UniformResourceIdentifier)
        if u.startswith(SYSTEM_URN)
    ]
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if len(uris) != 1 or len(orgs) != 1:
        raise DomainError(Reason.NOT_A_SYSTEM_CERTIFICATE, "the certificate names no system")
    return SystemIdentity(uris[0].removeprefix(SYSTEM_URN), str(orgs[0].value), cert.serial_number)


class CertificateAuthority:
    """A CA kept in a folder: ``ca.pem``, ``ca.key`` (mode 0600), ``revoked.json``, ``crl.pem``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cert_path = folder / "ca.pem"
        self.key_path = folder / "ca.key"
        self.crl_path = folder / "crl.pem"

    @property
    def exists(self) -> bool:
        return self.cert_path.exists() and self.key_path.exists()

    def create(self, name: str = "VaxTrace Platform CA") -> x509.Certificate:
        if self.exists:
            raise DomainError(Reason.CA_EXISTS, f"a CA already exists in {self.folder}")
        key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        _write_secret(self.key_path, _pem_key(key))
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._write_crl([])
        return cert

    def _load(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        if not self.exists:
            raise DomainError(
                Reason.NO_CA, f"no CA in {self.folder}: run `vaxtrace pki init` first"
            )
        cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cert, key

    def issue_system(self, system_id: str, org_uscc: str, out: Path) -> x509.Certificate:
        """A client certificate (and key) for a connected system, written to ``out``."""
        if not system_id or any(c.isspace() or c in "/:" for c in system_id):
            raise DomainError(
                Reason.BAD_SYSTEM_ID, "a system id has no spaces, '/' or ':'", field="system_id"
            )
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, system_id),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_uscc),
            ]
        )
        sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(SYSTEM_URN + system_id)]
        return self._issue(subject, sans, ExtendedKeyUsageOID.CLIENT_AUTH, out, system_id)

    def issue_server(self, hosts: list[str], out: Path, name: str = "server") -> x509.Certificate:
        """A server certificate for host names and IP addresses."""
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
        return self._issue(subject, sans, ExtendedKeyUsageOID.SERVER_AUTH, out, name)

    def _issue(
        self,
        subject: x509.Name,
        sans: list[x509.GeneralName],
        usage: x509.ObjectIdentifier,
        out: Path,
        stem: str,
    ) -> x509.Certificate:
        ca_cert, ca_key = self._load()
        key = _key()
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CERT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_secret(out / f"{stem}.key", _pem_key(key))
        return cert

    # --- revocation ---------------------------------------------------------------------------

    def revoked(self) -> set[int]:
        return set(revoked_serials(self.folder))

    def revocation_list(self) -> bytes:
        """The CA's signed CRL (PEM), as last written (made now if it never was)."""
        if not self.crl_path.exists():
            self._write_crl(sorted(self.revoked()))  # refuses without a CA (no_ca)
        return self.crl_path.read_bytes()

    def revoke(self, cert: x509.Certificate) -> None:
        ca_cert, _ = self._load()
        if cert.issuer != ca_cert.subject:
            raise DomainError(Reason.NOT_OUR_CERTIFICATE, "this CA did not issue that certificate")
        serials = self.revoked() | {cert.serial_number}
        write_revoked(self.folder, serials)
        self._write_crl(sorted(serials))

    def _write_crl(self, serials: list[int]) -> None:
        ca_cert, ca_key = self._load()
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now)
            .next_update(now + timedelta(days=7))
        )
        for serial in serials:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        crl = builder.sign(ca_key, hashes.SHA256())
        self.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))


_read: dict[Path, tuple[tuple[int, int], frozenset[int]]] = {}
"""The revocation list last read from each CA folder, with the file's (mtime, size) then."""


def write_revoked(folder: Path, serials: Iterable[int]) -> None:
    """Replace ``folder``'s revocation list with ``serials``, whole or not at all: a node reads
    the list on every request that presents a certificate, and must never see half of it."""
    path = folder / "revoked.json"
    written = path.with_suffix(".json.new")
    written.write_text(json.dumps(sorted(str(s) for s in serials)))
    written.replace(path)


def revoked_serials(folder: Path) -> frozenset[int]:
    """The serials revoked by the CA kept in ``folder`` (its ``revoked.json``), read again
    only when the file changes: a revocation counts from the next request on."""
    path = folder / "revoked.json"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return frozenset()
    seen = (stat.st_mtime_ns, stat.st_size)
    cached = _read.get(folder)
    if cached is not None and cached[0] == seen:
        return cached[1]
    serials = frozenset(int(s) for s in json.loads(path.read_text()))
    _read[folder] = (seen, serials)
    return serials
