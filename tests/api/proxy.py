"""A TCP proxy to PostgreSQL that a test controls, to make the database fail the ways a
network does: stop (every connection dropped, new ones refused, as a server that went away),
pause (sockets stay open and nothing is forwarded, as a stalled server or a black-holed
route), and cut (drop every open connection at once, while new ones are still accepted);
cut_at_commit (drop a connection exactly at the COMMIT of a chosen write, before it
reaches PostgreSQL or after it did, its answer lost on the way back); and pause_at_commit
(the database stalls the moment a chosen write's COMMIT reached it, or once its answer is
back, so that the COMMIT, or whatever the request does after it, meets the stall).
ProxyThread runs one in a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from sqlalchemy.engine import make_url


class Proxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.bytes_up = 0  # forwarded from the client to PostgreSQL
        self._commit_after: bytes | None = None  # armed: cut at the COMMIT after these bytes
        self._deliver_commit = False
        self._pause_at_commit: str | None = None  # "commit" or "answer": pause_at_commit
        self.commits_cut = 0

    @classmethod
    def to(cls, database_url: str) -> Proxy:
        url = make_url(database_url)
        return cls(url.host or "127.0.0.1", url.port or 5432)

    def url(self, database_url: str) -> str:
        """database_url, through this proxy."""
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every open connection (both ends); new ones are still accepted."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def pause(self) -> None:
        """Forward nothing, either way, until resume(); connections stay open."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def cut_at_commit(self, after: bytes, delivered: bool) -> None:
        """Once: on the connection that sends `after` (a statement of the write), cut at its
        next COMMIT; delivered=False cuts before PostgreSQL gets the COMMIT (nothing is
        committed), True after its answer to the COMMIT came back (committed; the client
        never hears it). Either way the client's COMMIT fails with a lost connection."""
        self._commit_after, self._deliver_commit = after, delivered
        self._pause_at_commit = None

    def pause_at_commit(self, after: bytes, answered: bool) -> None:
        """Once: on the connection that sends `after`, forward its next COMMIT (PostgreSQL
        commits), then pause(): at once (answered=False: the client never hears the answer
        while paused), or as PostgreSQL's answer goes out (True: the client knows)."""
        self._commit_after, self._deliver_commit = after, True
        self._pause_at_commit = "answer" if answered else "commit"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._flowing.wait()  # a paused server does not even answer the handshake
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        armed = {"seen": False, "committing": False}

        def cut_here() -> None:
            self.commits_cut += 1
            writer.transport.abort()
            up_writer.transport.abort()

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, up: bool) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    await self._flowing.wait()
                    if up and self._commit_after is not None:
                        armed["seen"] = armed["seen"] or self._commit_after in data
                        if armed["seen"] and b"COMMIT" in data:
                            self._commit_after = None
                            if not self._deliver_commit:
                                cut_here()
                                return
                            armed["committing"] = True
                            if self._pause_at_commit == "commit":
                                armed["committing"] = False
                                sink.write(data)  # the COMMIT reaches PostgreSQL, then nothing
                                self.pause()
                                await sink.drain()
                                continue
                    if not up and armed["committing"]:
                        if self._pause_at_commit == "answer":
                            armed["committing"] = False
                            sink.write(data)  # the answer to the COMMIT, then nothing
                            self.pause()
                            await sink.drain()
                            continue
                        cut_here()  # PostgreSQL answered the COMMIT: it is committed
                        return
                    if up:
                        self.bytes_up += len(data)
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))


@contextlib.asynccontextmanager
async def proxy_to(database_url: str) -> AsyncIterator[Proxy]:
    proxy = Proxy.to(database_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        proxy.resume()
        if proxy._server is not None and proxy._server.is_serving():
            await proxy.stop()
        else:
            proxy.cut()


class ProxyThread:
    """A Proxy on an event loop of its own, in a thread: it forwards at its own pace however
    busy the test's loop is (a load test's clients), and pause()/resume() may be called from
    any thread."""

    def __init__(self, database_url: str) -> None:
        self.proxy = Proxy.to(database_url)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ProxyThread:
        self._thread.start()
        self._call(self.proxy.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.resume()
        self._call(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def url(self, database_url: str) -> str:
        return self.proxy.url(database_url)

    def pause(self) -> None:
        self._loop.call_soon_threadsafe(self.proxy.pause)

    def resume(self) -> None:
        self._loop.call_soon_threadsafe(self.proxy.resume)

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)
