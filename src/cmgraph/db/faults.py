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
its busy timeout (STATEMENT_TIMEOUT_SECONDS), and running it again would hold the caller as
long once more; it is answered as unavailable.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

CONNECT_TIMEOUT_SECONDS = 5
"""How long connecting to PostgreSQL may take before a request is answered 503."""
STATEMENT_TIMEOUT_SECONDS = 5
"""How long one statement (or the pool's ping of a connection) may wait for the database
before the request is answered 503: README promises an answer within 5 seconds whatever the
database does. A server that answers late cancels the statement itself a second earlier
(statement_timeout, the connection stays usable); one that does not answer at all is given
up on here and its connection dropped."""

QUERY_CANCELED = "57014"  # PostgreSQL's statement_timeout (or a cancel request) fired

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


def _sqlstate(error: BaseException) -> str | None:
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        error = error.orig
    return getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)


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
        if _sqlstate(error) == QUERY_CANCELED:  # the database did not answer in time
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
        if _sqlstate(error) in _RETRYABLE_SQLSTATES:
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
            error = error.orig
            continue
        error = error.__cause__ or error.__context__
    return False
