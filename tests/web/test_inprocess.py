"""The in-process transport: a role calls another role of the same process through its HTTP
API, presenting its system certificate, with no socket."""

# No "from __future__ import annotations": the routes below are built in a function.

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from vaxtrace.exchange.pki import CertificateAuthority, SystemIdentity
from vaxtrace.sim.catalogue import make_uscc
from vaxtrace.web.identity import system_identity
from vaxtrace.web.inprocess import inprocess_async_clients, inprocess_clients, tls_presenting

ORG = make_uscc("12320000MB0X00001")


def _app(tls: dict[str, Any] | None, timeout: float = 30) -> FastAPI:
    app = FastAPI()
    caller = system_identity(lambda: set())

    @app.post("/whoami")
    def whoami(body: dict[str, Any], who: Annotated[SystemIdentity, Depends(caller)]) -> Any:
        return {"system_id": who.system_id, "org": who.org_uscc, "echo": body}

    @app.get("/relay")
    def relay(request: Request) -> Any:  # a sync route: runs in a worker thread of the loop
        assert tls is not None
        with inprocess_clients(request.app, tls, timeout)("https://anywhere.example") as client:
            try:
                answer = client.post("/whoami", json={"n": 1})
            except httpx.TimeoutException:
                return {"status": "timeout"}
        return {"status": answer.status_code, "body": answer.json()}

    @app.get("/async-relay")
    async def async_relay(request: Request) -> Any:  # on the loop: holds no worker thread
        assert tls is not None
        clients = inprocess_async_clients(request.app, tls, timeout)
        async with clients("https://anywhere.example") as client:
            answer = await client.post("/whoami", json={"n": 1})
        return {"status": answer.status_code, "body": answer.json()}

    @app.get("/slow")
    def slow() -> Any:
        time.sleep(1)
        return {}

    @app.get("/broken")
    def broken() -> Any:
        raise RuntimeError("a bug in the callee")

    return app


def _tls(tmp_path: Path, system_id: str) -> dict[str, Any]:
    ca = CertificateAuthority(tmp_path / "pki")
    ca.create()
    ca.issue_system(system_id, ORG, tmp_path / "certs")
    return tls_presenting(tmp_path / "certs" / f"{system_id}.pem")


def _at_once(app: FastAPI, path: str, n: int, threads: int) -> list[Any]:
    """``n`` requests to ``path`` at once, served with a pool of ``threads`` worker threads."""

    async def burst() -> list[Any]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            with anyio.fail_after(20):  # a deadlock fails the test instead of hanging it
                answers = await asyncio.gather(*(client.get(path) for _ in range(n)))
        return [a.json() for a in answers]

    return anyio.run(burst)


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


def test_an_async_caller_presents_its_certificate_too(tmp_path: Path) -> None:
    with TestClient(_app(_tls(tmp_path, "local-platform"))) as client:
        relayed = client.get("/async-relay").json()
    assert relayed == {
        "status": 200,
        "body": {"system_id": "local-platform", "org": ORG, "echo": {"n": 1}},
    }


def test_async_callers_never_starve_the_pool_of_their_callees(tmp_path: Path) -> None:
    """Ten calls at once into a sync route, through a pool of two worker threads."""
    answers = _at_once(_app(_tls(tmp_path, "local-platform")), "/async-relay", 10, threads=2)
    assert [a["status"] for a in answers] == [200] * 10


def test_sync_callers_in_the_pool_would_starve_it_and_time_out(tmp_path: Path) -> None:
    """What the async path avoids: a sync caller holds a worker thread while its callee waits
    for one; with every thread so held, only the timeout ends the wait."""
    app = _app(_tls(tmp_path, "local-platform"), timeout=0.3)
    answers = _at_once(app, "/relay", 4, threads=2)
    assert {"status": "timeout"} in answers


def test_a_call_without_an_answer_in_time_is_a_timeout(tmp_path: Path) -> None:
    tls = _tls(tmp_path, "local-trace")
    app = _app(tls, timeout=0.2)

    async def call(path: str) -> httpx.Response:
        async with inprocess_async_clients(app, tls, timeout=0.2)("x") as client:
            return await client.get(path)

    with pytest.raises(httpx.ReadTimeout, match=r"no answer in-process within 0\.2 s"):
        anyio.run(call, "/slow")
    broken = anyio.run(call, "/broken")
    assert broken.status_code == 500  # a bug in the callee is an answer, as over the network
