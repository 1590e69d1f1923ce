"""The facts that rules see: frozen, plain, with no database or GraphQL behind them.

The services load these in a constant number of queries and hand them to the hooks, so a
rule (or a payor plugin) is a pure function that a test can call with literals.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import field as dataclass_field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo


class Severity(enum.Enum):
    ERROR = "ERROR"
    WARNING = "WARNING"


# "At least once a month" (rule 7): the days before an assignment's start in which a CM is
# expected to have cared for the client; the suggestions rank candidates over the same days.
FAMILIARITY_WINDOW = timedelta(days=30)


class Field(enum.StrEnum):
    """The part of the assignment being judged that a finding concerns, in the facts'
    terms; the API names the input it came from (providerId, startDate, ...)."""

    PROVIDER = "provider_id"
    START_DATE = "start_date"
    END_DATE = "end_date"
    ASSIGNMENT = "id"


class PayorKind(enum.Enum):
    COMMERCIAL = "COMMERCIAL"
    MEDICAID = "MEDICAID"
    MEDICARE = "MEDICARE"
    TRICARE = "TRICARE"
    OTHER = "OTHER"


class EnrollmentStatus(enum.Enum):
    PENDING = "PENDING"
    ENROLLED = "ENROLLED"
    DENIED = "DENIED"
    TERMINATED = "TERMINATED"


class PayorRole(enum.Enum):
    """How a payor stands for a client on a date: the primary decides, secondaries warn."""

    PRIMARY = "PRIMARY"
    SECONDARY = "SECONDARY"


class ExpiryKind(enum.StrEnum):
    """What a current case manager needs that may end (a str, so ``kind == "credential"``
    in older plugins keeps working)."""

    CREDENTIAL = "credential"
    ENROLLMENT = "enrollment"


class AppointmentStatus(enum.Enum):
    SCHEDULED = "SCHEDULED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"


def covers(start: date | None, end: date | None, day: date) -> bool:
    """Whether the inclusive period [start, end] (open where None) contains day."""
    return (start is None or start <= day) and (end is None or day <= end)


F = TypeVar("F")


def assembled(kind: type[F], /, **fields: Any) -> F:
    """The fact `kind(**fields)`, made without the frozen dataclass's __init__ (which sets
    each field through object.__setattr__: three times the cost): the services make
    thousands per request from rows. Give every field; defaults are not filled in."""
    fact = object.__new__(kind)
    fact.__dict__.update(fields)
    return fact


@dataclass(frozen=True)
class Clock:
    """The organization's time zone: how dates become instants and back."""

    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def start_of(self, day: date) -> datetime:
        """00:00 on day in the organization's zone (an aware instant)."""
        return datetime.combine(day, time.min, tzinfo=self.zone)

    def date_of(self, instant: datetime) -> date:
        """The date of service of an instant: its date in the organization's zone."""
        return instant.astimezone(self.zone).date()

    @staticmethod
    def elapsed(earlier: datetime, later: datetime) -> timedelta:
        """Real elapsed time; subtracting UTC instants makes a DST change count."""
        return later.astimezone(ZoneInfo("UTC")) - earlier.astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class ServiceLine:
    code: str
    name: str
    qualifying_credentials: frozenset[str]


@dataclass(frozen=True)
class Credential:
    type: str
    number: str | None = None
    state: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None

    def current_on(self, day: date) -> bool:
        return covers(self.issued_on, self.expires_on, day)


@dataclass(frozen=True)
class Provider:
    id: UUID
    display_name: str
    npi: str
    active: bool = True
    credentials: tuple[Credential, ...] = ()

    def current_credentials(self, day: date) -> frozenset[str]:
        # Asked by several rules of every session of a batch, on the few dates it spans: each
        # day's answer is kept on this provider (its credentials never change), which lives
        # as long as the facts of one request.
        held: dict[date, frozenset[str]] | None = self.__dict__.get("_held")
        if held is None:
            held = self.__dict__["_held"] = {}
        found = held.get(day)
        if found is None:
            found = held[day] = frozenset(
                c.type.upper() for c in self.credentials if c.current_on(day)
            )
        return found


