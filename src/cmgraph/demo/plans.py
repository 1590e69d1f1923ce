"""Plans: what the demo will create, before it becomes rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from cmgraph.facts import AppointmentStatus


@dataclass
class Stint:
    """One case-manager assignment."""

    provider: str
    start: date
    end: date | None = None
    note: str | None = None


@dataclass
class Helper:
    """A provider who delivers a share of a line's sessions from a date (handover, cover).

    The helper stays first choice until one of its sessions is completed, so that the
    familiarity it stands for is always in the data.
    """

    provider: str
    since: date
    share: float
    completed: int = 0


@dataclass
class LinePlan:
    code: str
    stints: list[Stint]
    sessions_from: date
    therapist: str | None = None  # delivers the sessions of a line with no case manager
    technician: str | None = None  # the ABA client's usual RBT/BCaBA
    helper: Helper | None = None
    first_at: int | None = None  # minutes: a first session forced on sessions_from

    def case_manager(self, day: date) -> str | None:
        for stint in self.stints:
            if stint.start <= day and (stint.end is None or day <= stint.end):
                return stint.provider
        return None


@dataclass
class CoveragePlan:
    payor: str
    priority: int
    effective_from: date
    effective_to: date | None = None


@dataclass
class ClientPlan:
    first_name: str
    last_name: str
    external_id: str
    date_of_birth: date
    coverages: list[CoveragePlan]
    lines: list[LinePlan]
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class Booking:
    """One appointment to create."""

    client: ClientPlan
    line: str
    provider: str
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus


Scenario = Callable[[], tuple[list[CoveragePlan], list[LinePlan]]]
