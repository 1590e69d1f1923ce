"""An imported appointment leaves what the API's own mutation leaves: the same stored row, the
same change record and the same event, to the byte of their JSON as the database keeps it
(ids and clock times aside). One organization schedules through `scheduleAppointment`, the
other imports the same sessions; the clients and the provider come in by import in both."""

from __future__ import annotations

import re
from typing import Any

import builders as b
from helpers import new_npi
from sqlalchemy import Text, cast, select

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.services import events
from tests.support import Api

IMPORT = """mutation($input: ImportRecordsInput!) {
  importRecords(input: $input) { created refused rowErrors { row column code message } }
}"""

# (client, line, starts, ends, service code, telehealth): offsets on both sides of a
# daylight-saving change and off the organization's zone, codes in either case.
SESSIONS = [
    ("C1", "ABA", "2026-03-06T09:00:00-05:00", "2026-03-06T11:00:00-05:00", "97153", False),
    ("C1", "ABA", "2026-03-09T09:00:00-04:00", "2026-03-09T10:30:00-04:00", None, True),
    ("C1", "ST", "2026-03-09T23:30:00-04:00", "2026-03-10T00:15:00-04:00", "g0515", False),
    ("C2", "ABA", "2026-03-10T08:00:00+01:00", "2026-03-10T09:00:00+01:00", "97155", True),
    ("C2", "ABA", "2026-11-01T01:30:00-05:00", "2026-11-01T01:45:00-06:00", None, False),
]

# Whatever differs between two organizations by nature: ids (plain and global) and the
# clock's instants.
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
_CLOCK = re.compile(r'"(created_at|occurred_at)": "[^"]*"')


def _masked(text: str | None, global_ids: dict[str, str]) -> str | None:
    if text is None:
        return None
    for global_id, kind in global_ids.items():
        text = text.replace(global_id, f"<{kind}>")
    return _CLOCK.sub(r'"\1": "<time>"', _UUID.sub("<id>", text))


async def _import(api: Api, kind: str, text: str) -> None:
    answer = (await api(IMPORT, {"input": {"kind": kind, "csv": text}}))["importRecords"]
    assert answer["refused"] == 0, answer["rowErrors"]


async def _people(api: Api, db: Database, npi: str) -> tuple[dict[str, str], str]:
    """The two clients and the provider, imported; their global ids."""
    await _import(api, "PROVIDERS", f"npi,first_name,last_name,credentials\n{npi},Grace,H,BCBA\n")
    await _import(api, "CLIENTS", "external_id,first_name,last_name\nC1,Ada,L\nC2,Alan,T\n")
    org = await b.org_id(db, api.slug)
    async with db.read() as session:
        c, p = models.Client, models.Provider
        found = await session.execute(select(c.external_id, c.id).where(c.organization_id == org))
        clients = {external: id for external, id in found}
        provider = await session.scalar(select(p.id).where(p.organization_id == org))
    assert provider is not None
    ids = {external: events.global_id("Client", id) for external, id in clients.items() if external}
    return ids, events.global_id("Provider", provider)


async def _stored(db: Database, slug: str) -> dict[str, list[Any]]:
    """The organization's appointments, their change records and events, as stored: the JSON
    columns as the database's text. (The actor is each organization's own token.)"""
    org = await b.org_id(db, slug)
    a, c, e = models.Appointment, models.ChangeRecord, models.Event
    async with db.read() as session:
        global_ids = {
            events.global_id(kind.__name__, id): kind.__name__
            for kind in (models.Client, models.Provider, models.Appointment)
            for id in await session.scalars(select(kind.id).where(kind.organization_id == org))
        }
        rows = [
            tuple(r)
            for r in await session.execute(
                select(
                    a.service_line,
                    a.starts_at,
                    a.ends_at,
                    a.date_of_service,
                    a.status,
                    a.service_code,
                    a.telehealth,
                ).where(a.organization_id == org)
            )
        ]
        records = [
            (r.operation, r.role, _masked(r.before, global_ids), _masked(r.after, global_ids))
            for r in await session.execute(
                select(
                    c.operation,
                    c.role,
                    cast(c.before, Text).label("before"),
                    cast(c.after, Text).label("after"),
                ).where(c.organization_id == org, c.entity_type == "Appointment")
            )
        ]
        feed = [
            (r.type, _masked(r.data, global_ids))
            for r in await session.execute(
                select(e.type, cast(e.data, Text).label("data")).where(
                    e.organization_id == org, e.type.like("appointment.%")
                )
            )
        ]
    return {"rows": sorted(rows), "records": sorted(records), "events": sorted(feed)}


async def test_an_imported_appointment_is_stored_recorded_and_announced_as_the_api_does(
    api: Api, other_api: Api, db: Database
) -> None:
    npi = new_npi()
    clients, provider = await _people(api, db, npi)
    for client, line, starts, ends, code, telehealth in SESSIONS:
        variables = {
            "input": {
                "clientId": clients[client],
                "serviceLine": line,
                "providerId": provider,
                "startsAt": starts,
                "endsAt": ends,
                "serviceCode": code,
                "telehealth": telehealth,
            }
        }
        await b.ok(api, b.SCHEDULE, variables, "scheduleAppointment")

    await _people(other_api, db, npi)
    header = (
        "client_external_id,service_line,starts_at,ends_at,provider_npi,service_code,telehealth"
    )
    lines = [
        f"{client},{line},{starts},{ends},{npi},{code or ''},{str(telehealth).lower()}"
        for client, line, starts, ends, code, telehealth in SESSIONS
    ]
    await _import(other_api, "APPOINTMENTS", "\n".join([header, *lines]) + "\n")

    scheduled, imported = await _stored(db, api.slug), await _stored(db, other_api.slug)
    assert len(scheduled["records"]) == len(scheduled["events"]) == len(SESSIONS)
    assert imported == scheduled
