"""``vaxtrace serve``: serve this node's roles over HTTP, or over mutual TLS only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vaxtrace.commands.common import DataDir, console, fail, settings_of
from vaxtrace.settings import Settings


def serve_app(
    settings: Settings,
    host: str,
    port: int,
    asgi: Any = None,
    roles: tuple[str, ...] | None = None,
    tls: tuple[Path, Path, Path] | None = None,
) -> None:
    """Serve ``asgi`` (by default a new app of ``roles``) until Ctrl-C; with ``tls`` (the
    server's certificate and key, the CA of its clients), mutual TLS only."""
    import uvicorn

    from vaxtrace.app import build_app
    from vaxtrace.node import ROLES
    from vaxtrace.web.tls import KEEP_ALIVE_SECONDS, mtls_config

    asgi = asgi or build_app(settings, roles=roles or ROLES)
    if tls is None:
        console.print(f"\nserving on http://{host}:{port} (Ctrl-C to stop)")
        uvicorn.run(
            asgi,
            host=host,
            port=port,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            log_level="info",
            access_log=settings.access_log,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )
        return
    cert, key, ca = tls
    console.print(f"\nserving on https://{host}:{port}, client certificates of {ca} required")
    uvicorn.Server(
        mtls_config(
            asgi,
            host=host,
            port=port,
            certfile=str(cert),
            keyfile=str(key),
            ca_file=str(ca),
            access_log=settings.access_log,
            shutdown_grace_seconds=settings.shutdown_grace_seconds,
        )
    ).run()


def serve(
    data_dir: DataDir = None,
    role: Annotated[
        str, typer.Option(help="role(s) to run: trace, platform, immunization, supervision, or all")
    ] = "all",
    host: str = "127.0.0.1",
    port: int = 8000,
    tls_cert: Annotated[Path | None, typer.Option(help="server certificate (PEM)")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="server key (PEM)")] = None,
    tls_ca: Annotated[
        Path | None, typer.Option(help="CA whose client certificates to accept")
    ] = None,
) -> None:
    """Serve the API of this node (OpenAPI at /docs); with --tls-*, mutual TLS only."""
    from vaxtrace.node import ROLES

    roles = ROLES if role == "all" else tuple(role.split(","))
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise fail(
            f"role(s) {', '.join(sorted(unknown))} not built yet; available: "
            f"{', '.join(ROLES)}, all"
        )
    given = [tls_cert, tls_key, tls_ca]
    if any(given) and not all(given):
        raise fail("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca")
    tls = (tls_cert, tls_key, tls_ca) if all(given) else None
    serve_app(settings_of(data_dir), host, port, roles=roles, tls=tls)  # type: ignore[arg-type]
