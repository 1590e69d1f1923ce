"""Taking a pooled PostgreSQL connection is one wait on the database, under one deadline.

Waiting for a free connection, then connecting anew (the one freed had been dropped) or
pinging it (pool_pre_ping), each had a whole deadline of its own: while the database stalls,
a request waited for the connection that another request's timed-out statement freed, then
as long again to connect to the stalled server, twice the promised time (README: answered
503 within 5 seconds). The pool notes when a checkout began; connecting and pinging get what
is left of its deadline, and never less than FLOOR_SECONDS: a pool merely busy is not a
stalled database, and a healthy server answers a ping in a millisecond.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool

FLOOR_SECONDS = 0.5

# When the checkout under way in this task must end. SQLAlchemy runs the pool in a greenlet
# that shares the task's context, so the ping and the connect below see it.
_deadline: ContextVar[float | None] = ContextVar("cmgraph_checkout_deadline", default=None)


class DeadlinePool(AsyncAdaptedQueuePool):
    """The async engine's default pool, whose checkouts each have pool_timeout in all."""

    def connect(self) -> Any:
        token = _deadline.set(time.monotonic() + self._timeout)
        try:
            return super().connect()
        finally:
            _deadline.reset(token)


def remaining(seconds: float) -> float:
    """How long a step of the checkout under way may wait: `seconds`, or less when the
    checkout's deadline comes sooner (outside a checkout, `seconds`)."""
    deadline = _deadline.get()
    if deadline is None:
        return seconds
    return min(seconds, max(deadline - time.monotonic(), FLOOR_SECONDS))
