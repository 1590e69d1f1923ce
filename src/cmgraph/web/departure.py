"""A query whose caller has gone is stopped.

A client that gives up on a long read (its own timeout, a closed tab, a load generator's run
ending) closes its connection, and the server learns of it only by asking for the request's
next ASGI message. Without asking, the read ran to its end for nobody: thirty-two batches of
500 rendering answers left behind by a generator that stopped held the worker's CPU for
3.5 s more, and every request that came after waited behind them (the benchmark's heavy
reads at 32 connections "collapsed" that way: each run began behind the last one's
abandoned requests). Mutations are not stopped: see GraphQLEndpoint._stoppable.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import Receive

log = logging.getLogger("cmgraph.web")


class Departure:
    """Watches one request's connection while its query runs: when the client disconnects,
    `deadline` (the query's time budget) expires at once, which stops the query at its next
    await as the budget would. `stop` ends the watch; `gone` says whether the client left."""

    def __init__(self, receive: Receive, deadline: asyncio.Timeout) -> None:
        self._left = _Left()
        self._watch = asyncio.get_running_loop().create_task(
            _until_gone(receive, deadline, self._left)
        )

    @property
    def gone(self) -> bool:
        return self._left.seen

    def stop(self) -> None:
        self._watch.cancel()


class _Left:
    seen = False


async def _until_gone(receive: Receive, deadline: asyncio.Timeout, left: _Left) -> None:
    # The body has been read: all that can still come is the disconnect. (A function of its
    # own, not a method: the task refers to no Departure that refers back to it.)
    try:
        while (await receive())["type"] != "http.disconnect":
            continue
    except Exception:  # a server's receive that fails: the query runs on, as before
        log.warning("watching for the client's departure failed", exc_info=True)
        return
    left.seen = True
    if not deadline.expired():  # the budget may be expiring in this same turn of the loop
        deadline.reschedule(asyncio.get_running_loop().time())
