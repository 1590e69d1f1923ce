"""A TCP proxy to PostgreSQL that a test controls, to make the database fail the ways a
network does: stop (every connection dropped, new ones refused, as a server that went away),
pause (sockets stay open and nothing is forwarded, as a stalled server or a black-holed
route), and cut (drop every open connection at once, while new ones are still accepted)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

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

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        await self._flowing.wait()  # a paused server does not even answer the handshake
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, up: bool) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65536):
                    await self._flowing.wait()
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
