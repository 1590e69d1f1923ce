"""Input types of the appointment mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET

from cmgraph.api.enums import AppointmentStatus


@strawberry.input(name="ScheduleAppointmentInput")
class ScheduleAppointmentInput:
    client_id: strawberry.ID
    service_line: str
    provider_id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    service_code: str | None = strawberry.field(
        default=None, description="CPT or HCPCS code of the claim line, e.g. 97153."
    )
    telehealth: bool | None = False


@strawberry.input(name="UpdateAppointmentInput")
class UpdateAppointmentInput:
    id: strawberry.ID
    status: AppointmentStatus | None = UNSET
    provider_id: strawberry.ID | None = UNSET
    starts_at: datetime | None = UNSET
    ends_at: datetime | None = UNSET
    service_code: str | None = UNSET
    telehealth: bool | None = UNSET
