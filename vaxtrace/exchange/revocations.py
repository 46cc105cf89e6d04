"""Revocations reaching every node (证书吊销): the platform's CA publishes its certificate
revocation list (RFC 5280 CRL, PEM) at ``GET /platform/v1/pki/crl``; each connected system
fetches it with the registry, checks it is signed by the CA it trusts, and keeps the revoked
serials in its own ``DATA_DIR/pki/revoked.json``, which every request presenting a certificate
is checked against (:func:`vaxtrace.exchange.pki.revoked_serials`).

A revocation is for good: a node keeps every serial it has seen revoked, so a stale or
replayed list (from a platform restored from a backup, say) never lets a certificate back in.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from vaxtrace.exchange.pki import revoked_serials, write_revoked

CRL_PATH = "/platform/v1/pki/crl"
CRL_MEDIA_TYPE = "application/x-pem-file"


class RevocationListError(ValueError):
    """A list that is not the trusted CA's."""


def serials_in(crl_pem: bytes, ca_file: Path) -> frozenset[int]:
    """The serials a CRL revokes, once it is shown to be signed by the CA of ``ca_file``."""
    try:
        crl = x509.load_pem_x509_crl(crl_pem)
    except ValueError as exc:
        raise RevocationListError(f"not a PEM certificate revocation list: {exc}") from exc
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    if crl.issuer != ca.subject:
        raise RevocationListError(f"the list is issued by {crl.issuer.rfc4514_string()}")
    try:
        valid = crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except (InvalidSignature, TypeError):
        valid = False
    if not valid:
        raise RevocationListError("the list is not signed by the platform's CA")
    return frozenset(entry.serial_number for entry in crl)


def keep_revoked(folder: Path, serials: frozenset[int]) -> int:
    """Add ``serials`` to the node's revocation list (whole or not at all); how many are new."""
    known = revoked_serials(folder)
    new = serials - known
    if not new:
        return 0
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_revoked(folder, known | serials)
    return len(new)


def fetch_revocations(client: httpx.Client, ca_file: Path, folder: Path) -> int:
    """Fetch the platform's CRL through ``client`` and keep what it revokes; how many
    serials are newly revoked here."""
    answer = client.get(CRL_PATH)
    answer.raise_for_status()
    return keep_revoked(folder, serials_in(answer.content, ca_file))
