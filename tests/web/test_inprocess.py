"""The in-process transport: a role calls another role of the same process through its HTTP
API, presenting its system certificate, with no socket."""

# No "from __future__ import annotations": the routes below are built in a function.

from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from vaxtrace.exchange.pki import CertificateAuthority, SystemIdentity
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.web.identity import system_identity
from vaxtrace.web.inprocess import inprocess_clients, tls_presenting

ORG = make_uscc("12320000MB0X00001")


def _app(tls: dict[str, Any] | None) -> FastAPI:
    app = FastAPI()
    caller = system_identity(lambda: set())

    @app.post("/whoami")
    def whoami(body: dict[str, Any], who: Annotated[SystemIdentity, Depends(caller)]) -> Any:
        return {"system_id": who.system_id, "org": who.org_uscc, "echo": body}

    @app.get("/relay")
    def relay(request: Request) -> Any:  # a sync route: runs in a worker thread of the loop
        assert tls is not None
        with inprocess_clients(request.app, tls)("https://anywhere.example") as client:
            answer = client.post("/whoami", json={"n": 1})
        return {"status": answer.status_code, "body": answer.json()}

    return app


def test_the_callee_sees_the_callers_certificate(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "pki")
    ca.create()
    ca.issue_system("local-province", ORG, tmp_path / "certs")
    tls = tls_presenting(tmp_path / "certs" / "local-province.pem")
    with TestClient(_app(tls)) as client:
        relayed = client.get("/relay").json()
        direct = client.post("/whoami", json={"n": 1})
    assert relayed == {
        "status": 200,
        "body": {"system_id": "local-province", "org": ORG, "echo": {"n": 1}},
    }
    assert direct.status_code == 401  # no certificate, no identity


def test_it_needs_the_event_loop_of_the_app(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "pki")
    ca.create()
    ca.issue_system("local-trace", ORG, tmp_path / "certs")
    tls = tls_presenting(tmp_path / "certs" / "local-trace.pem")
    with (
        pytest.raises(RuntimeError),
        inprocess_clients(_app(tls), tls)("x") as client,
    ):
        client.post("/whoami", json={})