class SettingKind(enum.Enum):
    """What a per-payor setting holds, as JSON on the payor and as the plugin reads it."""

    TEXT = "text"  # a JSON string
    INTEGER = "integer"  # a JSON integer
    NUMBER = "number"  # a JSON number
    BOOLEAN = "boolean"  # true or false
    DATE = "date"  # an ISO date string, read as a date
    DATE_PERIODS = "date periods"  # [{"from": ISO date, "to": ISO date}], both inclusive

    def parse(self, value: Any) -> Any:
        """The value as a plugin reads it; ValueError saying what was expected."""
        kinds: dict[SettingKind, Any] = {
            SettingKind.TEXT: lambda v: v if isinstance(v, str) else _bad("a string"),
            SettingKind.INTEGER: lambda v: (
                v if isinstance(v, int) and not isinstance(v, bool) else _bad("an integer")
            ),
            SettingKind.NUMBER: lambda v: (
                v if isinstance(v, (int, float)) and not isinstance(v, bool) else _bad("a number")
            ),
            SettingKind.BOOLEAN: lambda v: v if isinstance(v, bool) else _bad("true or false"),
            SettingKind.DATE: _iso_date,
            SettingKind.DATE_PERIODS: _periods,
        }
        return kinds[self](value)


def _bad(expected: str) -> NoReturn:
    raise ValueError(f"expected {expected}")


def _iso_date(value: Any) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else _bad("an ISO date")
    except ValueError:
        return _bad("an ISO date (2026-03-01)")


def _periods(value: Any) -> tuple[tuple[date, date], ...]:
    expected = 'a list of {"from": ISO date, "to": ISO date}'
    if not isinstance(value, list):
        return _bad(expected)
    periods = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"from", "to"}:
            return _bad(expected)
        start, end = _iso_date(item["from"]), _iso_date(item["to"])
        if start > end:
            return _bad(f"periods that end on or after they start ({start} > {end})")
        periods.append((start, end))
    return tuple(periods)


@dataclass(frozen=True)
class Setting:
    """A per-payor setting a plugin reads, declared by ``cmgraph_payor_settings``: its name
    (one namespace for all plugins: two declaring one name must agree on its kind), kind,
    the value it reads as when the payor leaves it unset, and a sentence for the admin.

    ``setting.of(payor)`` is the payor's value, parsed (dates as dates), or the default. The
    core refuses a payor's settings that its plugins do not declare or that do not parse."""

    name: str
    kind: SettingKind
    default: Any
    description: str = ""
    plugin: str = dataclass_field(default="", kw_only=True)

    def of(self, payor: Payor | None) -> Any:
        if payor is None or self.name not in payor.settings:
            return self.default
        return self.kind.parse(payor.settings[self.name])


@dataclass(frozen=True)
class Payor:
    id: UUID
    name: str
    kind: PayorKind
    plugins: tuple[str, ...] = ()
    # The payor's settings for its plugins, checked on write against what each plugin
    # declares (`cmgraph.facts.Setting`); a setting left unset reads as its default.
    settings: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, hash=False
    )

    def __hash__(self) -> int:
        # Equal payors have one id: hashing it alone agrees with ==, and a batch's decisions,
        # cached by payor, hash payors thousands of times (all four fields: four times it).
        return hash(self.id)


@dataclass(frozen=True)
class Coverage:
    payor: Payor
    priority: int
    effective_from: date
    effective_to: date | None = None

    def active_on(self, day: date) -> bool:
        return covers(self.effective_from, self.effective_to, day)


@dataclass(frozen=True)
class Enrollment:
    provider_id: UUID
    payor_id: UUID
    status: EnrollmentStatus
    effective_from: date | None = None
    effective_to: date | None = None
    applied_on: date | None = None  # when the provider applied (for pending enrollments)


@dataclass(frozen=True)
class Appointment:
    id: UUID
    client_id: UUID
    service_line: str
    provider_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    service_code: str | None = None
    telehealth: bool = False

    @property
    def cancelled(self) -> bool:
        return self.status is AppointmentStatus.CANCELLED

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at


@dataclass(frozen=True)
class Assignment:
    """A case-manager assignment; id is None for one that is only proposed."""

    id: UUID | None
    client_id: UUID
    service_line: str
    provider_id: UUID
    start_date: date
    end_date: date | None = None

    def covers(self, day: date) -> bool:
        return covers(self.start_date, self.end_date, day)

    def overlaps(self, other: Assignment) -> bool:
        return self.covers(other.start_date) or other.covers(self.start_date)


def _precedence(coverage: Coverage) -> tuple[int, str]:
    return coverage.priority, coverage.payor.name


