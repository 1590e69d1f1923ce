"""How each kind's rows become the writes of the use cases the API calls too.

A handler first looks up, for a whole batch and in a constant number of queries, the
records its rows name by natural key (services.csv_columns.KEYS) and those they refer to;
then each row is created, updated (only the fields that differ) or left unchanged with the
checks of the service's own use case (the functions the use case calls: clients.new_row,
coverages.edit, case_managers.adding...), so every row passes the API's validation and
rules and records its change and events as the use case would. The batch's accepted rows
are written together (services.import_batch). The few rows that need several use cases in
one (a change of case manager that ends early), appointments' updates and payors still run
the use cases themselves, one row at a time.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar
from uuid import UUID, uuid4

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

from cmgraph import facts
from cmgraph.db import models
from cmgraph.facts import Field
from cmgraph.services import (
    appointments,
    case_managers,
    changes,
    clients,
    coverages,
    editing,
    enrollments,
    import_assignments,
    loading,
    payors,
    providers,
)
from cmgraph.services.csv_columns import Kind
from cmgraph.services.import_batch import BatchWriter, RowRefused, checked, checked_async
from cmgraph.services.import_cells import (
    CellError,
    Row,
    credentials_text,
    normalized_credentials,
)
from cmgraph.services.npi import checked_npi
from cmgraph.services.outcome import INVALID_INPUT, NOT_FOUND, Outcome, UserError, refuse
from cmgraph.services.scope import TenantScope

Status = Literal["created", "updated", "unchanged"]

UPDATE_NOT_SUPPORTED = "UPDATE_NOT_SUPPORTED"
PROVIDER_DIFFERS = "PROVIDER_DIFFERS"
DUPLICATE_ROW = "DUPLICATE_ROW"


def missing(column: str, what: str, value: str) -> RowRefused:
    return RowRefused(((column, NOT_FOUND, f"No {what} {value!r} (import it first)."),))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Handler:
    """The rows of one kind within one batch (a transaction); `renames` maps the services'
    input fields to this kind's columns."""

    kind: Kind
    renames: dict[str, str] = {}
    columns: Collection[str] = ()

    def __init__(self, scope: TenantScope) -> None:
        assert scope.batch is not None, "handlers run inside transaction.run_batch"
        self.scope = scope
        self.session: AsyncSession = scope.batch
        self.org = scope.organization_id

    @classmethod
    def order(cls, rows: list[Row]) -> list[Row]:
        return rows

    async def prepare(self, rows: Sequence[Row]) -> None:
        """Look up what the batch's rows name, set-based."""

    async def apply(self, row: Row) -> Status:
        raise NotImplementedError

    def forget(self, row: Row) -> None:
        """The row's writes were rolled back: drop what was learnt from them."""

    async def finish(self) -> list[tuple[Row, RowRefused]]:
        """Write what the batch's rows left for the end; the rows refused then."""
        return []

    def atomic(self) -> AsyncSessionTransaction:
        """A savepoint around a row's several use cases: all of them stand, or none. (Each
        use case has a savepoint of its own; a row of one needs nothing more.)"""
        return self.session.begin_nested()

    def in_use_case(self, check: Callable[[], T]) -> T:
        """What the service's use case checks in its transaction, refused as it would be."""
        return checked(self.on_column, check)

    async def in_use_case_async(self, check: Awaitable[T]) -> T:
        return await checked_async(self.on_column, check)

    def checked(self, outcome: Outcome[Any]) -> Any:
        """The outcome's value, or the row refused with the service's errors."""
        if outcome.errors:
            raise RowRefused(tuple(self.on_column(e) for e in outcome.errors))
        return outcome.value

    def on_column(self, error: UserError) -> tuple[str | None, str, str]:
        column, field = None, error.field
        if field:
            # A rule names the fact (facts.Field: provider_id, start_date...); a service the
            # input (["input", "providerId"]).
            names = (
                [field]
                if isinstance(field, Field)
                else [f for f in field if f != "input" and not f.isdigit()]
            )
            if names:
                guess = self.renames.get(names[0], _snake(names[0]))
                column = guess if guess in self.columns else None
        return column, error.code, error.message


