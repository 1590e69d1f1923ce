"""Feed positions in commit order, for the audit trail and the domain events (the outbox).

A reader that keeps "the last position I saw" must never miss a row that commits later with
a smaller position. So positions are handed out at commit, not when a row is made: the rows
a transaction appends (change records, events) are staged on its session, and just before
COMMIT one statement takes the organization's next positions from `feed_counters`

    INSERT INTO feed_counters ... ON CONFLICT (organization_id)
        DO UPDATE SET position = feed_counters.position + n RETURNING position

and the rows are inserted with them. That row stays locked until the transaction ends, and
PostgreSQL makes a commit visible before it releases the commit's locks, so the next writer
of the organization gets its positions only after this one is visible: positions are dense
and ascend in commit order, and `WHERE position > p ORDER BY position` never skips nor
repeats. (PostgreSQL's write transactions run READ COMMITTED, where the waiting upsert reads
the counter as the holder left it.) SQLite has one writer at a time, so the same statement
is commit order there too.

The cost: one statement per write transaction, and writes of one organization serialize
for the moment between that statement and COMMIT. Staging happens in `stage`; the sealing
runs in the session's before_commit event, so every commit, whichever use case made it,
seals what it staged. A row is staged as its columns (a dict), not as an ORM object, and
inserted at once per table (db.bulk: COPY on PostgreSQL, executemany elsewhere): a bulk
import stages two rows per record it writes, and an ORM object and its unit of work cost
several times a plain insert.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapper, Session

from cmgraph.db import bulk, ids, models

Positioned = models.ChangeRecord | models.Event
_STAGED = "cmgraph.positions.staged"


@dataclass(slots=True)
class Staged:
    """A change record or an event to insert at commit: its table and its columns, every
    one of them but `position` (given at sealing)."""

    model: type[Positioned]
    values: dict[str, Any]


_before_sealing: list[Callable[[Session, list[Staged]], None]] = []


def new_id() -> UUID:
    """The id of a change record or an event: time-ordered (UUIDv7), as they are only ever
    appended, so that a new row goes to the end of its primary-key index rather than to a
    random page of it (a bulk import writes two per row). Nothing orders by it (the feeds
    order by position) and nothing reads its time: it is an id as a random one is."""
    return ids.time_ordered()


@functools.cache
def _columns(model: type[Positioned]) -> tuple[str, ...]:
    mapper: Mapper[Positioned] = sa_inspect(model)
    return tuple(c.key for c in mapper.column_attrs if c.key != "position")


def stage_values(session: Any, model: type[Positioned], values: dict[str, Any]) -> None:
    """Insert a row of `model` with these columns when session commits, with the next
    position of its organization. `session` is an AsyncSession or a Session: both share
    `info`."""
    session.info.setdefault(_STAGED, []).append(Staged(model, values))


def stage(session: Any, row: Positioned) -> None:
    """`stage_values` for a row made as an ORM object (its id and time given now when
    unset); the object itself is not added to the session."""
    if row.id is None:
        row.id = new_id()
    if row.occurred_at is None:
        row.occurred_at = models.utcnow()
    values = {key: getattr(row, key) for key in _columns(type(row))}
    stage_values(session, type(row), values)


def before_sealing(callback: Callable[[Session, list[Staged]], None]) -> None:
    """Run callback on the staged rows at commit, before positions are taken (and the
    organization's counter locked): for what costs a query, kept out of the lock."""
    _before_sealing.append(callback)


def _next_positions(session: Session, organization_id: UUID, count: int) -> int:
    """Reserve `count` positions; returns the last of them."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    counter = models.FeedCounter
    statement = (
        insert(counter)
        .values(organization_id=organization_id, position=count)
        .on_conflict_do_update(
            index_elements=[counter.organization_id],
            set_={"position": counter.position + count},
        )
        .returning(counter.position)
    )
    return int(session.execute(statement).scalar_one())


@event.listens_for(Session, "before_commit")
def seal(session: Session) -> None:
    """Insert what the session staged, with its positions. Runs before every commit; a
    caller may run it earlier (transaction._commit) to keep all but COMMIT out of it."""
    staged: list[Staged] = session.info.pop(_STAGED, [])
    if not staged:
        return
    for callback in _before_sealing:
        callback(session, staged)
    by_organization: dict[UUID, list[Staged]] = {}
    for row in staged:
        by_organization.setdefault(row.values["organization_id"], []).append(row)
    by_table: dict[type[Positioned], list[dict[str, Any]]] = {}
    for organization_id in sorted(by_organization):  # one order: no deadlock between orgs
        rows = by_organization[organization_id]
        last = _next_positions(session, organization_id, len(rows))
        for offset, row in enumerate(rows, start=last - len(rows) + 1):
            row.values["position"] = offset
            by_table.setdefault(row.model, []).append(row.values)
    for model, values in by_table.items():
        bulk.insert_rows(session.connection(), model.__table__, values)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    # What a rolled-back transaction staged was never written. Savepoints too: a committed
    # savepoint sealed its rows already (before_commit fires for it), so what is staged
    # when one rolls back is its own (a bulk import's refused row).
    session.info.pop(_STAGED, None)
