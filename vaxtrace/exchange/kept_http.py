"""HTTP/1.1 GETs to one endpoint over connections kept alive, on asyncio streams: the platform
asking a trace system for a code's public view, many times a second.

httpx took more CPU than the rest of a public query together: its pool looks at every
connection (a ``poll`` each) whenever a request is sent or answered, and httpcore looks for
the optional ``sniffio`` package (a failed import, a search of the path) for every lock it
makes. This does what that ask needs only: a GET, its answer by ``Content-Length`` (or
chunked, or to the end of a connection that closes), over TCP or TLS (the caller's context:
mutual TLS with the system's certificate).

A kept connection the server closed meanwhile shows as an answer of nothing: the GET (safe to
send again) goes once more, on another connection. Cancelling a GET (a timeout) closes its
connection. Every failure to get an answer is a :class:`Unanswered`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

LARGEST_ANSWER = 1024 * 1024
"""A public view is a few hundred bytes; an answer longer than this is refused."""

IDLE_SECONDS = 30.0
"""A connection idle for longer is closed rather than used (servers close theirs after 75 s)."""


class Unanswered(Exception):
    """No answer: the endpoint could not be reached, the connection was lost, or what came
    back was not an HTTP/1.1 answer."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    """By lower-case name (the last of a repeated one)."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Lost(Exception):
    """A connection that answered nothing at all (closed by the server, reset)."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.idle_since = time.monotonic()

    def usable(self) -> bool:
        return (
            not self.reader.at_eof()
            and not self.writer.is_closing()
            and time.monotonic() - self.idle_since < IDLE_SECONDS
        )

    def close(self) -> None:
        self.writer.close()


class KeptConnections:
    """GETs of ``endpoint`` (``http://`` or ``https://host:port``), TLS by ``context`` (None:
    the system's trust store), at most ``keep`` idle connections kept."""

    def __init__(self, endpoint: str, context: ssl.SSLContext | None, keep: int = 64) -> None:
        url = urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint}")
        self.host = url.hostname
        self.tls = url.scheme == "https"
        self.port = url.port or (443 if self.tls else 80)
        self.context = (context or ssl.create_default_context()) if self.tls else None
        self.head = f"Host: {url.netloc}\r\nAccept: application/json\r\nUser-Agent: vaxtrace\r\n"
        self.prefix = url.path.rstrip("/")
        self.keep = keep
        self._idle: list[_Connection] = []

    async def get(self, target: str) -> Answer:
        """GET ``target`` (a path and query, quoted)."""
        request = f"GET {self.prefix}{target} HTTP/1.1\r\n{self.head}\r\n".encode()
        while self._idle:
            kept = self._idle.pop()
            if not kept.usable():
                kept.close()
                continue
            try:
                return await self._exchange(kept, request)
            except _Lost:  # closed by the server while idle
                continue
        try:
            return await self._exchange(await self._open(), request)
        except _Lost as lost:
            raise Unanswered(f"the connection was closed without an answer ({lost})") from lost

    def close(self) -> None:
        """Close the idle connections."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    async def _open(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(
                self.host,
                self.port,
                ssl=self.context,
                server_hostname=self.host if self.tls else None,
                limit=LARGEST_ANSWER,
            )
        except (OSError, ssl.SSLError) as error:
            raise Unanswered(f"cannot connect: {error}") from error
        return _Connection(reader, writer)

    async def _exchange(self, connection: _Connection, request: bytes) -> Answer:
        try:
            answer, keep = await _answer_of(connection, request)
        except BaseException:  # lost, refused, cancelled: the connection is done with
            connection.close()
            raise
        if keep and len(self._idle) < self.keep:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return answer


async def _answer_of(connection: _Connection, request: bytes) -> tuple[Answer, bool]:
    """The answer to ``request`` on ``connection``, and whether the connection may be kept."""
    reader = connection.reader
    try:
        connection.writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            raise _Lost("end of stream") from error
        raise Unanswered("the answer's head was cut short") from error
    except ConnectionError as error:
        raise _Lost(str(error) or type(error).__name__) from error
    except (asyncio.LimitOverrunError, ValueError) as error:
        raise Unanswered("the answer's head is too long") from error
    except OSError as error:
        raise Unanswered(f"the connection failed: {error}") from error
    status, version, headers = _parse_head(head)
    try:
        body, ended = await _body(reader, headers)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError) as error:
        raise Unanswered(f"the answer's body was cut short or unreadable: {error}") from error
    closing = headers.get("connection", "").lower()
    keep = not ended and (closing != "close" if version == "HTTP/1.1" else closing == "keep-alive")
    return Answer(status, headers, body), keep


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise Unanswered(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, colon, value = line.partition(":")
            if not colon:
                raise Unanswered(f"a malformed header line: {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
    return int(code), version, headers


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> tuple[bytes, bool]:
    """The body as ``headers`` frame it, and whether it ended with the connection."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _chunked(reader), False
    length = headers.get("content-length")
    if length is not None:
        if not length.isdigit() or int(length) > LARGEST_ANSWER:
            raise Unanswered(f"an answer of Content-Length {length[:40]!r}")
        return await reader.readexactly(int(length)), False
    body = await reader.read(LARGEST_ANSWER + 1)
    while len(body) <= LARGEST_ANSWER and not reader.at_eof():
        more = await reader.read(LARGEST_ANSWER + 1 - len(body))
        if not more:
            break
        body += more
    if len(body) > LARGEST_ANSWER:
        raise Unanswered("an answer longer than the largest taken")
    return body, True


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    size_so_far = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        size_so_far += size
        if size_so_far > LARGEST_ANSWER:
            raise Unanswered("an answer longer than the largest taken")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
