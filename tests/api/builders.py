"""Small builders for the API tests: each posts one mutation and returns the created object.

They assert that the write succeeded, so a test reads as the story it tells.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import func, select
from stdnum import luhn

from cmgraph.db import models
from cmgraph.db.engine import Database

_npis = itertools.count(100_000_001)


def next_npi() -> str:
    """A fresh valid NPI (Luhn check digit over 80840 + the first nine digits)."""
    body = str(next(_npis))[:9]
    return body + luhn.calc_check_digit("80840" + body)


def invalid_npi() -> str:
    npi = next_npi()
    return npi[:-1] + str((int(npi[-1]) + 1) % 10)


async def ok(api: Any, query: str, variables: dict[str, Any], payload: str) -> dict[str, Any]:
    """Run a mutation whose payload must have no userErrors; return the payload."""
    data = (await api(query, variables))[payload]
    assert data["userErrors"] == [], data["userErrors"]
    return cast("dict[str, Any]", data)


CREATE_CLIENT = """
mutation($input: CreateClientInput!) {
  createClient(input: $input) {
    client { id firstName lastName displayName dateOfBirth externalId }
    userErrors { field code message }
  }
}"""

UPDATE_CLIENT = """
mutation($input: UpdateClientInput!) {
  updateClient(input: $input) {
    client { id firstName lastName dateOfBirth externalId }
    userErrors { field code message }
  }
}"""

CREATE_PROVIDER = """
mutation($input: CreateProviderInput!) {
  createProvider(input: $input) {
    provider { id firstName lastName npi active credentials { type number state expiresOn } }
    userErrors { field code message }
  }
}"""

UPDATE_PROVIDER = """
mutation($input: UpdateProviderInput!) {
  updateProvider(input: $input) {
    provider { id firstName lastName npi active credentials { type number state expiresOn } }
    userErrors { field code message }
  }
}"""

CREATE_PAYOR = """
mutation($input: CreatePayorInput!) {
  createPayor(input: $input) {
    payor { id name payerId kind plugins }
    userErrors { field code message }
  }
}"""

ADD_COVERAGE = """
mutation($input: AddCoverageInput!) {
  addCoverage(input: $input) {
    coverage { id memberId priority effectiveFrom effectiveTo payor { id } client { id } }
    userErrors { field code message }
  }
}"""

UPDATE_COVERAGE = """
mutation($input: UpdateCoverageInput!) {
  updateCoverage(input: $input) {
    coverage { id memberId priority effectiveFrom effectiveTo }
    userErrors { field code message }
  }
}"""

RECORD_ENROLLMENT = """
mutation($input: RecordEnrollmentInput!) {
  recordEnrollment(input: $input) {
    enrollment { id status effectiveFrom effectiveTo provider { id } payor { id } }
    userErrors { field code message }
  }
}"""

UPDATE_ENROLLMENT = """
mutation($input: UpdateEnrollmentInput!) {
  updateEnrollment(input: $input) {
    enrollment { id status effectiveFrom effectiveTo }
    userErrors { field code message }
  }
}"""

SCHEDULE = """
mutation($input: ScheduleAppointmentInput!) {
  scheduleAppointment(input: $input) {
    appointment { id status startsAt endsAt provider { id } renderingProvider { id } }
    userErrors { field code message }
    warnings { code severity date }
  }
}"""

UPDATE_APPOINTMENT = """
mutation($input: UpdateAppointmentInput!) {
  updateAppointment(input: $input) {
    appointment { id status startsAt endsAt provider { id } }
    userErrors { field code message }
    warnings { code severity date }
  }
}"""

ADD_CASE_MANAGER = """
mutation($input: AddCaseManagerInput!) {
  addCaseManager(input: $input) {
    caseManager { id version startDate endDate }
    userErrors { field code message }
    warnings { code }
  }
}"""

CHANGE_CASE_MANAGER = """
mutation($input: ChangeCaseManagerInput!) {
  changeCaseManager(input: $input) {
    ended { id endDate }
    caseManager { id startDate }
    userErrors { field code message }
  }
}"""


async def client(api: Any, first: str = "Ada", last: str = "Lovelace", **extra: Any) -> str:
    data = await ok(
        api,
        CREATE_CLIENT,
        {"input": {"firstName": first, "lastName": last, **extra}},
        "createClient",
    )
    return cast("str", data["client"]["id"])


async def provider(
    api: Any, first: str = "Bea", last: str = "Baker", credentials: list[str] | None = None
) -> str:
    """A provider holding the given credential types (default: a BCBA, qualified for ABA)."""
    given = [{"type": t} for t in (["BCBA"] if credentials is None else credentials)]
    variables = {
        "input": {"firstName": first, "lastName": last, "npi": next_npi(), "credentials": given}
    }
    data = await ok(api, CREATE_PROVIDER, variables, "createProvider")
    return cast("str", data["provider"]["id"])


async def payor(api: Any, name: str = "Acme Health", kind: str = "COMMERCIAL") -> str:
    data = await ok(api, CREATE_PAYOR, {"input": {"name": name, "kind": kind}}, "createPayor")
    return cast("str", data["payor"]["id"])


async def coverage(
    api: Any,
    client_id: str,
    payor_id: str,
    effective_from: str = "2025-01-01",
    effective_to: str | None = None,
    priority: int = 1,
) -> str:
    variables = {
        "input": {
            "clientId": client_id,
            "payorId": payor_id,
            "effectiveFrom": effective_from,
            "effectiveTo": effective_to,
            "priority": priority,
        }
    }
    data = await ok(api, ADD_COVERAGE, variables, "addCoverage")
    return cast("str", data["coverage"]["id"])


async def enrollment(
    api: Any,
    provider_id: str,
    payor_id: str,
    status: str = "ENROLLED",
    effective_from: str | None = "2025-01-01",
    effective_to: str | None = None,
) -> str:
    variables = {
        "input": {
            "providerId": provider_id,
            "payorId": payor_id,
            "status": status,
            "effectiveFrom": effective_from,
            "effectiveTo": effective_to,
        }
    }
    data = await ok(api, RECORD_ENROLLMENT, variables, "recordEnrollment")
    return cast("str", data["enrollment"]["id"])


async def appointment(
    api: Any,
    client_id: str,
    provider_id: str,
    starts_at: str,
    ends_at: str,
    service_line: str = "ABA",
) -> dict[str, Any]:
    """Schedule a session; returns the whole payload (appointment and warnings)."""
    variables = {
        "input": {
            "clientId": client_id,
            "serviceLine": service_line,
            "providerId": provider_id,
            "startsAt": starts_at,
            "endsAt": ends_at,
        }
    }
    return await ok(api, SCHEDULE, variables, "scheduleAppointment")


async def set_status(api: Any, appointment_id: str, status: str) -> dict[str, Any]:
    variables = {"input": {"id": appointment_id, "status": status}}
    return await ok(api, UPDATE_APPOINTMENT, variables, "updateAppointment")


async def case_manager(
    api: Any,
    client_id: str,
    provider_id: str,
    start_date: str,
    service_line: str = "ABA",
    end_date: str | None = None,
) -> str:
    variables = {
        "input": {
            "clientId": client_id,
            "serviceLine": service_line,
            "providerId": provider_id,
            "startDate": start_date,
            "endDate": end_date,
        }
    }
    data = await ok(api, ADD_CASE_MANAGER, variables, "addCaseManager")
    return cast("str", data["caseManager"]["id"])


async def change_case_manager(
    api: Any, client_id: str, provider_id: str, start_date: str, service_line: str = "ABA"
) -> dict[str, Any]:
    variables = {
        "input": {
            "clientId": client_id,
            "serviceLine": service_line,
            "providerId": provider_id,
            "startDate": start_date,
        }
    }
    return await ok(api, CHANGE_CASE_MANAGER, variables, "changeCaseManager")


# --- the database behind the API ---------------------------------------------------------


async def org_id(db: Database, slug: str) -> UUID:
    async with db.read() as session:
        found = await session.scalar(
            select(models.Organization.id).where(models.Organization.slug == slug)
        )
    assert found is not None
    return found


def session_row(
    org: UUID, client: UUID, provider: UUID, day: date, hour: int = 15, minute: int = 0
) -> models.Appointment:
    """A scheduled ABA session as the API would store it (its date of service given), for
    tests that insert many at once."""
    starts = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    return models.Appointment(
        organization_id=org,
        client_id=client,
        service_line="ABA",
        provider_id=provider,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=50),
        date_of_service=day,
        status="SCHEDULED",
    )


async def count(db: Database, model: type[models.Tenant], slug: str) -> int:
    """How many rows of model the organization has."""
    org = await org_id(db, slug)
    async with db.read() as session:
        total = await session.scalar(
            select(func.count()).select_from(model).where(model.organization_id == org)
        )
    return int(total or 0)


async def changes(db: Database, slug: str) -> list[models.ChangeRecord]:
    """The organization's change records made through the API (not the CLI's), oldest first."""
    org = await org_id(db, slug)
    async with db.read() as session:
        rows = await session.scalars(
            select(models.ChangeRecord)
            .where(models.ChangeRecord.organization_id == org, models.ChangeRecord.actor != "cli")
            .order_by(models.ChangeRecord.occurred_at, models.ChangeRecord.id)
        )
        return list(rows)
