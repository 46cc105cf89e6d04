"""An HTTP/1.1 load generator over raw asyncio streams, for the load suite and the benches.

On a 2-core machine a heavier client (httpx) takes CPU the server needs, and the figure then
measures the client. Here each of ``connections`` keep-alive connections sends its next
request when the last is answered; every answer is timed and, given a ``check``, judged (a
refused answer counts as an error).

A node serving mutual TLS only is driven with an :class:`ssl.SSLContext` that presents a
client certificate (``tls``). A connection's trouble never ends the run: a reset, a server
closing the connection, a TLS error or an answer later than ``timeout`` is counted by its kind
in :attr:`Answers.failures`, the connection is opened again and goes on with the next request.
Answers are read with a Content-Length or chunked; a server that closes after an answer (a
``Connection: close``, or a body read to the end) is followed by a new connection, which is
not a failure.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

Check = Callable[[bytes, int, bytes], bool]
"""Whether an answer is right: the request sent, the answer's status and body."""

RECONNECT_PAUSE_SECONDS = 0.05
"""How long a connection waits before opening again after it could not connect."""


@dataclass
class Answers:
    """What the connections of one run saw."""

    latencies_ms: list[float]
    statuses: Counter[int]
    seconds: float
    server_cpu_seconds: float = 0.0
    by_status: dict[int, list[float]] = field(default_factory=dict)
    errors: int = 0
    """Answers a ``check`` refused."""
    failures: Counter[str] = field(default_factory=Counter)
    """Requests that got no answer, by kind (``reset``, ``closed``, ``timeout``, ``tls``,
    ``refused``, ``malformed`` …)."""
    answered_by_connection: list[int] = field(default_factory=list)
    """How many answers each connection had: a 0 is a connection that stalled."""

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def p95(self) -> float:
        return p95_ms(self.latencies_ms)

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def slowest_ms(self) -> float:
        return max(self.latencies_ms, default=0.0)

    @property
    def stalled(self) -> int:
        """Connections that had no answer in the whole run."""
        return sum(1 for n in self.answered_by_connection if n == 0)

    def answered(self, status: int, latency_ms: float) -> None:
        self.latencies_ms.append(latency_ms)
        self.by_status.setdefault(status, []).append(latency_ms)
        self.statuses[status] += 1


def p95_ms(latencies_ms: list[float]) -> float:
    return statistics.quantiles(latencies_ms, n=100)[94] if len(latencies_ms) > 1 else 0.0


# --- requests --------------------------------------------------------------------------------


