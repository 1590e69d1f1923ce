"""Which failures mean "the database is unavailable", so that callers answer 503 (try again
later) rather than an internal error, and recover by themselves when it returns.

Drivers disagree on how they say it: asyncpg raises the socket's own OSError
(ConnectionRefusedError, ConnectionError) or TimeoutError while connecting, and its
InterfaceError or a connection error once a connection is lost; SQLAlchemy wraps DBAPI
errors in OperationalError or InterfaceError (aiosqlite's "unable to open database file",
"database is locked"), marks a lost connection with `connection_invalidated`, and raises its
own TimeoutError when no pooled connection frees up. The cause chain is walked because
layers above may wrap the error once more.

Which failures mean "a concurrent transaction got in the way, run it again": PostgreSQL's
serialization_failure (SQLSTATE 40001) and deadlock_detected (40P01), which asyncpg
reports through SQLAlchemy as a DBAPIError whose `.orig` carries `.sqlstate` (and
`.pgcode`). SQLite's "database is locked" is not one: it comes only after the write waited
its 30 s busy timeout, and running it again would hold the caller as long once more; it is
answered as unavailable.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

CONNECT_TIMEOUT_SECONDS = 5
"""How long connecting to PostgreSQL may take before a request is answered 503."""

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)

try:  # asyncpg is the PostgreSQL driver; SQLite-only installs may lack it
    import asyncpg

    _UNAVAILABLE += (
        asyncpg.exceptions.PostgresConnectionError,
        asyncpg.exceptions.InterfaceError,
        asyncpg.exceptions.CannotConnectNowError,
    )
except ImportError:  # pragma: no cover
    pass


def is_unavailable(error: BaseException | None) -> bool:
    """True when error, or any error it was raised from, says the database cannot be reached
    or cannot answer now."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _UNAVAILABLE):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
    return False


SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
_RETRYABLE_SQLSTATES = {SERIALIZATION_FAILURE, DEADLOCK_DETECTED}


def is_retryable(error: BaseException | None) -> bool:
    """True when error, or any error it was raised from, says the transaction lost a race
    and would likely succeed if run again from the start."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if state in _RETRYABLE_SQLSTATES:
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
            error = error.orig
            continue
        error = error.__cause__ or error.__context__
    return False
