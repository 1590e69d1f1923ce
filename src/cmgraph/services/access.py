"""Who may be who: the roles and the integration scopes, and the caller as the services see it.

Which operation needs which role or scope is the API's table (cmgraph.api.permissions);
this module only names the vocabulary, so that tokens and sign-in can refuse anything
outside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

ADMIN = "admin"
COORDINATOR = "coordinator"
BILLING = "billing"
CLINICIAN = "clinician"
INTEGRATION = "integration"

ROLES = (ADMIN, COORDINATOR, BILLING, CLINICIAN, INTEGRATION)
# Roles a person signs in with (JWT); integrations use API tokens with scopes.
PERSON_ROLES = (ADMIN, COORDINATOR, BILLING, CLINICIAN)

RESOURCES = (
    "clients",
    "providers",
    "payors",
    "coverages",
    "enrollments",
    "appointments",
    "case_managers",
)
# Scopes an integration token may hold: read and write of each resource, and read-only
# views (findings: rendering providers, compliance, rules; claims: claim lines; audit;
# events: the feed of domain events; webhooks: the token's own webhook endpoints), and
# imports:write (importRecords, which writes every kind).
SCOPES = tuple(
    [f"{r}:{mode}" for r in RESOURCES for mode in ("read", "write")]
    + ["findings:read", "claims:read", "audit:read", "events:read", "imports:write"]
    + ["webhooks:read", "webhooks:write"]
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: bound to one organization, with a role; a clinician to one provider,
    an integration to its scopes."""

    organization_id: UUID
    timezone: str
    role: str
    actor: str  # stable: "token:<id>", "user:<subject>", "cli"
    actor_name: str = ""  # for people reading the audit trail: a token's or person's name
    scopes: frozenset[str] = field(default_factory=frozenset)
    provider_id: UUID | None = None
    token_id: UUID | None = None

    @property
    def is_person(self) -> bool:
        """Signed in with a JWT (a person, through the UI), not an API token."""
        return self.actor.startswith("user:")
