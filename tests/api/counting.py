"""A practice to count statements on, and the count of one document: shared by the statement
tests (test_statements.py) and the growth tests (test_growth.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import builders as b

from cmgraph.api.ids import encode
from cmgraph.db import models
from cmgraph.plugins import RuleBook, build_plugin_manager
from cmgraph.services import findings
from tests.support import Api, StatementCounter


async def seed(db: Any, slug: str, clients: int = 50, *, judged: bool = True) -> list[str]:
    """`clients` clients, each with a coverage, a CM (a BCBA enrolled with the payor) and two
    sessions (the second one without a CM); returns the clients' global ids by name order.
    Inserted directly, as the API would store them, to keep the test fast; then `judged`
    stores their findings under the core rules, as `cmgraph findings rebuild` would (else
    the organization's findings are judged live)."""
    org = await b.org_id(db, slug)
    async with db.write() as session:
        payor = models.Payor(organization_id=org, name="Acme", kind="COMMERCIAL", plugins=[])
        providers = [
            models.Provider(
                organization_id=org, first_name="Cm", last_name=f"P{i}", npi=b.next_npi()
            )
            for i in range(5)
        ]
        session.add_all([payor, *providers])
        await session.flush()
        for p in providers:
            session.add(models.Credential(organization_id=org, provider_id=p.id, type="BCBA"))
            session.add(
                models.Enrollment(
                    organization_id=org,
                    provider_id=p.id,
                    payor_id=payor.id,
                    status="ENROLLED",
                    effective_from=date(2025, 1, 1),
                )
            )
        ids = []
        for i in range(clients):
            client = models.Client(organization_id=org, first_name="C", last_name=f"L{i:03d}")
            session.add(client)
            await session.flush()
            ids.append(encode("Client", client.id))
            provider = providers[i % len(providers)]
            session.add(
                models.Coverage(
                    organization_id=org,
                    client_id=client.id,
                    payor_id=payor.id,
                    priority=1,
                    effective_from=date(2025, 1, 1),
                )
            )
            session.add(
                models.Assignment(
                    organization_id=org,
                    client_id=client.id,
                    service_line="ABA",
                    provider_id=provider.id,
                    start_date=date(2026, 3, 1),
                )
            )
            for day in (date(2026, 3, 10), date(2026, 2, 10)):
                starts = datetime(day.year, day.month, day.day, 14, tzinfo=UTC)
                session.add(
                    models.Appointment(
                        organization_id=org,
                        client_id=client.id,
                        service_line="ABA",
                        provider_id=provider.id,
                        starts_at=starts,
                        ends_at=starts + timedelta(hours=1),
                        date_of_service=day,
                        status="SCHEDULED",
                    )
                )
        await session.commit()
    if judged:
        await findings.rebuild(db, RuleBook(build_plugin_manager()), org)
    return ids


async def counted(
    api: Api, statements: StatementCounter, query: str, variables: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    # A token's use is recorded at most once a minute: use it first, so only the query counts.
    await api("{ __typename }")
    statements.count = 0
    data = await api(query, variables)
    return statements.count, data