@dataclass(frozen=True)
class Payors:
    """A client's coverages on one date: the primary decides, secondaries warn."""

    primary: Payor | None
    secondary: tuple[Payor, ...] = ()

    @classmethod
    def on(cls, coverages: Iterable[Coverage], day: date) -> Payors:
        # Asked for every client and date of a batch: most clients have one coverage on a
        # date, and the fact is assembled (see assembled), not set field by field.
        active = [c for c in coverages if c.active_on(day)]
        if len(active) > 1:
            active.sort(key=_precedence)
            # A payor listed twice counts once, at its highest priority.
            payors = list({c.payor.id: c.payor for c in active}.values())
        else:
            payors = [c.payor for c in active]
        if not payors:
            return assembled(cls, primary=None, secondary=())
        return assembled(cls, primary=payors[0], secondary=tuple(payors[1:]))

    @cached_property
    def all(self) -> tuple[Payor, ...]:
        return ((self.primary,) if self.primary else ()) + self.secondary

    def role_of(self, payor: Payor) -> PayorRole:
        primary = payor is self.primary or payor == self.primary
        return PayorRole.PRIMARY if primary else PayorRole.SECONDARY

    def with_roles(self) -> tuple[tuple[Payor, PayorRole], ...]:
        return self._roles

    @cached_property
    def _roles(self) -> tuple[tuple[Payor, PayorRole], ...]:
        # Asked by every hook call of a session's judgement; the payors never change.
        return tuple((p, self.role_of(p)) for p in self.all)

    def __hash__(self) -> int:
        return self._hash

    @cached_property
    def _hash(self) -> int:
        # The same as the dataclass's own; kept, because a batch's decisions are cached by
        # the payors of the day and each session asks several of them.
        return hash((self.primary, self.secondary))


@dataclass(frozen=True)
class Finding:
    """A rule's verdict: `rule` names the rule; `plugin` is stamped by the core with the
    name the plugin is registered under (whatever the plugin wrote), and `payor_id` with the
    payor a payor plugin was reached for, when the plugin left it unset."""

    code: str
    severity: Severity
    message: str
    rule: str
    # A Field; a tuple is passed on as an input path as it is (how plugins said it before).
    field: Field | tuple[str, ...] | None = None
    client_id: UUID | None = None
    service_line: str | None = None
    appointment_id: UUID | None = None
    date: date | None = None
    payor_id: UUID | None = None
    plugin: str = dataclass_field(default="", kw_only=True)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(frozen=True)
class DecidedBy:
    """Whose answer decided a value a built-in rule enforces (the lead time): the built-in
    rule's findings are attributed to that plugin and payor, so a refusal caused by a payor's
    72-hour notice names that payor's plugin. `plugin` is "cmgraph" for the default."""

    plugin: str
    payor_id: UUID | None = None


@dataclass(frozen=True)
class Narrowing:
    """A payor plugin's answer to cmgraph_qualifying_credentials that leaves out credentials
    the line's default accepts: which ones, and whose answer it is. The built-in rule 3
    attributes a DISCIPLINE_MISMATCH of a provider holding one of them to that plugin and
    payor (their answer is what refuses the provider), keeping its stable code."""

    left_out: frozenset[str]
    by: DecidedBy


@dataclass(frozen=True)
class AssignmentCheck:
    """Everything the rules need to judge one proposed (or edited) assignment.

    `appointments` are the client's appointments in the line (any status); `assignments`
    are the client's other assignments in the line (the one being edited left out);
    `enrollments` are the proposed provider's. `lead_time` and `qualifying_credentials`
    were already decided by their hooks, strictest across the client's payors;
    `lead_time_by` and `qualifying_narrowed_by` say whose answers those are.
    """

    assignment: Assignment
    clock: Clock
    provider: Provider
    payors: Payors
    enrollments: tuple[Enrollment, ...]
    appointments: tuple[Appointment, ...]
    assignments: tuple[Assignment, ...]
    lead_time: timedelta
    qualifying_credentials: frozenset[str]
    credentialed: dict[UUID, bool] = field(default_factory=dict)
    lead_time_by: DecidedBy | None = None
    qualifying_narrowed_by: tuple[Narrowing, ...] = ()

    def is_credentialed(self, payor: Payor) -> bool:
        """Decided by the core through cmgraph_enrollment_qualifies for the start date."""
        return self.credentialed.get(payor.id, False)


@dataclass(frozen=True)
class RemovalCheck:
    """An assignment being deleted (`replacement` None) or having its dates edited.

    `appointments` are the sessions of its client and line. Sessions that the assignment
    covers and the replacement would not are the ones whose claims would lose their CM.
    """

    assignment: Assignment
    replacement: Assignment | None
    clock: Clock
    appointments: tuple[Appointment, ...]


