"""Who is acting, in which organization, with which rules: what every use case needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.db.engine import Database
from cmgraph.facts import Clock
from cmgraph.plugins import RuleBook
from cmgraph.services.idempotency import Claim


@dataclass
class Journal:
    """What one request's writes did so far (services.transaction keeps it): how many it ran
    and committed, and the outcomes recorded under its Idempotency-Key, by write."""

    writes: int = 0
    committed: int = 0
    recorded: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TenantScope:
    db: Database
    book: RuleBook
    organization_id: UUID
    clock: Clock
    actor: str
    role: str = "admin"
    actor_name: str = ""
    request_id: str | None = None
    caller_request_id: str | None = None  # the caller's X-Request-ID, sanitised (web.requests)
    # A clinician sees only the clients on this provider's caseload (services.visibility).
    caseload_of: UUID | None = None
    # The Idempotency-Key this request holds: its writes mark it (services.idempotency).
    idempotency: Claim | None = None
    journal: Journal = field(default_factory=Journal, compare=False)
    # Set by transaction.run_batch: this scope's writes run in savepoints of that one
    # transaction (a bulk import) instead of each opening its own.
    batch: AsyncSession | None = None

    def today(self) -> date:
        return datetime.now(self.clock.zone).date()
