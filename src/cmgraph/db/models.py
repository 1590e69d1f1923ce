"""The tables. Every table is keyed by (organization_id, id) and references others within the
same organization, so a row can never point across tenants and a tenant-sharded PostgreSQL
can hold it. Alembic migrations create them; these classes only describe them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


# SQLite's DATETIME text: what UTCDateTime's fast binding writes too.
_SQLITE_DATETIME = sqlite.DATETIME._storage_format


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: an offset is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the text SQLite's DATETIME stores, made in one call: its own processor
        formats each field through a dict, a third of a bulk import's binding (five
        datetimes per appointment with its change record and event). The same text
        (tests/db/test_datetime_type.py holds them equal)."""
        stored = self.impl_instance.dialect_impl(dialect)
        if dialect.name != "sqlite" or stored._storage_format != _SQLITE_DATETIME:  # type: ignore[attr-defined]
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime: an offset is required")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """On SQLite, the stored text read and marked UTC in one call: the TypeDecorator's
        own calls its processor, then process_result_value, two Python calls per value (a
        batch of 500 rendering answers reads two thousand). The same datetimes
        (tests/db/test_datetime_type.py holds them equal)."""
        stored = self.impl_instance.dialect_impl(dialect)
        read = stored.result_processor(dialect, coltype)
        if dialect.name != "sqlite" or read is None:
            return super().result_processor(dialect, coltype)
        parse = cast("Callable[[str], datetime]", read)

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            found = parse(value)
            return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)

        return process


UUIDS_KEPT = 2**15  # a few megabytes


class _Uuids(dict[str | None, uuid.UUID | None]):
    """Ids by their text, each parsed once: the ids read most (an organization's, its
    payors', providers' and clients') are read again and again. Read through the dict's own
    lookup, with None already in it: a Python function per id (the None check, then an LRU
    cache) was a thirtieth of a batch of 500 rendering answers. Past UUIDS_KEPT ids, it
    starts again."""

    def __missing__(self, text: str) -> uuid.UUID:
        if len(self) > UUIDS_KEPT:
            self.clear()
            self[None] = None
        found = self[text] = uuid.UUID(text)
        return found


_UUIDS = _Uuids({None: None})


class Uuid(SqlUuid[uuid.UUID]):
    """SQLAlchemy's Uuid, read faster where the database stores ids as text (SQLite): there
    uuid.UUID() parses each one again (its checks and normalising), a fifth of a caseload
    page's CPU; the same text gives an equal UUID, and a UUID cannot change, so each is kept
    and shared. PostgreSQL's driver reads its native uuids itself."""

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if (dialect.supports_native_uuid and self.native_uuid) or not self.as_uuid:
            return super().result_processor(dialect, coltype)  # type: ignore[no-untyped-call]
        return _UUIDS.__getitem__


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
        uuid.UUID: Uuid,
    }

    if TYPE_CHECKING:
        # declarative types it as any FromClause; every model here maps one Table
        __table__: ClassVar[Table]


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tenant(Base):
    """Columns every organization-owned table shares."""

    __abstract__ = True

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _owner() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["organization_id"], ["organizations.id"])


def _ref(column: str, table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["organization_id", column], [f"{table}.organization_id", f"{table}.id"]
    )


class ApiToken(Tenant):
    __tablename__ = "api_tokens"
    __table_args__ = (
        _owner(),
        _ref("provider_id", "providers"),
        # migration 0003: a token names its organization, so its lookup stays on one tenant
        Index("uq_api_tokens_token_hash", "organization_id", "token_hash", unique=True),
    )

    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # migration sec_0001: an integration's scopes, a clinician's provider, the last use
    scopes: Mapped[list[str]] = mapped_column(default=list)
    provider_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_used_at: Mapped[datetime | None]


class Client(Tenant):
    __tablename__ = "clients"
    __table_args__ = (
        _owner(),
        Index("ix_clients_name", "organization_id", "last_name", "first_name"),
        Index("uq_clients_external_id", "organization_id", "external_id", unique=True),
    )

    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    external_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Provider(Tenant):
    __tablename__ = "providers"
    __table_args__ = (
        _owner(),
        Index("ix_providers_name", "organization_id", "last_name", "first_name"),
        Index("uq_providers_npi", "organization_id", "npi", unique=True),
    )

    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    npi: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Credential(Tenant):
    __tablename__ = "credentials"
    __table_args__ = (
        _ref("provider_id", "providers"),
        Index("ix_credentials_provider", "organization_id", "provider_id"),
    )

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(32))
    number: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str | None] = mapped_column(String(2))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)