M = TypeVar("M", bound=models.Base)
T = TypeVar("T")


async def _by(
    session: AsyncSession,
    model: type[M],
    org: UUID,
    column: str,
    values: Collection[str],
    *,
    lock: bool = False,
) -> dict[str, M]:
    """Rows of the organization whose `column` is one of `values`, by that value; `lock`
    takes their row locks (PostgreSQL), as the use cases that change them do."""
    if not values:
        return {}
    # Every tenant table has organization_id, but Base does not declare it.
    tenant = getattr(model, "organization_id")  # noqa: B009
    attribute = getattr(model, column)
    query = select(model).where(tenant == org, attribute.in_(sorted(values)))
    if lock:
        query = query.with_for_update()
    return {getattr(r, column): r for r in await session.scalars(query)}


def _texts(rows: Sequence[Row], column: str) -> set[str]:
    return {v for r in rows if (v := r.text(column)) is not None}


def _changed(row: Any, **wanted: Any) -> dict[str, Any]:
    """The fields whose wanted value differs from the row's."""
    return {k: v for k, v in wanted.items() if getattr(row, k) != v}


async def _finished(handler: Handler, writer: BatchWriter) -> list[tuple[Row, RowRefused]]:
    """Write the batch; should that fail, every row it accepted is refused with the error."""
    errors = await writer.finish()
    if not errors:
        return []
    refused = RowRefused(tuple(handler.on_column(e) for e in errors))
    return [(row, refused) for row in writer.accepted]


class Payors(Handler):
    kind = Kind.PAYORS
    renames = {"payerId": "payer_id"}
    columns = ("payer_id", "name", "kind", "plugins")

    async def prepare(self, rows: Sequence[Row]) -> None:
        self.payors = await _by(
            self.session, models.Payor, self.org, "payer_id", _texts(rows, "payer_id")
        )

    async def apply(self, row: Row) -> Status:
        payer_id, name = row.required("payer_id"), row.required("name")
        kind, plugins = row.choice("kind", facts.PayorKind), row.words("plugins")
        current = self.payors.get(payer_id)
        if current is None:
            created = self.checked(
                await payors.create_payor(self.scope, name, payer_id, kind, plugins)
            )
            self.payors[payer_id] = created
            return "created"
        if _changed(current, name=name, kind=kind.value, plugins=list(dict.fromkeys(plugins))):
            raise RowRefused(
                (
                    (
                        None,
                        UPDATE_NOT_SUPPORTED,
                        "This payor exists with other values, and payors cannot be changed "
                        "yet; change it by hand or leave the row as it is.",
                    ),
                )
            )
        return "unchanged"


