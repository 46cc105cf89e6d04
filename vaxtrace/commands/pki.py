"""``vaxtrace pki``: the platform CA that issues and revokes the certificates of mutual TLS."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, fail, settings_of
from vaxtrace.core.errors import DomainError

pki_app = typer.Typer(help="The platform CA: certificates for mutual TLS.", no_args_is_help=True)


def ca_of(data_dir: Path | None) -> Any:
    """The platform CA kept in DATA_DIR/pki."""
    from vaxtrace.exchange.pki import CertificateAuthority

    return CertificateAuthority(settings_of(data_dir).data_dir / "pki")


@pki_app.command("init")
def pki_init(data_dir: DataDir = None, name: str = "VaxTrace Platform CA") -> None:
    """Create the CA (once): DATA_DIR/pki/ca.pem, ca.key (0600), crl.pem."""
    ca = ca_of(data_dir)
    try:
        ca.create(name)
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    console.print(f"CA created: {ca.cert_path}")


@pki_app.command("issue-system")
def pki_issue_system(
    system_id: Annotated[str, typer.Argument(help="the connected system's id")],
    org: Annotated[str, typer.Option(help="USCC of the organisation running it")],
    out: Annotated[Path, typer.Option(help="folder for SYSTEM_ID.pem and .key")] = Path("."),
    data_dir: DataDir = None,
) -> None:
    """Issue a client certificate and key for a connected system."""
    from vaxtrace.core.identifiers import IdentifierError, validate_uscc

    try:
        cert = ca_of(data_dir).issue_system(system_id, validate_uscc(org), out)
    except (DomainError, IdentifierError) as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    console.print(f"issued {out / (system_id + '.pem')} (serial {cert.serial_number:x})")


@pki_app.command("issue-server")
def pki_issue_server(
    hosts: Annotated[list[str], typer.Argument(help="host names and IP addresses")],
    out: Annotated[Path, typer.Option(help="folder for server.pem and .key")] = Path("."),
    data_dir: DataDir = None,
) -> None:
    """Issue a server certificate for a node."""
    try:
        cert = ca_of(data_dir).issue_server(hosts, out)
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    console.print(f"issued {out / 'server.pem'} (serial {cert.serial_number:x})")


@pki_app.command("revoke")
def pki_revoke(
    certificate: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    data_dir: DataDir = None,
) -> None:
    """Revoke a certificate: servers refuse it from now on; the CRL is rewritten."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(certificate.read_bytes())
        ca_of(data_dir).revoke(cert)
    except (DomainError, ValueError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"revoked serial {cert.serial_number:x}")
