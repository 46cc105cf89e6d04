"""The platform asking a trace system for a code's public view: every answer, and every way of
not getting one, in the domain's words; never a wait without end."""

# No "from __future__ import annotations": the route below is built in a function.

import asyncio
import contextlib
import json
import time
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.core.errors import DomainError
from vaxtrace.exchange.public_client import OwnerAsker
from vaxtrace.exchange.transport import network_async_client
from vaxtrace.sim.federation import Federation, free_port
from vaxtrace.web.problems import status_of

ENDPOINT = "https://trace-a.example"


def _owner() -> FastAPI:
    """A trace system answering by the code asked: a view, a problem, or nothing for a while."""
    app = FastAPI()

    @app.get("/trace/v1/public/codes")
    async def public(code: str) -> Any:
        if code == "slow":
            await anyio.sleep(10)
        if code in ("404", "500", "503"):
            body = {"reason": "not_commissioned", "detail": "never issued"}
            return JSONResponse(body, status_code=int(code))
        return {"code": code, "status": "in_stock"}

    return app


def _clients(endpoint: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    if endpoint != ENDPOINT:
        raise httpx.ConnectError(f"no route to {endpoint}")
    return httpx.AsyncClient(base_url=endpoint, transport=httpx.ASGITransport(app=_owner()))


def _ask(asker: OwnerAsker, code: str, endpoint: str = ENDPOINT) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        return await asker(endpoint, code)

    return anyio.run(ask)


def _refusal(asker: OwnerAsker, code: str, endpoint: str = ENDPOINT) -> DomainError:
    with pytest.raises(DomainError) as caught:
        _ask(asker, code, endpoint)
    return caught.value


def test_the_owners_view_and_its_refusals() -> None:
    asker = OwnerAsker(_clients, timeout=5, at_once=2)
    assert _ask(asker, "8123") == {"code": "8123", "status": "in_stock"}
    unknown = _refusal(asker, "404")
    assert status_of(unknown) == 404 and unknown.reason == "not_commissioned"
    for code, reason in (("503", "owner_unavailable"), ("500", "owner_failed")):
        failed = _refusal(asker, code)
        assert status_of(failed) == 503 and failed.reason == reason
    unreachable = _refusal(asker, "8123", "https://elsewhere.example")
    assert status_of(unreachable) == 503 and unreachable.reason == "owner_unreachable"


def test_an_owner_that_does_not_answer_in_time() -> None:
    asker = OwnerAsker(_clients, timeout=0.2, at_once=2)
    started = time.monotonic()
    late = _refusal(asker, "slow")
    assert time.monotonic() - started < 2  # the owner would have taken 10 s
    assert status_of(late) == 503 and late.reason == "owner_unavailable"
    assert late.field == "code"


def test_no_turn_in_time_is_busy() -> None:
    """Every turn taken by asks in flight: the next waits its turn, then gives up as busy."""
    asker = OwnerAsker(_clients, timeout=0.2, at_once=1)

    async def while_all_turns_are_taken() -> DomainError:
        async with asker.turns():  # an ask in flight
            with pytest.raises(DomainError) as caught:
                await asker(ENDPOINT, "8123")
        return caught.value

    busy = anyio.run(while_all_turns_are_taken)
    assert status_of(busy) == 503 and busy.reason == "busy"
    assert _ask(asker, "8123")["status"] == "in_stock"  # and the turn is free again after


def test_a_client_is_kept_per_endpoint_and_a_lost_connection_asked_again() -> None:
    """Asks of one endpoint on one event loop share a client (its connections kept alive);
    an answer lost as a kept connection is taken (nothing came back) is asked for once more."""
    made: list[str] = []
    lost = {"next": 1}

    class Flaky(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app=_owner())

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if lost["next"]:
                lost["next"] -= 1
                raise httpx.RemoteProtocolError("Server disconnected", request=request)
            return await self.inner.handle_async_request(request)

    def clients(endpoint: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        made.append(endpoint)
        return httpx.AsyncClient(base_url=endpoint, transport=Flaky())

    asker = OwnerAsker(clients, timeout=5, at_once=4)

    async def asks() -> list[dict[str, Any]]:
        answers = []
        async with anyio.create_task_group() as group:
            for n in range(8):
                group.start_soon(lambda n=n: _append(answers, asker(ENDPOINT, f"8{n}")))
        lost["next"] = 2  # lost twice in a row: not an answer
        with pytest.raises(DomainError) as caught:
            await asker(ENDPOINT, "81")
        answers.append({"refused": caught.value.reason})
        await asker.aclose()
        return answers

    answers = anyio.run(asks)
    assert sorted(a.get("code", "") for a in answers[:8]) == [f"8{n}" for n in range(8)]
    assert answers[8] == {"refused": "owner_unreachable"}
    assert made == [ENDPOINT]  # one client for every ask, the lost one included
    assert _ask(asker, "8123")["code"] == "8123"  # another event loop: a client of its own
    assert made == [ENDPOINT, ENDPOINT]


async def _append(answers: list[dict[str, Any]], ask: Any) -> None:
    answers.append(await ask)


def test_over_the_network_every_answer_and_refusal_is_the_same() -> None:
    """Over the network (lean keep-alive GETs): the view, the owner's 404 in its words, its
    503 and 500, an owner too slow, and one no longer listening."""
    asked: list[bytes] = []

    async def owner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            target = head.split(b" ", 2)[1]
            asked.append(target)
            code = unquote(target.rpartition(b"=")[2].decode())
            if code == "slow":
                with contextlib.suppress(asyncio.CancelledError):  # the server closing
                    await asyncio.sleep(10)
                return
            status = int(code) if code in ("404", "500", "503") else 200
            body = json.dumps(
                {"reason": "not_commissioned", "detail": "never issued"}
                if status != 200
                else {"code": code, "status": "in_stock"}
            ).encode()
            writer.write(
                b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
            )

    async def asks() -> list[Any]:
        server = await asyncio.start_server(owner, "127.0.0.1", 0)
        endpoint = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        asker = OwnerAsker(network_async_client, timeout=0.5, at_once=2)
        answers: list[Any] = [await asker(endpoint, "8123 4")]
        for code in ("404", "503", "500", "slow"):
            with pytest.raises(DomainError) as caught:
                await asker(endpoint, code)
            answers.append((status_of(caught.value), caught.value.reason))
        server.close()
        await server.wait_closed()
        await asker.aclose()  # the kept connections go: nobody listens any more
        with pytest.raises(DomainError) as caught:
            await asker(endpoint, "8123")
        answers.append((status_of(caught.value), caught.value.reason))
        return answers

    assert anyio.run(asks) == [
        {"code": "8123 4", "status": "in_stock"},
        (404, "not_commissioned"),
        (503, "owner_unavailable"),
        (503, "owner_failed"),
        (503, "owner_unavailable"),
        (503, "owner_unreachable"),
    ]
    assert asked[0] == b"/trace/v1/public/codes?code=8123%204"


def test_the_platform_asks_a_trace_node_over_mutual_tls(tmp_path: Path) -> None:
    """Platform and a MAH's trace node, each its own process serving mutual TLS only: the
    platform's public entry asks the trace node with its own certificate."""
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--units", "2000", "--data-dir", str(tmp_path / "mah")]
    )
    assert result.exit_code == 0, result.output
    samples = json.loads((tmp_path / "mah" / "demo.json").read_text())["codes"]
    federation = Federation(tmp_path)
    node = federation.add_mah_node("trace-a", tmp_path / "mah", 0, port=free_port())
    public = "/platform/v1/public/codes"
    answers: dict[str, httpx.Response] = {}
    with (
        federation.serve_mah(node),
        federation.serve_platform() as base,
        federation.client("platform") as client,
    ):
        for _ in range(100):  # until the trace node has published its coding rules
            answers = {
                code: client.get(f"{base}{public}", params={"code": code}) for code in samples
            }
            if any(a.status_code == 200 for a in answers.values()):
                break
            time.sleep(0.1)
    federation.close()
    found = {code: a.json() for code, a in answers.items() if a.status_code == 200}
    assert found, {code: a.text[:200] for code, a in answers.items()}
    for code, view in found.items():
        assert view["code"] == code and view["resolved"]["system_id"] == "trace-a"