class Providers(Handler):
    """createProvider and updateProvider (credentials replaced as a list), checked row by
    row, written together; a row naming a provider an earlier row of the batch wrote comes
    after that write."""

    kind = Kind.PROVIDERS
    columns = ("npi", "first_name", "last_name", "active", "credentials")

    async def prepare(self, rows: Sequence[Row]) -> None:
        self.providers = await _by(
            self.session, models.Provider, self.org, "npi", _texts(rows, "npi"), lock=True
        )
        self.held: dict[UUID, list[dict[str, Any]]] = defaultdict(list)  # snapshots
        ids = [p.id for p in self.providers.values()]
        if ids:
            for c in await self.session.scalars(
                select(models.Credential).where(
                    models.Credential.organization_id == self.org,
                    models.Credential.provider_id.in_(ids),
                )
            ):
                self.held[c.provider_id].append(changes.snapshot(c))
        self.late: list[tuple[Row, RowRefused]] = []
        await self._begin()

    async def _begin(self) -> None:
        self.touched: set[UUID] = set()
        self.replaced: list[UUID] = []  # providers whose credentials the batch replaces
        self.writer = BatchWriter(self.session, self.scope)
        await self.writer.open()

    def _credentials(self, provider_id: UUID, given: list[facts.Credential]) -> list[Any]:
        rows = providers.credential_rows(self.scope, provider_id, given)
        for c in rows:
            c.id = uuid4()  # now: the provider's change record lists them
        return rows

    async def apply(self, row: Row) -> Status:
        npi = row.required("npi")
        first, last = row.required("first_name"), row.required("last_name")
        active, credentials = row.flag("active", True), row.credentials("credentials")
        current = self.providers.get(npi)
        if current is None:
            # As create_provider checks, in its order.
            def new() -> tuple[models.Provider, list[models.Credential]]:
                number = checked_npi(npi)
                if number in self.providers:  # keyed by NPI, as this row's lookup
                    raise refuse(INVALID_INPUT, "Another record already has this npi.", "npi")
                made = models.Provider(
                    organization_id=self.org,
                    id=uuid4(),
                    first_name=editing.name(first, "firstName"),
                    last_name=editing.name(last, "lastName"),
                    npi=number,
                    active=True,
                    created_at=models.utcnow(),
                )
                return made, self._credentials(made.id, credentials)

            made, held = self.in_use_case(new)
            snapshots = [changes.snapshot(c) for c in held]
            self.writer.created(row, made, "createProvider", credentials=snapshots)
            self.writer.added(*held)
            self.providers[npi], self.held[made.id] = made, snapshots
            self.touched.add(made.id)
            return "created"
        change = _changed(current, first_name=first, last_name=last)
        if active and not current.active:
            change["active"] = True  # at once: later files may name them case manager
        text = credentials_text([_credential(c) for c in self.held[current.id]])
        if normalized_credentials(credentials) != text:
            change["credentials"] = credentials
        if change:
            if current.id in self.touched:  # written first, then changed again
                self.late += await self._write()
                await self._begin()
            self._update(row, current, change)
        return "updated" if change or active != current.active else "unchanged"

    def _update(self, row: Row, current: models.Provider, change: dict[str, Any]) -> None:
        """As update_provider checks and writes, in memory."""
        before = changes.snapshot(current, credentials=self.held[current.id])
        given = change.get("credentials")

        def edit() -> tuple[dict[str, Any], list[models.Credential] | None]:
            names = {"first_name": "firstName", "last_name": "lastName"}
            fields = {k: editing.name(v, names[k]) if k in names else v for k, v in change.items()}
            new = None if given is None else self._credentials(current.id, given)
            return fields, new

        fields, new = self.in_use_case(edit)
        fields.pop("credentials", None)
        editing.apply_given(current, **fields)
        if new is not None and providers.held(new) != providers.held(before["credentials"]):
            self.replaced.append(current.id)
            self.writer.added(*new)
            self.held[current.id] = [changes.snapshot(r) for r in new]
        editing.record_updated(
            self.session,
            self.scope,
            "updateProvider",
            current,
            before,
            credentials=self.held[current.id],
        )
        self.writer.accept(row)
        self.touched.add(current.id)

    async def _write(self) -> list[tuple[Row, RowRefused]]:
        if self.replaced:  # one statement for the batch, before its new credentials
            c = models.Credential
            self.writer.first(
                delete(c)
                .where(c.organization_id == self.org, c.provider_id.in_(self.replaced))
                .execution_options(synchronize_session=False)
            )
        return await _finished(self, self.writer)

    async def finish(self) -> list[tuple[Row, RowRefused]]:
        return self.late + await self._write()


def _credential(snapshot: dict[str, Any]) -> facts.Credential:
    def day(key: str) -> date | None:
        value = snapshot.get(key)
        return date.fromisoformat(value) if value else None

    return facts.Credential(
        snapshot["type"], snapshot["number"], snapshot["state"], day("issued_on"), day("expires_on")
    )


class ProviderDeactivations(Handler):
    """The providers file's second pass, after every other file: a provider who left is
    made inactive only now, so that the case-manager history naming them imports first
    (an inactive provider cannot be named case manager). Its rows were counted in the
    first pass."""

    kind = Kind.PROVIDERS
    columns = ("npi", "active")

    async def prepare(self, rows: Sequence[Row]) -> None:
        self.providers = await _by(
            self.session, models.Provider, self.org, "npi", _texts(rows, "npi")
        )

    async def apply(self, row: Row) -> Status:
        current = self.providers.get(row.required("npi"))
        if current is not None and current.active and not row.flag("active", True):
            self.checked(await providers.update_provider(self.scope, current.id, active=False))
        return "unchanged"


