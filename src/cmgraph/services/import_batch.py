"""A bulk import's batch of one kind, written together: the writes of the rows it accepted go
to the database in a constant number of statements, whatever the number of rows.

A row is checked in memory by the same functions the service's use case calls (so with the
same codes, messages and fields); an accepted row changes the batch's rows in memory and
stages its change record and events at once, in row order, exactly as the use case would
(services.changes.record_by: the audit trail, the outbox, the findings to keep current).
`finish` then inserts the new rows and updates the changed ones in one flush, inside one
savepoint that also seals the staged records (services.positions): one INSERT per table,
one UPDATE per set of changed columns, one feed-counter statement.

The savepoint opens before the first row: should the flush still fail (a unique value a
concurrent writer took between the batch's read and its write), everything the batch did is
undone and each row it had accepted is refused with the error the use case would have met.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import uuid4

from sqlalchemy import Executable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

from cmgraph.db import models
from cmgraph.observability import metrics
from cmgraph.services import editing
from cmgraph.services.import_cells import Row
from cmgraph.services.outcome import Refused, UserError
from cmgraph.services.scope import TenantScope
from cmgraph.services.transaction import integrity_error

T = TypeVar("T")
R = TypeVar("R", bound=models.Tenant)
Problem = tuple[str | None, str, str]  # (column, code, message)


@dataclass(frozen=True)
class RowRefused(Exception):
    """The row did nothing: the service's user errors, on the file's columns."""

    errors: tuple[Problem, ...]


_TABLE_ORDER = [
    mapper.class_
    for table in models.Base.metadata.sorted_tables  # referred tables before referring ones
    for mapper in models.Base.registry.mappers
    if mapper.local_table is table
]


class BatchWriter:
    """The writes of one batch, staged row by row and flushed together."""

    def __init__(self, session: AsyncSession, scope: TenantScope) -> None:
        self.session, self.scope = session, scope
        self.accepted: list[Row] = []
        self._new: list[models.Tenant] = []
        self._first: list[Executable] = []
        self._savepoint: AsyncSessionTransaction | None = None

    async def open(self) -> None:
        """Before the first row: what the batch writes from here on stands or falls together."""
        self._savepoint = await self.session.begin_nested()

    def created(self, row: Row, record: R, operation: str, **extra: Any) -> R:
        """A new row of a use case, recorded as the use case records it. Its id and defaults
        are given now (not at the flush), so that its change record says what will be stored."""
        if getattr(record, "id", None) is None:
            record.id = uuid4()
        self._new.append(record)
        editing.record_created(self.session, self.scope, operation, record, **extra)
        self.accepted.append(row)
        return record

    def added(self, *records: models.Tenant) -> None:
        """Rows to insert with the batch that no change record names (a provider's
        credentials: its record carries them)."""
        self._new.extend(records)

    def first(self, statement: Executable) -> None:
        """A statement to run before the batch's rows are written (credentials replaced)."""
        self._first.append(statement)

    def accept(self, row: Row) -> None:
        """A row whose writes the caller staged itself (on the session, recorded)."""
        self.accepted.append(row)

    def updated(
        self, row: Row, record: models.Tenant, operation: str, before: dict[str, Any]
    ) -> None:
        """An existing row the use case changed in memory; recorded when it changed."""
        editing.record_updated(self.session, self.scope, operation, record, before)
        self.accepted.append(row)

    async def finish(self) -> list[UserError]:
        """Write the batch; the error that refused every accepted row, if the write failed."""
        assert self._savepoint is not None, "open() comes first"
        try:
            for statement in self._first:
                await self.session.execute(statement)
            await self.session.flush()  # the changed rows
            # One table at a time, parents first: the unit of work orders only the tables a
            # relationship links (a provider's credentials have none).
            for model in sorted({type(r) for r in self._new}, key=_TABLE_ORDER.index):
                self.session.add_all([r for r in self._new if type(r) is model])
                await self.session.flush()
            await self._savepoint.commit()  # seals the staged records (services.positions)
            return []
        except IntegrityError as exc:
            await self._savepoint.rollback()  # the staged records go with it
            error = integrity_error(exc)
            metrics.refused([error.code])
            return [error]
        finally:
            self._new, self._first = [], []


def checked(on_column: Callable[[UserError], Problem], check: Callable[[], T]) -> T:
    """What a use case checks inside its transaction, refused as its Outcome would be (and
    counted among the rule refusals, as transaction.run_write counts them)."""
    try:
        return check()
    except Refused as refused:
        metrics.refused(e.code for e in refused.errors)
        raise RowRefused(tuple(on_column(e) for e in refused.errors)) from None


async def checked_async(on_column: Callable[[UserError], Problem], check: Awaitable[T]) -> T:
    """`checked` for checks that read facts (services.case_managers over a Source)."""
    try:
        return await check
    except Refused as refused:
        metrics.refused(e.code for e in refused.errors)
        raise RowRefused(tuple(on_column(e) for e in refused.errors)) from None
