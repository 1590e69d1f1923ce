"""Writing the demo practice into a migrated database, once per organization slug."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cmgraph.db.engine import Database
from cmgraph.db.models import Base, Organization
from cmgraph.demo.catalog import ORGANIZATION_NAME, TIMEZONE
from cmgraph.demo.practice import Practice
from cmgraph.demo.records import change_records
from cmgraph.services import positions


class DemoExists(Exception):
    """The organization slug is taken; the demo never duplicates or overwrites data."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            f"an organization with slug {slug!r} already exists; the demo was not loaded "
            "(it never overwrites data; pick another slug)"
        )
        self.slug = slug


@dataclass(frozen=True)
class DemoSummary:
    """What load_demo created."""

    organization_id: uuid.UUID
    slug: str
    clients: int
    providers: int
    payors: int
    appointments: int
    assignments: int


async def load_demo(db: Database, *, slug: str = "demo", today: date | None = None) -> DemoSummary:
    """Create the demo organization `slug`; raise DemoExists if the slug is taken."""
    today = today or datetime.now(ZoneInfo(TIMEZONE)).date()
    organization = Organization(
        id=uuid.uuid4(), slug=slug, name=ORGANIZATION_NAME, timezone=TIMEZONE
    )
    practice = Practice(organization.id, today)
    clients = practice.clients()
    bookings = practice.schedule(clients)

    providers = practice.provider_rows()
    payors = practice.payor_rows()
    client_rows = practice.client_rows(clients)
    assignments = practice.assignment_rows(clients)
    appointments = practice.appointment_rows(bookings)
    dependents: list[Base] = [
        *practice.credentials.values(),
        *practice.enrollments.values(),
        *practice.coverage_rows(clients),
        *assignments,
        *appointments,
    ]
    records = change_records(organization.id, [*client_rows, *providers, *payors, *assignments])

    async with db.write() as session:
        if await session.scalar(select(Organization.id).where(Organization.slug == slug)):
            raise DemoExists(slug)
        # Flushed in dependency order: organization, then the rows others point to.
        session.add(organization)
        try:
            await session.flush()
        except IntegrityError as exc:  # created concurrently since the check above
            raise DemoExists(slug) from exc
        session.add_all([*providers, *payors, *client_rows])
        await session.flush()
        session.add_all(dependents)
        for record in records:  # inserted at commit, with their feed positions
            positions.stage(session, record)
        await session.commit()

    return DemoSummary(
        organization_id=organization.id,
        slug=slug,
        clients=len(client_rows),
        providers=len(providers),
        payors=len(payors),
        appointments=len(appointments),
        assignments=len(assignments),
    )