class Clients(Handler):
    """createClient and updateClient, checked row by row, written together (import_batch)."""

    kind = Kind.CLIENTS
    renames = {"externalId": "external_id", "dateOfBirth": "date_of_birth"}
    columns = ("external_id", "first_name", "last_name", "date_of_birth")

    async def prepare(self, rows: Sequence[Row]) -> None:
        found = _texts(rows, "external_id")
        self.clients = await _by(
            self.session, models.Client, self.org, "external_id", found, lock=True
        )
        self.writer = BatchWriter(self.session, self.scope)
        await self.writer.open()

    async def apply(self, row: Row) -> Status:
        external_id = row.required("external_id")
        first, last = row.required("first_name"), row.required("last_name")
        born = row.day("date_of_birth")
        current = self.clients.get(external_id)
        if current is None:
            # As create_client checks, in its order; the external id is not taken (prepare).
            stored_id = clients.external_id_of(external_id)

            def new() -> models.Client:
                clients.check_birth_date(self.scope, born)
                taken = stored_id is not None and stored_id in self.clients
                if taken:
                    raise refuse(INVALID_INPUT, "Another record already has this externalId.",
                                 "externalId")  # fmt: skip
                return clients.new_row(self.scope, first, last, born, stored_id)

            made = self.in_use_case(new)
            self.clients[external_id] = self.writer.created(row, made, "createClient")
            return "created"
        change = _changed(current, first_name=first, last_name=last, date_of_birth=born)
        if not change:
            return "unchanged"

        def edit() -> dict[str, Any]:
            # As update_client checks: the date of birth, then the names it was given.
            if "date_of_birth" in change:
                clients.check_birth_date(self.scope, born)
            names = {"first_name": "firstName", "last_name": "lastName"}
            return {k: editing.name(v, names[k]) if k in names else v for k, v in change.items()}

        edited = self.in_use_case(edit)
        before = changes.snapshot(current)
        editing.apply_given(current, **edited)
        self.writer.updated(row, current, "updateClient", before)
        return "updated"

    async def finish(self) -> list[tuple[Row, RowRefused]]:
        return await _finished(self, self.writer)


class _Referring(Handler):
    """A kind whose rows name clients, providers or payors by their natural keys."""

    async def _clients(self, rows: Sequence[Row], *, lock: bool = False) -> None:
        found = _texts(rows, "client_external_id")
        self.clients = await _by(
            self.session, models.Client, self.org, "external_id", found, lock=lock
        )

    async def _providers(self, rows: Sequence[Row], column: str) -> None:
        self.providers = await _by(
            self.session, models.Provider, self.org, "npi", _texts(rows, column)
        )

    async def _payors(self) -> None:
        self.payors: dict[str, models.Payor] = {}
        self.shared_payer_ids: set[str] = set()
        for p in await payors.listed(self.session, self.org):
            if p.payer_id in self.payors:
                self.shared_payer_ids.add(p.payer_id)
            if p.payer_id:
                self.payors[p.payer_id] = p

    def client(self, row: Row) -> models.Client:
        key = row.required("client_external_id")
        if key not in self.clients:
            raise missing("client_external_id", "client with external id", key)
        return self.clients[key]

    def provider(self, row: Row, column: str) -> models.Provider:
        key = row.required(column)
        if key not in self.providers:
            raise missing(column, "provider with NPI", key)
        return self.providers[key]

    def payor(self, row: Row) -> models.Payor:
        key = row.required("payer_id")
        if key in self.shared_payer_ids:
            # Several payors carry this payer id: a row naming it would pick one at random.
            raise RowRefused((("payer_id", "AMBIGUOUS", f"Several payors have payer id {key!r}."),))
        if key not in self.payors:
            raise missing("payer_id", "payor with payer id", key)
        return self.payors[key]


