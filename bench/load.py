"""A small load generator: N keep-alive HTTP/1.1 connections on one asyncio loop.

Cheap on purpose (the machine has two cores, shared with the server and the database):
requests are pre-encoded bytes, a response is read by its Content-Length, and only the
status and a substring are checked. The runner uses it, in a process of its own, for
cmgraph and for the floor alike, so their figures compare.

    python -m bench.load SPEC.json --concurrency 8 --seconds 10 --warmup 1 --out RESULT.json

SPEC: {"host", "port", "path", "token", "bodies": [str...], "unique": bool, "ok": str,
"bad": str}. With "unique" every body is sent once (writes); otherwise they cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any


def request_bytes(host: str, port: int, path: str, token: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive connection; `send` returns (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=2**24)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"content-length:")
        if at < 0:
            raise RuntimeError("response without Content-Length")
        length = int(lower[at + 15 : lower.find(b"\r\n", at)])
        body = await self.reader.readexactly(length)
        if b"connection: close" in lower:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


@dataclass
class Result:
    requests: int
    seconds: float
    failures: int
    unfinished: int
    latencies: list[float]
    exhausted: bool
    sample_failure: str | None

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000

        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.requests / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "mean_ms": (sum(lat) / len(lat) * 1000) if lat else None,
            "failures": self.failures,
            # abandoned at the end: p99 is then a lower bound
            "unfinished": self.unfinished,
            "exhausted": self.exhausted,
            "sample_failure": self.sample_failure,
        }


async def run(spec: dict[str, Any], concurrency: int, seconds: float, warmup: float) -> Result:
    host, port = spec["host"], spec["port"]
    requests = [
        request_bytes(host, port, spec["path"], spec["token"], b.encode()) for b in spec["bodies"]
    ]
    unique = bool(spec.get("unique"))
    ok = spec.get("ok", "").encode()
    bad = spec.get("bad", '"errors":').encode()
    state = {"next": 0, "failures": 0, "count": 0, "unfinished": 0, "exhausted": False}
    latencies: list[float] = []
    sample: list[str] = []
    begin = time.perf_counter()
    measure_from = begin + warmup
    end = measure_from + seconds

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            while True:
                now = time.perf_counter()
                if now >= end:
                    return
                i = state["next"]
                if unique and i >= len(requests):
                    state["exhausted"] = True
                    return
                state["next"] = i + 1
                started = time.perf_counter()
                try:
                    # a request still running a second after the end is abandoned
                    status, body = await asyncio.wait_for(
                        connection.send(requests[i % len(requests)]), end + 1.0 - started
                    )
                except TimeoutError:
                    state["unfinished"] += 1
                    return
                done = time.perf_counter()
                failed = status != 200 or bad in body or (ok and ok not in body)
                if started >= measure_from and done <= end:
                    state["count"] += 1
                    latencies.append(done - started)
                    if failed:
                        state["failures"] += 1
                if failed and not sample:
                    sample.append(f"{status}: {body[:300].decode(errors='replace')}")
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    measured = min(time.perf_counter(), end) - measure_from
    return Result(
        state["count"],
        max(measured, 1e-9),
        state["failures"],
        state["unfinished"],
        latencies,
        bool(state["exhausted"]),
        sample[0] if sample else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    result = asyncio.run(run(spec, args.concurrency, args.seconds, args.warmup))
    with open(args.out, "w") as f:
        json.dump(result.summary(), f)


if __name__ == "__main__":
    main()
