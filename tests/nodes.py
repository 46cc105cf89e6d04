"""Helpers for tests that run VaxTrace nodes as separate processes on loopback."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mtls_client(ca_file: Path, cert_dir: Path | None = None, name: str = "") -> httpx.Client:
    """An HTTPS client trusting ``ca_file``, presenting ``cert_dir/name.pem`` if given."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if cert_dir is not None:
        context.load_cert_chain(str(cert_dir / f"{name}.pem"), str(cert_dir / f"{name}.key"))
    return httpx.Client(verify=context, timeout=10)


@contextmanager
def serve_node(
    env: dict[str, str], *args: str, client: httpx.Client | None = None, port: int | None = None
) -> Iterator[str]:
    """``vaxtrace serve ARGS`` in its own process; yields its base URL once /health answers.

    ``client`` (e.g. one with a client certificate) does the readiness probe and is closed
    then: an idle keep-alive connection would hold the server's shutdown.
    """
    port = port or free_port()
    scheme = "https" if "--tls-cert" in args else "http"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaxtrace.cli", "serve", "--port", str(port), *args],
        env=os.environ | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"{scheme}://127.0.0.1:{port}"
    probe = client or httpx.Client(timeout=5)
    try:
        for _ in range(150):
            try:
                if probe.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"vaxtrace serve {' '.join(args)} did not start")
        probe.close()
        yield base
    finally:
        probe.close()
        proc.terminate()
        proc.wait(timeout=10)