class Enrollments(_Referring):
    """recordEnrollment and updateEnrollment, checked row by row, written together."""

    kind = Kind.ENROLLMENTS
    renames = {"effectiveTo": "effective_to", "providerId": "npi", "payorId": "payer_id"}
    columns = ("npi", "payer_id", "effective_from", "status", "effective_to")

    async def prepare(self, rows: Sequence[Row]) -> None:
        # The providers locked, as record_enrollment locks its provider.
        self.providers = await _by(
            self.session, models.Provider, self.org, "npi", _texts(rows, "npi"), lock=True
        )
        await self._payors()
        self.existing: dict[tuple[UUID, UUID, date | None], models.Enrollment] = {}
        ids = [p.id for p in self.providers.values()]
        if ids:
            for e in await self.session.scalars(
                select(models.Enrollment)
                .where(
                    models.Enrollment.organization_id == self.org,
                    models.Enrollment.provider_id.in_(ids),
                )
                .with_for_update()
            ):
                self.existing.setdefault((e.provider_id, e.payor_id, e.effective_from), e)
        self.writer = BatchWriter(self.session, self.scope)
        await self.writer.open()

    async def apply(self, row: Row) -> Status:
        provider, payor = self.provider(row, "npi"), self.payor(row)
        start, end = row.day("effective_from"), row.day("effective_to")
        status = row.choice("status", facts.EnrollmentStatus)
        key = (provider.id, payor.id, start)
        current = self.existing.get(key)
        if current is None:
            made = self.in_use_case(
                lambda: enrollments.new_row(self.scope, provider.id, payor.id, status, start, end)
            )
            self.existing[key] = self.writer.created(row, made, "recordEnrollment")
            return "created"
        if not _changed(current, status=status.value, effective_to=end):
            return "unchanged"
        before = changes.snapshot(current)
        self.in_use_case(lambda: enrollments.edit(current, status=status, effective_to=end))
        self.writer.updated(row, current, "updateEnrollment", before)
        return "updated"

    async def finish(self) -> list[tuple[Row, RowRefused]]:
        return await _finished(self, self.writer)


class Coverages(_Referring):
    kind = Kind.COVERAGES
    renames = {
        "clientId": "client_external_id",
        "payorId": "payer_id",
        "memberId": "member_id",
        "effectiveTo": "effective_to",
    }
    columns = (
        "client_external_id",
        "payer_id",
        "effective_from",
        "priority",
        "member_id",
        "effective_to",
    )

    async def prepare(self, rows: Sequence[Row]) -> None:
        await self._clients(rows, lock=True)  # as add_coverage locks its client
        await self._payors()
        self.existing: dict[tuple[UUID, UUID, date], models.Coverage] = {}
        ids = [c.id for c in self.clients.values()]
        if ids:
            for c in await self.session.scalars(
                select(models.Coverage)
                .where(
                    models.Coverage.organization_id == self.org,
                    models.Coverage.client_id.in_(ids),
                )
                .with_for_update()
            ):
                self.existing.setdefault((c.client_id, c.payor_id, c.effective_from), c)
        self.writer = BatchWriter(self.session, self.scope)
        await self.writer.open()

    async def apply(self, row: Row) -> Status:
        client, payor = self.client(row), self.payor(row)
        start, end = row.required_day("effective_from"), row.day("effective_to")
        priority, member = row.integer("priority", 1), row.text("member_id")
        key = (client.id, payor.id, start)
        current = self.existing.get(key)
        if current is None:
            made = self.in_use_case(
                lambda: coverages.new_row(
                    self.scope, client.id, payor.id, member, priority, start, end
                )
            )
            self.existing[key] = self.writer.created(row, made, "addCoverage")
            return "created"
        change = _changed(current, member_id=member, priority=priority, effective_to=end)
        if not change:
            return "unchanged"
        before = changes.snapshot(current)
        self.in_use_case(lambda: coverages.edit(current, **change))
        self.writer.updated(row, current, "updateCoverage", before)
        return "updated"

    async def finish(self) -> list[tuple[Row, RowRefused]]:
        return await _finished(self, self.writer)