class Payor(Tenant):
    __tablename__ = "payors"
    __table_args__ = (_owner(),)

    name: Mapped[str] = mapped_column(String(200))
    payer_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    plugins: Mapped[list[str]] = mapped_column(default=list)
    # Values the payor's plugins read, checked against what each declares (plugin_settings).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Coverage(Tenant):
    __tablename__ = "coverages"
    __table_args__ = (
        _ref("client_id", "clients"),
        _ref("payor_id", "payors"),
        Index("ix_coverages_client", "organization_id", "client_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    payor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    member_id: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=1)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class Enrollment(Tenant):
    __tablename__ = "enrollments"
    __table_args__ = (
        _ref("provider_id", "providers"),
        _ref("payor_id", "payors"),
        Index("ix_enrollments_provider", "organization_id", "provider_id"),
    )

    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    payor_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    applied_on: Mapped[date | None] = mapped_column(Date)


class Appointment(Tenant):
    __tablename__ = "appointments"
    __table_args__ = (
        _ref("client_id", "clients"),
        _ref("provider_id", "providers"),
        Index(
            "ix_appointments_client", "organization_id", "client_id", "service_line", "starts_at"
        ),
        # Claim lines and the compliance report page in this order (a keyset read).
        Index(
            "ix_appointments_date_of_service",
            "organization_id",
            "date_of_service",
            "starts_at",
            "id",
        ),
        Index(
            "ix_appointments_client_day",
            "organization_id",
            "client_id",
            "service_line",
            "date_of_service",
            "starts_at",  # the first session an assignment covers, in order
        ),
        # The sessions of (client, date of service) pairs, in every line (services.sessions).
        Index("ix_appointments_client_date", "organization_id", "client_id", "date_of_service"),
        # Claim lines count a window's sessions of the statuses asked from this index alone.
        Index("ix_appointments_status_day", "organization_id", "status", "date_of_service"),
        CheckConstraint("ends_at > starts_at", name="period"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    service_line: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # starts_at's date in the organization's time zone, kept so that rules over dates of
    # service (windows, "the first appointment an assignment covers") are plain SQL.
    date_of_service: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    # The procedure code of the claim line (CPT or HCPCS, e.g. 97153), when known.
    service_code: Mapped[str | None] = mapped_column(String(5))
    telehealth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assignment(Tenant):
    """A case-manager assignment. On PostgreSQL an exclusion constraint (migration 0001)
    makes overlapping periods of one client and line impossible."""

    __tablename__ = "case_manager_assignments"
    __table_args__ = (
        _ref("client_id", "clients"),
        _ref("provider_id", "providers"),
        Index(
            "ix_assignments_client", "organization_id", "client_id", "service_line", "start_date"
        ),
        Index("ix_assignments_provider", "organization_id", "provider_id"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    service_line: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeRecord(Tenant):
    """Who changed what, when, with the row before and after: the audit trail. Only ever
    inserted; triggers (migrations sec_0001, sec_0002) refuse UPDATE and DELETE, and on SQLite
    an insert over an existing event (INSERT OR REPLACE)."""

    __tablename__ = "change_records"
    __table_args__ = (
        _owner(),
        Index("ix_change_records_entity", "organization_id", "entity_id", "occurred_at"),
        Index("ix_change_records_time", "organization_id", "occurred_at"),
        # migration evt_0001: the keyset of auditEvents, in commit order
        Index("uq_change_records_position", "organization_id", "position", unique=True),
    )

    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    # migration sec_0001
    role: Mapped[str | None] = mapped_column(String(32))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # migration sec_0003: the caller's X-Request-ID, sanitised; request_id is the server's
    caller_request_id: Mapped[str | None] = mapped_column(String(64))
    # migration evt_0001: the organization's feed position, handed out at commit
    # (services.positions), so that ordering by it is ordering by commit
    position: Mapped[int] = mapped_column(BigInteger)


class Event(Tenant):
    """A domain event (client.created, case_manager.assigned ...), appended in the transaction
    of the write it reports (the outbox, services.events): the feed `events` and webhooks
    read it. Its id is the event's stable id; `position` orders it by commit."""

    __tablename__ = "events"
    __table_args__ = (
        _owner(),
        Index("uq_events_position", "organization_id", "position", unique=True),
        Index("ix_events_type", "organization_id", "type", "position"),
    )

    position: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]]


class WebhookEndpoint(Tenant):
    """Where a partner wants events delivered (services.webhooks), and the dispatcher's state
    for it (services.dispatch): the last feed position enqueued, when its next delivery is
    due, and which process holds it (a lease, so one process delivers to it at a time)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        _owner(),
        Index("ix_webhook_endpoints_due", "organization_id", "enabled", "due_at"),
    )

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(default=list)
    owner: Mapped[str] = mapped_column(String(200))  # the actor who made it: "token:<id>" ...
    secret: Mapped[str] = mapped_column(Text)  # Fernet token of the signing secret
    previous_secret: Mapped[str | None] = mapped_column(Text)  # still signs until ...
    previous_secret_until: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the dispatcher's state
    position: Mapped[int] = mapped_column(BigInteger, default=0)  # last event enqueued
    next_sequence: Mapped[int] = mapped_column(BigInteger, default=0)  # deliveries' order
    due_at: Mapped[datetime | None]  # when its first pending delivery is due
    failing_since: Mapped[datetime | None]  # first failed attempt since the last success
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    leased_until: Mapped[datetime | None]


class WebhookDelivery(Tenant):
    """One message for one endpoint: an event (its webhook-id is the event's id), a
    redelivery of one, or a test. Delivered in `sequence` order, one at a time."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        _owner(),
        _ref("endpoint_id", "webhook_endpoints"),
        Index(
            "uq_webhook_deliveries_sequence",
            "organization_id",
            "endpoint_id",
            "sequence",
            unique=True,
        ),
        Index("ix_webhook_deliveries_status", "organization_id", "endpoint_id", "status"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sequence: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # webhook-id: stable across retries
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]  # the envelope (events.envelope), as delivered
    status: Mapped[str] = mapped_column(String(16))  # pending, succeeded, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class WebhookAttempt(Tenant):
    """One HTTP attempt of a delivery: when, how long, the status code or the error class.
    Never the receiver's body."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        _owner(),
        _ref("delivery_id", "webhook_deliveries"),
        Index("ix_webhook_attempts_delivery", "organization_id", "delivery_id", "attempted_at"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(64))


class FeedCounter(Base):
    """The last feed position handed out in an organization (change records and events
    share it). A write takes the next positions at commit, holding this row's lock until it
    commits, so positions follow commit order (services.positions)."""

    __tablename__ = "feed_counters"
    __table_args__ = (_owner(),)

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKey(Base):
    """A mutation request made under an Idempotency-Key header, and its answer once final
    (services.idempotency). Keyed by organization, then the caller, then the key: a key is
    the caller's own, so another token cannot replay its answers."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        _owner(),
        Index("ix_idempotency_keys_created_at", "created_at"),  # for purging expired keys
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # in_flight -> written (in the mutation's own transaction) -> done (answer stored), or
    # lost (written, but the answer was not final: services.idempotency)
    state: Mapped[str] = mapped_column(String(16))
    # Which execution holds the key: a write commits only while its attempt is the current one.
    attempt: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime]  # first use; the key expires 24 hours later
    reserved_at: Mapped[datetime]  # when the current attempt started
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    # The process of the current attempt (services.idempotency_holder), to tell a dead one.
    holder: Mapped[str | None] = mapped_column(String(200))
    # What the request's writes returned, as JSON, appended in each write's own transaction.
    outcomes: Mapped[str | None] = mapped_column(Text)


class StoredFinding(Base):
    """A session finding as the live judge made it (services.findings keeps these current):
    the compliance report and a client's findings read them instead of judging every
    session. `finding` is the whole finding; the other columns order and filter the report."""

    __tablename__ = "findings"
    __table_args__ = (
        _owner(),
        _ref("client_id", "clients"),
        # The report's order: date of service, start, session, then the judge's own order.
        Index(
            "ix_findings_report",
            "organization_id",
            "date_of_service",
            "starts_at",
            "appointment_id",
            "seq",
        ),
        Index("ix_findings_client", "organization_id", "client_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    appointment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # its place among the session's
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    date_of_service: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime]
    code: Mapped[str] = mapped_column(String(64))
    finding: Mapped[dict[str, Any]]


class StaleClient(Base):
    """A client whose stored findings may be out of date: a write reached more clients than
    one transaction re-judges, or the rules changed. Reads judge such a client live until
    the background job (services.findings.drain) re-judges it and removes this row."""

    __tablename__ = "findings_stale_clients"
    __table_args__ = (_owner(), _ref("client_id", "clients"))

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # renewed by every marking: a re-judge removes only the mark it saw before judging
    mark: Mapped[uuid.UUID] = mapped_column(Uuid)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class FindingsBuild(Base):
    """Which rules an organization's stored findings were judged by (RuleBook.fingerprint
    and the judge's own code): another fingerprint means every stored row is suspect."""

    __tablename__ = "findings_builds"
    __table_args__ = (_owner(),)

    organization_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
