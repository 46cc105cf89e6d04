"""Mutual TLS for uvicorn: hand the verified client certificate to the application.

Uvicorn (0.54) verifies client certificates but does not pass them on. This protocol copies
the peer certificate from the TLS transport into ``scope["extensions"]["tls"]`` as the ASGI TLS
extension defines it, so application code stays the same when servers do this themselves.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Collection, MutableMapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason
from vaxtrace.exchange.pki import revoked_serials
from vaxtrace.web.problems import problem, status_of

ASGIApp = Any

Revoked = Callable[[], Collection[int]]
"""The serials the platform's CA has revoked, as of now."""


def _tls_extension(transport: asyncio.Transport) -> dict[str, Any] | None:
    ssl_object: ssl.SSLObject | None = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    chain: list[str] = []
    name = None
    if der:
        cert = x509.load_der_x509_certificate(der)
        chain = [cert.public_bytes(serialization.Encoding.PEM).decode()]
        name = cert.subject.rfc4514_string()
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": None,
        "cipher_suite": None,
        "vaxtrace_cipher_name": cipher[0] if cipher else None,
    }


class MutualTlsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol whose requests carry the TLS extension of their connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = _tls_extension(transport)
        if tls is not None:
            self.app = with_tls(self.app, tls, revocations_of(self.config.app))


def with_tls(app: ASGIApp, tls: dict[str, Any], revoked: Revoked | None = None) -> ASGIApp:
    """``app`` seeing every request as arriving over ``tls``: what the mutual-TLS protocol does
    per connection, and the in-process transport between roles of one process.

    Every request of a client whose certificate is ``revoked`` (by default: as ``app``'s
    settings keep the list, see :func:`revocations_of`) is refused here, whatever route it
    asks, public ones included: 403 ``certificate_revoked``, from the next request on."""
    revoked = revoked or revocations_of(app)
    chain = tls.get("client_cert_chain") or []
    cert = x509.load_pem_x509_certificate(chain[0].encode()) if chain else None

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            if scope["type"] == "http" and _revoked(cert, revoked):
                assert cert is not None
                await _refusal(revoked_refusal(cert))(scope, receive, send)
                return
            scope = dict(scope)
            scope["extensions"] = {**scope.get("extensions", {}), "tls": tls}
        await app(scope, receive, send)

    return wrapped


def _revoked(cert: x509.Certificate | None, revoked: Revoked | None) -> bool:
    return cert is not None and revoked is not None and cert.serial_number in revoked()


def _refusal(error: DomainError) -> Any:
    """The problem+json answer of ``error``, as the app's handler would give it."""
    return problem(status_of(error), error.reason, error.reason.replace("_", " "), error.message)


def revocations_of(app: ASGIApp) -> Revoked | None:
    """The revocation list of a node's app: its settings' CA folder (``DATA_DIR/pki``), the one
    its system routes check, read again when it changes; None for an app without settings."""
    settings = getattr(getattr(app, "state", None), "settings", None)
    if settings is None:
        return None
    folder = settings.pki_dir
    return lambda: revoked_serials(folder)


def revoked_refusal(cert: x509.Certificate) -> DomainError:
    """The refusal of a request made with a revoked certificate."""
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    name = str(names[0].value) if names else f"serial {cert.serial_number:x}"
    return DomainError(Reason.CERTIFICATE_REVOKED, f"the certificate of {name} is revoked")


def client_certificate(scope: MutableMapping[str, Any]) -> x509.Certificate | None:
    """The verified client certificate of this request, if it came over mutual TLS."""
    chain = scope.get("extensions", {}).get("tls", {}).get("client_cert_chain") or []
    return x509.load_pem_x509_certificate(chain[0].encode()) if chain else None


KEEP_ALIVE_SECONDS = 75
"""How long a client's idle connection is kept open. Longer than a client keeps one idle (5 s
for httpx, 60 s for browsers' pools of a busy page), so that a client seldom sends a request on a
connection the server is closing at that instant (a reset no client retries on its own)."""


def mtls_config(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    certfile: str,
    keyfile: str,
    ca_file: str,
    access_log: bool = False,
    shutdown_grace_seconds: int = 5,
) -> Any:
    """A uvicorn config that refuses clients without a certificate of ``ca_file``."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=MutualTlsProtocol,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        ssl_ca_certs=ca_file,
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        timeout_graceful_shutdown=shutdown_grace_seconds,
    )
