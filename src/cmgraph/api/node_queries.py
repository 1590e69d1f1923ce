"""The root field `node`: any object by its global id, of the kinds the caller may read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from cmgraph.api import ids
from cmgraph.api.appointments.types import Appointment
from cmgraph.api.case_managers.types import CaseManagerAssignment
from cmgraph.api.clients.types import Client, Coverage
from cmgraph.api.context import Info
from cmgraph.api.errors import InputError
from cmgraph.api.node import Node
from cmgraph.api.payors.types import Payor
from cmgraph.api.permissions import NODE_ACCESS, allowed
from cmgraph.api.providers.types import Enrollment, Provider

# The kinds a global id may name: the loader that reads one, and the type that shows it.
NODE_TYPES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "Client": ("client_by_id", Client.of),
    "Provider": ("provider_by_id", Provider.of),
    "Payor": ("payor_by_id", Payor.of),
    "Coverage": ("coverage_by_id", Coverage.of),
    "Enrollment": ("enrollment_by_id", Enrollment.of),
    "Appointment": ("appointment_by_id", Appointment.of),
    "CaseManagerAssignment": ("assignment_by_id", CaseManagerAssignment.of),
}


@strawberry.type
class NodeQueries:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = ids.decode(id)
        if decoded is None:
            raise InputError("Malformed id.", field=["id"])
        if decoded[0] not in NODE_TYPES:
            return None
        if not allowed(info.context.principal, NODE_ACCESS.get(decoded[0])):
            return None  # a kind the caller may not read is, to them, nothing
        loader_name, make = NODE_TYPES[decoded[0]]
        row = await getattr(info.context.loaders, loader_name).load(decoded[1])
        return make(row) if row else None
