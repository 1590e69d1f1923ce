"""Who may call what: one table, read by the guard that enforces it on every request and by
the test that checks every operation against every role.

A row names the roles that may use a root field or mutation, and the scopes of which an
integration token must hold one. A field without a row is refused to everyone (fail closed),
and a test fails until it gets one: adding an operation means adding its row here.

Roles (README, "Roles"): admin does everything in the organization, tokens included;
coordinator reads everything but the audit trail and tokens, and writes clients,
appointments, case managers, coverages and enrollments; billing reads everything (claim
lines, findings and the audit trail included) and writes nothing; clinician reads the clients
on their own caseload (services.visibility) and those clients' appointments; integration
holds explicit scopes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cmgraph.services.access import (
    ADMIN,
    BILLING,
    CLINICIAN,
    COORDINATOR,
    INTEGRATION,
    Principal,
)


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    scopes: frozenset[str] = frozenset()


def allow(*roles: str, scopes: tuple[str, ...] = ()) -> Access:
    return Access(frozenset(roles), frozenset(scopes))


STAFF = (ADMIN, COORDINATOR, BILLING)  # read everything in the organization
EVERYONE = (*STAFF, CLINICIAN)
WRITERS = (ADMIN, COORDINATOR)

# What node(id) may return, per type: the same roles and scopes as reading that kind.
NODE_ACCESS: dict[str, Access] = {
    "Client": allow(*EVERYONE, scopes=("clients:read",)),
    "Appointment": allow(*EVERYONE, scopes=("appointments:read",)),
    "CaseManagerAssignment": allow(*EVERYONE, scopes=("case_managers:read",)),
    "Provider": allow(*EVERYONE, scopes=("providers:read",)),
    "Payor": allow(*STAFF, scopes=("payors:read",)),
    "Coverage": allow(*STAFF, scopes=("coverages:read",)),
    "Enrollment": allow(*STAFF, scopes=("enrollments:read",)),
}

ACCESS: dict[str, Access] = {
    # --- queries
    "Query.node": allow(*EVERYONE, scopes=tuple(s for a in NODE_ACCESS.values() for s in a.scopes)),
    "Query.client": allow(*EVERYONE, scopes=("clients:read",)),
    "Query.clients": allow(*EVERYONE, scopes=("clients:read",)),
    "Query.provider": allow(*STAFF, scopes=("providers:read",)),
    "Query.providers": allow(*STAFF, scopes=("providers:read",)),
    "Query.payors": allow(*STAFF, scopes=("payors:read",)),
    "Query.serviceLines": allow(*EVERYONE, scopes=("clients:read", "case_managers:read")),
    "Query.renderingProvider": allow(*STAFF, scopes=("findings:read",)),
    "Query.renderingProviders": allow(*STAFF, scopes=("findings:read",)),
    "Query.checkCaseManager": allow(*STAFF, scopes=("case_managers:read",)),
    "Query.checkChangeCaseManager": allow(*STAFF, scopes=("case_managers:read",)),
    "Query.suggestCaseManagers": allow(*STAFF, scopes=("case_managers:read",)),
    "Query.complianceFindings": allow(*STAFF, scopes=("findings:read",)),
    "Query.rules": allow(*STAFF, scopes=("findings:read",)),
    "Query.claimLines": allow(*STAFF, scopes=("claims:read",)),
    "Query.enrollmentImpact": allow(*STAFF, scopes=("enrollments:read",)),
    "Query.auditEvents": allow(ADMIN, BILLING, scopes=("audit:read",)),
    "Query.apiTokens": allow(ADMIN),
    "Query.events": allow(ADMIN, scopes=("events:read",)),
    "Query.webhookEndpoints": allow(ADMIN, scopes=("webhooks:read", "webhooks:write")),
    "Query.webhookDeliveries": allow(ADMIN, scopes=("webhooks:read", "webhooks:write")),
    # --- mutations
    "Mutation.createClient": allow(*WRITERS, scopes=("clients:write",)),
    "Mutation.updateClient": allow(*WRITERS, scopes=("clients:write",)),
    "Mutation.createProvider": allow(ADMIN, scopes=("providers:write",)),
    "Mutation.updateProvider": allow(ADMIN, scopes=("providers:write",)),
    "Mutation.createPayor": allow(ADMIN, scopes=("payors:write",)),
    "Mutation.updatePayor": allow(ADMIN, scopes=("payors:write",)),
    "Mutation.addCoverage": allow(*WRITERS, scopes=("coverages:write",)),
    "Mutation.updateCoverage": allow(*WRITERS, scopes=("coverages:write",)),
    "Mutation.recordEnrollment": allow(*WRITERS, scopes=("enrollments:write",)),
    "Mutation.updateEnrollment": allow(*WRITERS, scopes=("enrollments:write",)),
    "Mutation.scheduleAppointment": allow(*WRITERS, scopes=("appointments:write",)),
    "Mutation.updateAppointment": allow(*WRITERS, scopes=("appointments:write",)),
    "Mutation.addCaseManager": allow(*WRITERS, scopes=("case_managers:write",)),
    "Mutation.updateCaseManager": allow(*WRITERS, scopes=("case_managers:write",)),
    "Mutation.changeCaseManager": allow(*WRITERS, scopes=("case_managers:write",)),
    "Mutation.removeCaseManager": allow(*WRITERS, scopes=("case_managers:write",)),
    "Mutation.createApiToken": allow(ADMIN),
    "Mutation.revokeApiToken": allow(ADMIN),
    "Mutation.importRecords": allow(ADMIN, scopes=("imports:write",)),
    "Mutation.createWebhookEndpoint": allow(ADMIN, scopes=("webhooks:write",)),
    "Mutation.updateWebhookEndpoint": allow(ADMIN, scopes=("webhooks:write",)),
    "Mutation.deleteWebhookEndpoint": allow(ADMIN, scopes=("webhooks:write",)),
    "Mutation.rotateWebhookSecret": allow(ADMIN, scopes=("webhooks:write",)),
    "Mutation.sendTestWebhook": allow(ADMIN, scopes=("webhooks:write",)),
    "Mutation.redeliverWebhook": allow(ADMIN, scopes=("webhooks:write",)),
}

# The resource an event type is about (its prefix), for may_subscribe.
EVENT_RESOURCES = {
    "client": "clients",
    "provider": "providers",
    "payor": "payors",
    "coverage": "coverages",
    "enrollment": "enrollments",
    "appointment": "appointments",
    "case_manager": "case_managers",
    "webhook": "webhooks",
}


def may_subscribe(principal: Principal, event_type: str) -> bool:
    """Whether a caller may have events of this type delivered: an integration token only
    of what it may read (a read or write scope of the resource, or the whole feed)."""
    if principal.role != INTEGRATION:
        return True
    resource = EVENT_RESOURCES.get(event_type.split(".")[0])
    wanted = {"events:read"}
    if resource is not None:
        wanted |= {f"{resource}:read", f"{resource}:write"}
    return bool(principal.scopes & wanted)


def allowed(principal: Principal, access: Access | None) -> bool:
    if access is None:
        return False
    if principal.role == INTEGRATION:
        return bool(principal.scopes & access.scopes)
    return principal.role in access.roles


def may_call(principal: Principal, root: str, field: str) -> bool:
    """`root` is "Query" or "Mutation"; introspection is open to every authenticated caller."""
    if field.startswith("__"):
        return True
    return allowed(principal, ACCESS.get(f"{root}.{field}"))


# What an integration token needs to read these types anywhere in a selection, not only at
# the root: who a client is (health data) and the audit trail.
NESTED_SCOPES: dict[str, tuple[str, ...]] = {
    "Client": ("clients:read",),
    "AuditEvent": ("audit:read",),
}


def read_scopes(type_name: str, in_mutation: bool) -> tuple[str, ...] | None:
    """The scopes of which an integration token must hold one to read `type_name` here, or
    None when the root field's scope is enough. A write scope lets a token write, not read:
    what a mutation's payload selects needs the read scope of each entity type in it (else
    `update(input: {id})` would read any record by id)."""
    if in_mutation and type_name in NODE_ACCESS:
        return tuple(sorted(NODE_ACCESS[type_name].scopes))
    return NESTED_SCOPES.get(type_name)


def may_read_nested(principal: Principal, type_name: str, in_mutation: bool = False) -> bool:
    scopes = read_scopes(type_name, in_mutation)
    if scopes is None or principal.role != INTEGRATION:
        return True
    return bool(principal.scopes & set(scopes))


# Whose contents (before, after) an audit event shows: the callers who may read the entity's
# type (NODE_ACCESS), API tokens to admins only, the organization to staff. Everyone else
# who may read the event sees its ids and the names of the fields that changed.
ENTITY_ACCESS: dict[str, Access] = {
    **NODE_ACCESS,
    "ApiToken": allow(ADMIN),
    "Organization": allow(*STAFF),
}


def may_read_entity(principal: Principal, type_name: str) -> bool:
    return allowed(principal, ENTITY_ACCESS.get(type_name))