def request(
    method: str,
    host: str,
    port: int,
    target: str,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> bytes:
    """An HTTP/1.1 request of ``target`` (path and query, already quoted); a ``body`` is sent
    as JSON (bytes as they are)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def post(host: str, port: int, path: str, token: str, body: dict[str, Any]) -> bytes:
    return request("POST", host, port, path, {"Authorization": f"Bearer {token}"}, body)


def get(host: str, port: int, target: str) -> bytes:
    """A GET of ``target`` (path and query, already quoted)."""
    return request("GET", host, port, target)


def timed_requests(make: Callable[[], bytes], seconds: float) -> Iterator[bytes]:
    """Requests from ``make`` until ``seconds`` have passed."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        yield make()


# --- answers ---------------------------------------------------------------------------------


class Malformed(Exception):
    """An answer that is not HTTP/1.1 as this reader knows it."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    keep_alive: bool


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """One answer: its head, then a body by Content-Length, chunked, or to the end."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise Malformed(lines[0][:80]) from exc
        if not 100 <= status < 200 or status == 101:
            break  # 1xx (say 100 Continue) is followed by the real answer
    fields = _fields(lines[1:])
    keep_alive = "close" not in fields.get("connection", "").lower()
    if status in (204, 304) or status < 200:
        return Answer(status, b"", keep_alive)
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return Answer(status, await _chunked(reader), keep_alive)
    if "content-length" in fields:
        try:
            length = int(fields["content-length"])
        except ValueError as exc:
            raise Malformed(f"content-length {fields['content-length']!r}") from exc
        return Answer(status, await reader.readexactly(length), keep_alive)
    return Answer(status, await reader.read(), False)  # the body ends with the connection


def _fields(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            found[name.strip().lower()] = value.strip()
    return found


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError as exc:
            raise Malformed(f"chunk size {size_line[:20]!r}") from exc
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailer fields
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


def failure_kind(exc: BaseException) -> str:
    """A failed request's kind, as :attr:`Answers.failures` counts it."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionAbortedError | BrokenPipeError):
        return "closed"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, Malformed | asyncio.LimitOverrunError):
        return "malformed"
    return type(exc).__name__


# --- connections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the connections go, and how."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None
    timeout: float = 30.0
    """How long an answer may take before it counts as a ``timeout`` (and the connection
    is opened again)."""

    @classmethod
    def of(cls, base: str, tls: ssl.SSLContext | None = None, timeout: float = 30.0) -> Target:
        parts = urlsplit(base)
        if parts.scheme == "https" and tls is None:
            raise ValueError(f"{base} serves TLS: give an ssl.SSLContext")
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, tls, timeout)


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _open(target: Target) -> Stream:
    return await asyncio.wait_for(
        asyncio.open_connection(target.host, target.port, ssl=target.tls), target.timeout
    )


def _close(stream: Stream | None) -> None:
    if stream is not None:
        stream[1].close()


async def _exchange(stream: Stream, sent: bytes, timeout: float) -> Answer:
    reader, writer = stream
    writer.write(sent)
    await writer.drain()
    return await asyncio.wait_for(read_answer(reader), timeout)


async def _connection(
    target: Target, requests: Iterator[bytes], answers: Answers, check: Check | None, slot: int
) -> None:
    """One keep-alive connection sending the next request when the last one is answered;
    opened again after any trouble, until ``requests`` runs out."""
    stream: Stream | None = None
    try:
        for sent in requests:
            start = time.perf_counter()
            try:
                if stream is None:
                    stream = await _open(target)
                answer = await _exchange(stream, sent, target.timeout)
            except (OSError, EOFError, TimeoutError, Malformed, asyncio.LimitOverrunError) as exc:
                answers.failures[failure_kind(exc)] += 1
                _close(stream)
                if stream is None:  # could not connect: not at once again
                    await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
                stream = None
                continue
            answers.answered(answer.status, (time.perf_counter() - start) * 1000)
            answers.answered_by_connection[slot] += 1
            if check is not None and not _judged(check, sent, answer):
                answers.errors += 1
            if not answer.keep_alive:
                _close(stream)
                stream = None
    finally:
        _close(stream)


def _judged(check: Check, sent: bytes, answer: Answer) -> bool:
    """``check``'s verdict; an answer it cannot read (say, a body that is not JSON) is wrong."""
    try:
        return check(sent, answer.status, answer.body)
    except Exception:
        return False


def drive(
    base: str,
    requests: list[bytes],
    connections: int,
    check: Check | None = None,
    tls: ssl.SSLContext | None = None,
) -> Answers:
    """Send ``requests`` over ``connections`` connections; every answer timed."""
    return drive_iter(base, iter(requests), connections, check, tls)


def drive_iter(
    base: str,
    requests: Iterator[bytes],
    connections: int,
    check: Check | None = None,
    tls: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> Answers:
    """Send what ``requests`` yields over ``connections`` connections to ``base`` (``https``
    with ``tls``), each taking the next request in turn; every answer timed (and judged by
    ``check``, if given)."""
    target = Target.of(base, tls, timeout)
    answers = Answers([], Counter(), 0.0, answered_by_connection=[0] * connections)

    async def run() -> None:
        await asyncio.gather(
            *(_connection(target, requests, answers, check, n) for n in range(connections))
        )

    start = time.perf_counter()
    asyncio.run(run())
    answers.seconds = time.perf_counter() - start
    return answers
