"""Keep-alive GETs on asyncio streams: connections kept and used again, a kept connection the
server closed meanwhile replaced, every way an answer is framed, and every way of not getting
one named :class:`Unanswered`; a GET cancelled mid-answer never leaves its connection kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import anyio
import pytest

from vaxtrace.exchange.kept_http import LARGEST_ANSWER, KeptConnections, Unanswered

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _answer(body: bytes, *extra: str) -> bytes:
    head = "".join(f"{line}\r\n" for line in extra)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


def _run(serve: Serve, client: Callable[[KeptConnections], Awaitable[object]]) -> object:
    async def main() -> object:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        kept = KeptConnections(f"http://127.0.0.1:{port}", None)
        try:
            return await client(kept)
        finally:
            kept.close()
            server.close()

    return anyio.run(main)


def test_a_connection_is_kept_and_used_again() -> None:
    accepted: list[int] = []
    asked: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            asked.append(head.split(b"\r\n", 1)[0])
            writer.write(_answer(b'{"n": %d}' % len(asked), "Content-Type: application/json"))

    async def client(kept: KeptConnections) -> list[object]:
        return [(await kept.get(f"/v?code={n}")).json() for n in range(3)]

    assert _run(serve, client) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert len(accepted) == 1
    assert asked == [f"GET /v?code={n} HTTP/1.1".encode() for n in range(3)]


def test_a_kept_connection_closed_by_the_server_is_replaced() -> None:
    """The server answers one request per connection and then closes it without saying so
    (as a server's idle timeout does): the next GET is answered on a new connection."""
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_answer(b"one"))
        await writer.drain()
        writer.close()

    async def client(kept: KeptConnections) -> list[bytes]:
        first = await kept.get("/a")
        await asyncio.sleep(0.05)  # the close arrives
        second = await kept.get("/b")
        return [first.body, second.body]

    assert _run(serve, client) == [b"one", b"one"]
    assert len(accepted) == 2


def test_a_connection_lost_as_it_is_used_is_asked_again_once() -> None:
    """A kept connection the server drops when the request arrives: sent again on a new one;
    a new connection dropped too is no answer."""
    drops = {"left": 1}

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            if drops["left"]:
                drops["left"] -= 1
                writer.close()
                return
            writer.write(_answer(b"ok"))

    async def client(kept: KeptConnections) -> list[object]:
        drops["left"] = 0
        assert (await kept.get("/warm")).body == b"ok"  # a kept connection now
        drops["left"] = 1
        again = (await kept.get("/a")).body  # the kept one dropped, a new one answers
        drops["left"] = 1  # the kept one answered; drop it and the next new one
        kept.close()
        with pytest.raises(Unanswered):
            await kept.get("/b")
        return [again]

    assert _run(serve, client) == [b"ok"]


@pytest.mark.parametrize(
    ("raw", "body", "kept"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok", True),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nab\r\n3;x=y\r\ncde\r\n0\r\nTrailer: t\r\n\r\n",
            b"abcde",
            True,
        ),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", b"", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", b"x", False),
        (b"HTTP/1.1 200 OK\r\n\r\nto the end", b"to the end", False),
    ],
)
def test_every_framing_of_an_answer(raw: bytes, body: bytes, kept: bool) -> None:
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(raw)
        await writer.drain()
        if b"Content-Length" not in raw and b"chunked" not in raw:
            writer.close()
            return
        await reader.read()  # until the client closes

    async def client(connections: KeptConnections) -> object:
        answer = await connections.get("/x")
        return answer.body, len(connections._idle)

    assert _run(serve, client) == (body, 1 if kept else 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (LARGEST_ANSWER + 1),
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nCont",
    ],
)
def test_what_is_not_an_answer(raw: bytes) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(raw)
        await writer.drain()
        writer.close()

    async def client(kept: KeptConnections) -> object:
        with pytest.raises(Unanswered):
            await kept.get("/x")
        return len(kept._idle)

    assert _run(serve, client) == 0


def test_nobody_listening_is_unanswered() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(Unanswered):
            await KeptConnections(f"http://127.0.0.1:{port}", None).get("/x")

    anyio.run(main)


def test_a_get_cancelled_mid_answer_leaves_no_connection_kept() -> None:
    accepted: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        head = await reader.readuntil(b"\r\n\r\n")
        if b"/slow" in head:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
            await asyncio.sleep(5)
            return
        writer.write(_answer(b"quick"))

    async def client(kept: KeptConnections) -> object:
        with anyio.move_on_after(0.2):
            await kept.get("/slow")
        idle = len(kept._idle)
        return idle, (await kept.get("/quick")).body

    assert _run(serve, client) == (0, b"quick")
    assert len(accepted) == 2


def test_only_http_endpoints() -> None:
    with pytest.raises(ValueError, match="not an http"):
        KeptConnections("ftp://example", None)
