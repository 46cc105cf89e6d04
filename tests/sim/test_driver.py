"""The load generator (vaxtrace/sim/driver.py) against a small HTTP/1.1 server on loopback
that misbehaves on purpose: answers with a Content-Length or chunked, closes after an answer,
drops or resets a connection instead of answering, never answers; and over mutual TLS. No run
ends early: every request is answered or counted as a failure of its kind."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vaxtrace.exchange.pki import CertificateAuthority
from vaxtrace.sim.driver import drive, get, post, read_answer

HOST = "127.0.0.1"


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Answer one request as its path says; False once the connection is done."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    path = lines[0].split(" ")[1]
    length = next(
        (int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")),
        0,
    )
    body = await reader.readexactly(length)
    if path == "/chunked":
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
    elif path == "/close":
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        return False
    elif path == "/drop":
        return False
    elif path == "/reset":  # RST instead of FIN
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False
    elif path == "/hang":
        await asyncio.sleep(3600)
    elif path == "/empty":
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    else:
        answer = body or b"{}"
        status = 201 if body else 200
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n\r\n".encode())
        writer.write(answer)
    await writer.drain()
    return True


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await _answer(reader, writer):
            pass
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


@contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """The misbehaving server on a free port, in a thread of its own; its base URL."""
    ready, port = threading.Event(), list[int]()
    loop = asyncio.new_event_loop()
    done = asyncio.Event()

    async def run() -> None:
        server = await asyncio.start_server(_serve_connection, HOST, 0, ssl=tls)
        port.append(server.sockets[0].getsockname()[1])
        ready.set()
        await done.wait()
        server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"{'https' if tls else 'http'}://{HOST}:{port[0]}"
    finally:
        loop.call_soon_threadsafe(done.set)
        thread.join(10)
        loop.close()


def _gets(base: str, *paths: str) -> list[bytes]:
    port = int(base.rsplit(":", 1)[1])
    return [get(HOST, port, path) for path in paths]


def test_content_length_chunked_and_empty_answers_are_read() -> None:
    bodies: Counter[bytes] = Counter()

    def check(sent: bytes, status: int, body: bytes) -> bool:
        bodies[body] += 1
        return status in (200, 201, 204)

    with serving() as base:
        port = int(base.rsplit(":", 1)[1])
        requests = _gets(base, "/chunked", "/", "/empty") * 20
        requests += [post(HOST, port, "/", "t", {"code": "x"})] * 10
        answers = drive(base, requests, 4, check)
    assert answers.statuses == Counter({200: 40, 204: 20, 201: 10})
    assert not answers.failures and not answers.errors and not answers.stalled
    assert bodies == Counter({b"hello world": 20, b"{}": 20, b"": 20, b'{"code": "x"}': 10})


def test_a_server_closing_or_resetting_connections_does_not_end_the_run() -> None:
    with serving() as base:
        requests = _gets(base, "/", "/close", "/", "/drop", "/", "/reset") * 30
        answers = drive(base, requests, 8)
    assert answers.statuses == Counter({200: 120})  # all but the drops and resets
    assert answers.failures.total() == 60
    assert set(answers.failures) <= {"closed", "reset"}
    assert answers.failures["closed"] >= 30  # at least every drop
    assert answers.stalled == 0


def test_an_answer_that_never_comes_is_a_timeout_and_the_run_goes_on() -> None:
    from vaxtrace.sim.driver import drive_iter

    with serving() as base:
        requests = _gets(base, "/hang", "/", "/", "/")
        answers = drive_iter(base, iter(requests), 1, timeout=0.5)
    assert answers.failures == Counter({"timeout": 1})
    assert answers.statuses == Counter({200: 3})


def test_nobody_listening_is_counted_not_raised() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    base = f"http://{HOST}:{port}"
    answers = drive(base, _gets(base, "/", "/", "/"), 2)
    assert answers.failures == Counter({"refused": 3})
    assert answers.stalled == 2


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    ca = CertificateAuthority(folder / "ca")
    ca.create()
    ca.issue_server([HOST], folder)
    ca.issue_system("loader", "91320100MA1X0000XX", folder)
    return folder


def _server_tls(pki: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca" / "ca.pem"))
    context.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _client_tls(pki: Path, certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca" / "ca.pem"))
    if certificate:
        context.load_cert_chain(str(pki / "loader.pem"), str(pki / "loader.key"))
    return context


def test_mutual_tls_with_a_client_certificate(pki: Path) -> None:
    with serving(_server_tls(pki)) as base:
        requests = _gets(base, "/", "/chunked", "/close", "/") * 10
        answers = drive(base, requests, 4, tls=_client_tls(pki, certificate=True))
        refused = drive(base, _gets(base, "/", "/"), 1, tls=_client_tls(pki, certificate=False))
    assert answers.statuses == Counter({200: 40}) and not answers.failures
    # without a certificate the server ends each connection; counted, not raised
    assert refused.failures.total() == 2 and not refused.statuses


def test_read_answer_skips_an_interim_answer() -> None:
    async def read() -> tuple[int, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
        )
        answer = await read_answer(reader)
        return answer.status, answer.body

    assert asyncio.run(read()) == (200, b"x")


def test_a_check_that_cannot_read_an_answer_counts_it_wrong() -> None:
    def check(sent: bytes, status: int, body: bytes) -> bool:
        return bool(json.loads(body)["results"])  # "hello world" is no JSON; {} has none

    with serving() as base:
        answers = drive(base, _gets(base, "/chunked", "/chunked", "/"), 1, check)
    assert answers.errors == 3 and answers.statuses == Counter({200: 3})