@dataclass(frozen=True)
class SessionCheck:
    """A client's line on one date of service, as the compliance report and billing see it.

    `appointment` is the session in question; it is None when billing asks about a date
    without naming a session (then `deliverer` is None too). `case_manager` is the
    assignment covering the date of service (None: no CM) and `case_manager_provider` its
    provider; `first_covered` says whether the appointment is the first non-cancelled one
    that assignment covers (only then does lead time apply). `credentialed` tells, per payor
    id, whether the CM counts as enrolled on the date of service; `deliverer_credentialed`
    whether the provider who delivered the session counts as enrolled with the primary payor.
    `qualifying_credentials` are the credential types that qualify a CM for the line on the
    date of service, decided by cmgraph_qualifying_credentials for the payors active that day
    (strictest across them, as on a write; empty: none qualifies), and
    `qualifying_narrowed_by` the payor plugins' answers that left credentials out of it.
    `day_sessions` are the client's non-cancelled sessions of that date, in every line.
    """

    client_id: UUID
    service_line: str
    date_of_service: date
    clock: Clock
    payors: Payors
    case_manager: Assignment | None
    appointment: Appointment | None = None
    first_covered: bool = False
    lead_time: timedelta = timedelta(hours=24)
    credentialed: dict[UUID, bool] = field(default_factory=dict)
    case_manager_provider: Provider | None = None
    qualifying_credentials: frozenset[str] = frozenset()
    deliverer: Provider | None = None
    deliverer_credentialed: bool = False
    day_sessions: tuple[Appointment, ...] = ()
    lead_time_by: DecidedBy | None = None
    qualifying_narrowed_by: tuple[Narrowing, ...] = ()

    def cm_credentialed_with(self, payor: Payor) -> bool:
        """Whether the CM counts as enrolled with payor on the date of service."""
        return self.credentialed.get(payor.id, False)

    @property
    def payor(self) -> Payor | None:
        """The payor the claim goes to: the primary coverage on the date of service."""
        return self.payors.primary

    @property
    def service_code(self) -> str | None:
        return self.appointment.service_code if self.appointment else None

    def finding(
        self,
        code: str,
        severity: Severity,
        message: str,
        *,
        rule: str,
        payor: Payor | None = None,
        plugin: str = "",
    ) -> Finding:
        """A finding about this session: its client, line, appointment and date filled in.

        `plugin` is accepted for older plugins and ignored: the core stamps the registered
        name."""
        return Finding(
            code=code,
            severity=severity,
            message=message,
            rule=rule,
            plugin=plugin,
            payor_id=payor.id if payor else None,
            client_id=self.client_id,
            service_line=self.service_line,
            appointment_id=self.appointment.id if self.appointment else None,
            date=self.date_of_service,
        )


@dataclass(frozen=True)
class Choice:
    """A one-answer hook's decision about a provider on a claim line.

    `provider_id` None means: leave that provider off the claim (some payors enroll only
    the group). A hook returns None, not Choice(None), to leave the decision to others.
    `plugin` is stamped by the core with the name of the plugin that decided.
    """

    provider_id: UUID | None
    plugin: str = dataclass_field(default="", kw_only=True)


@dataclass(frozen=True)
class CurrentAssignmentCheck:
    """An assignment that covers today, with what may soon stop it from billing.

    `qualifying` are the CM's credentials of a type that qualifies for the line (strictest
    across the client's payors), renewals included; `enrollments` are the CM's enrollments
    with the client's payors active today. `windows` are how far ahead to warn, by kind.
    """

    assignment: Assignment
    today: date
    provider: Provider
    payors: Payors
    qualifying: tuple[Credential, ...]
    enrollments: tuple[Enrollment, ...]
    windows: dict[ExpiryKind, timedelta] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleInfo:
    """What the `rules` query lists about a rule; the core stamps `plugin` with the name
    the plugin is registered under. A payor rule that loosens or reshapes a built-in rule
    names it in `replaces`."""

    name: str
    codes: tuple[str, ...]
    description: str
    applies_to_all_payors: bool = True
    # Built-in rules (by name: "lead_time", "credentialing", ...) this rule stands in for,
    # for the payors naming its plugin: their findings concerning such a payor are dropped.
    replaces: tuple[str, ...] = ()
    plugin: str = dataclass_field(default="", kw_only=True)