class Appointments(_Referring):
    kind = Kind.APPOINTMENTS
    renames = {
        "clientId": "client_external_id",
        "providerId": "provider_npi",
        "serviceLine": "service_line",
        "startsAt": "starts_at",
        "endsAt": "ends_at",
        "serviceCode": "service_code",
    }
    columns = (
        "client_external_id",
        "service_line",
        "starts_at",
        "ends_at",
        "provider_npi",
        "status",
        "service_code",
        "telehealth",
    )

    @classmethod
    def order(cls, rows: list[Row]) -> list[Row]:
        """By client, then start: a batch then spans a few clients, whatever the file's
        order, and finding its rows' sessions reads only theirs."""
        return sorted(
            rows, key=lambda r: (r.text("client_external_id") or "", r.text("starts_at") or "")
        )

    async def prepare(self, rows: Sequence[Row]) -> None:
        await self._clients(rows)
        await self._providers(rows, "provider_npi")
        self.existing: dict[tuple[UUID, str, datetime], Any] = {}
        self.pending: dict[tuple[UUID, str, datetime], tuple[Row, dict[str, Any]]] = {}
        # Batches hold few clients (order), so their sessions are few: one index search. Plain
        # rows of the compared columns: most rows of a file imported again are unchanged, and
        # an ORM object costs several times a row.
        ids = [c.id for c in self.clients.values()]
        if ids:
            a = models.Appointment
            for found in await loading.rows_of(
                self.session,
                select(*loading.APPOINTMENT_FACT).where(
                    a.organization_id == self.org, a.client_id.in_(ids)
                ),
            ):
                self.existing[(found.client_id, found.service_line, found.starts_at)] = found

    async def apply(self, row: Row) -> Status:
        client, provider = self.client(row), self.provider(row, "provider_npi")
        line = row.required("service_line").upper()
        starts, ends = row.instant("starts_at"), row.instant("ends_at")
        status = row.choice("status", facts.AppointmentStatus, facts.AppointmentStatus.SCHEDULED)
        code, telehealth = row.text("service_code"), row.flag("telehealth", False)
        key = (client.id, line, starts.astimezone(UTC))
        if key in self.pending:
            raise RowRefused(
                (
                    (
                        "starts_at",
                        DUPLICATE_ROW,
                        f"Row {self.pending[key][0].number} is the same appointment.",
                    ),
                )
            )
        current = self.existing.get(key)
        if current is None:
            # Checked now, written with the batch's other new appointments (finish).
            new = appointments.NewAppointment(
                client.id, line, provider.id, starts, ends, code, telehealth, status
            )
            self.pending[key] = (row, appointments.new_values(self.scope, new))
            return "created"
        wanted = _changed(
            current,
            provider_id=provider.id,
            ends_at=ends.astimezone(UTC),
            status=status.value,
            service_code=code.upper() if code else None,
            telehealth=telehealth,
        )
        if not wanted:
            return "unchanged"
        if "status" in wanted:
            wanted["status"] = status
        if "ends_at" in wanted:
            wanted["ends_at"] = ends
        if "service_code" in wanted:
            wanted["service_code"] = code
        change = appointments.AppointmentChange(**wanted)
        self.checked(await appointments.update_appointment(self.scope, current.id, change))
        return "updated"

    async def finish(self) -> list[tuple[Row, RowRefused]]:
        """New appointments go in together: one insert for the batch, not one per row (a
        practice's history is most of an import's rows)."""
        pending = list(self.pending.values())
        if not pending:
            return []
        outcome = await appointments.schedule_checked(self.scope, [new for _, new in pending])
        if not outcome.errors:
            return []
        refused = RowRefused(tuple(self.on_column(e) for e in outcome.errors))
        return [(row, refused) for row, _ in pending]


