"""The facts a bulk import's batch of case-manager rows is checked against.

They are read for the whole batch at once, in a constant number of queries: the batch's
clients' assignments; then, when a row is to be checked, its providers with their
credentials and enrollments, and its clients' coverages and sessions. They are handed to
the case-manager use cases' own checks (services.case_managers: `adding`, `changing`,
`revising` read through a Source). The assignments are the batch's ORM rows: what a row
adds or changes is seen by the rows after it, in date order, exactly as the database would
show it to the use case running alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import facts
from cmgraph.db import models
from cmgraph.services import loading, lookups
from cmgraph.services.case_managers import Pair
from cmgraph.services.scope import TenantScope


class Preloaded:
    """A case_managers.Source over what the batch read, kept current by the batch's writes."""

    def __init__(self, scope: TenantScope) -> None:
        self.scope = scope
        self.clients: set[UUID] = set()
        self.providers: dict[UUID, facts.Provider] = {}
        self.coverages_of: dict[UUID, list[facts.Coverage]] = defaultdict(list)
        self.enrollments_of: dict[UUID, list[facts.Enrollment]] = defaultdict(list)
        self.lines: dict[Pair, list[models.Assignment]] = defaultdict(list)
        self.sessions: dict[Pair, list[facts.Appointment]] = defaultdict(list)

    async def read(self, session: AsyncSession, client_ids: Collection[UUID]) -> None:
        """The clients' assignments; the clients are locked, as every assignment write locks
        its client (PostgreSQL)."""
        if not client_ids:
            return
        org, c, a = self.scope.organization_id, models.Client, models.Assignment
        mine = select(c.id).where(c.organization_id == org, c.id.in_(client_ids))
        self.clients = set(await session.scalars(mine.with_for_update()))
        for row in await session.scalars(
            select(a)
            .where(a.organization_id == org, a.client_id.in_(self.clients))
            .execution_options(populate_existing=True)
        ):
            self.lines[(row.client_id, row.service_line)].append(row)

    async def read_facts(self, session: AsyncSession, provider_ids: Collection[UUID]) -> None:
        """The rest of what the checks ask, once a row of the batch is to be checked (a file
        imported again, unchanged, needs none of it)."""
        org, ap = self.scope.organization_id, models.Appointment
        self.providers = await loading.providers(session, org, provider_ids)
        for e in await loading.enrollments(session, org, provider_ids):
            self.enrollments_of[e.provider_id].append(e)
        self.coverages_of.update(await loading.coverages(session, org, self.clients))
        if not self.clients:
            return
        for fact in await loading.rows_of(  # Core rows: a batch reads thousands of sessions
            session,
            select(*loading.APPOINTMENT_FACT).where(
                ap.organization_id == org, ap.client_id.in_(self.clients)
            ),
        ):
            pair = (fact.client_id, fact.service_line)
            self.sessions[pair].append(loading.appointment_fact(fact))

    async def client(self, id: UUID | None, *, lock: bool) -> UUID:
        if id is None or id not in self.clients:
            raise lookups.not_found(models.Client, "clientId")
        return id

    async def provider(self, id: UUID | None) -> facts.Provider:
        if id is None or id not in self.providers:
            raise lookups.not_found(models.Provider, "providerId")
        return self.providers[id]

    async def coverages(self, client_id: UUID) -> list[facts.Coverage]:
        return self.coverages_of[client_id]

    async def enrollments(self, provider_id: UUID) -> list[facts.Enrollment]:
        return self.enrollments_of[provider_id]

    async def assignments(self, pair: Pair) -> list[facts.Assignment]:
        return [loading.assignment_fact(a) for a in self.lines[pair]]

    async def appointments(self, pair: Pair, since: datetime) -> list[facts.Appointment]:
        return [a for a in self.sessions[pair] if a.starts_at >= since]

    async def covered(self, pair: Pair, day: date) -> models.Assignment | None:
        return next(
            (
                a
                for a in self.lines[pair]
                if a.start_date <= day and (a.end_date is None or a.end_date >= day)
            ),
            None,
        )