class CaseManagers(_Referring):
    """Rows in date order: a row starting inside a current assignment of the line changes
    the case manager from that day (the current one ends the day before), as
    changeCaseManager does; other new rows are added as addCaseManager adds them."""

    kind = Kind.CASE_MANAGERS
    renames = {
        "clientId": "client_external_id",
        "providerId": "provider_npi",
        Field.PROVIDER: "provider_npi",
        "serviceLine": "service_line",
        "startDate": "start_date",
        "endDate": "end_date",
    }
    columns = (
        "client_external_id",
        "service_line",
        "start_date",
        "provider_npi",
        "end_date",
        "note",
    )

    @classmethod
    def order(cls, rows: list[Row]) -> list[Row]:
        def start(row: Row) -> date:
            try:
                return row.day("start_date") or date.min
            except CellError:
                return date.min

        return sorted(rows, key=start)

    async def prepare(self, rows: Sequence[Row]) -> None:
        await self._clients(rows)
        await self._providers(rows, "provider_npi")
        self.late: list[tuple[Row, RowRefused]] = []
        await self._read()

    async def _read(self) -> None:
        """The facts of the batch's clients and providers (import_assignments), and a fresh
        batch of writes."""
        self.facts = import_assignments.Preloaded(self.scope)
        await self.facts.read(self.session, [c.id for c in self.clients.values()])
        self.facts_read = False
        self.writer = BatchWriter(self.session, self.scope)
        await self.writer.open()

    async def checked_with_facts(self, check: Callable[[], Awaitable[T]]) -> T:
        """A use case's check over the batch's facts, read the first time one is needed."""
        if not self.facts_read:
            await self.facts.read_facts(self.session, [p.id for p in self.providers.values()])
            self.facts_read = True
        return await self.in_use_case_async(check())

    async def apply(self, row: Row) -> Status:
        client, provider = self.client(row), self.provider(row, "provider_npi")
        line = row.required("service_line").upper()
        start, end = row.required_day("start_date"), row.day("end_date")
        note = row.text("note")
        history = self.facts.lines[(client.id, line)]
        same = next((a for a in history if a.start_date == start), None)
        if same is not None:
            return await self._revise(row, same, provider, end, note)
        proposal = case_managers.Proposal(client.id, line, provider.id, start, end, note)
        covering = next(
            (
                a
                for a in history
                if a.start_date < start and (a.end_date is None or a.end_date >= start)
            ),
            None,
        )
        if covering is not None and covering.end_date != end:
            # The row ends before the assignment it follows: a change, then an edit of the
            # new assignment's end, all or nothing. Rare; the use cases themselves do it.
            return await self._change_and_end(row, proposal, end)
        record = changes.record_by
        if covering is None:
            made, _ = await self.checked_with_facts(
                lambda: case_managers.adding(self.facts, self.scope, proposal, lock=True)
            )
        else:
            ended, before, made, _ = await self.checked_with_facts(
                lambda: case_managers.changing(self.facts, self.scope, proposal, lock=True)
            )
            after = changes.snapshot(ended)
            record(self.session, self.scope, "changeCaseManager", ended, before, after)
        self.session.add(made)  # written with the batch (its savepoint is open)
        operation = "addCaseManager" if covering is None else "changeCaseManager"
        record(self.session, self.scope, operation, made, None, changes.snapshot(made))
        self.writer.accept(row)
        history.append(made)
        return "created"

    async def _change_and_end(
        self, row: Row, proposal: case_managers.Proposal, end: date | None
    ) -> Status:
        self.late += await _finished(self, self.writer)  # the rows before it, written
        try:
            async with self.atomic():
                _, successor = self.checked(await case_managers.change(self.scope, proposal))
                self.checked(
                    await case_managers.update(
                        self.scope, successor.id, successor.version, end_date=end
                    )
                )
        finally:
            # Read the lines again (a refused row left its rows expired), go on in bulk.
            await self._read()
        return "created"

    async def finish(self) -> list[tuple[Row, RowRefused]]:
        return self.late + await _finished(self, self.writer)

    async def _revise(
        self,
        row: Row,
        current: models.Assignment,
        provider: models.Provider,
        end: date | None,
        note: str | None,
    ) -> Status:
        if current.provider_id != provider.id:
            raise RowRefused(
                (
                    (
                        "provider_npi",
                        PROVIDER_DIFFERS,
                        "Another provider is case manager from this date. History is not "
                        "rewritten by import: a change of case manager is a row with the "
                        "date it takes effect.",
                    ),
                )
            )
        change = _changed(current, end_date=end, note=note)
        if not change:
            return "unchanged"
        before, _ = await self.checked_with_facts(
            lambda: case_managers.revising(self.facts, self.scope, current, **change)
        )
        if before is not None:
            after = changes.snapshot(current)
            changes.record_by(self.session, self.scope, "updateCaseManager", current, before, after)
        self.writer.accept(row)
        return "updated"


HANDLERS: dict[Kind, type[Handler]] = {
    h.kind: h
    for h in (Payors, Providers, Enrollments, Clients, Coverages, Appointments, CaseManagers)
}
