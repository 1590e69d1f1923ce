"""Root query fields."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any

import strawberry

from cmgraph.api import ids, prefetch
from cmgraph.api.audit import AuditEvent, entity_uuid
from cmgraph.api.claims import ClaimLine, EnrollmentImpact
from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.errors import InputError, from_refused, guarded
from cmgraph.api.inputs import (
    APPOINTMENT_ID_HELP,
    AddCaseManagerInput,
    ChangeCaseManagerInput,
    RenderingProviderRequest,
    parse_id,
    question,
)
from cmgraph.api.lookahead import selected_paths
from cmgraph.api.mutations import proposal
from cmgraph.api.pagination import (
    offset_after,
    page_size,
)
from cmgraph.api.permissions import NODE_ACCESS, allowed
from cmgraph.api.search import search_words
from cmgraph.api.tokens import ApiToken
from cmgraph.api.types import (
    Appointment,
    AppointmentStatus,
    CaseManagerAssignment,
    Client,
    Coverage,
    Enrollment,
    Node,
    Payor,
    Provider,
    RuleFinding,
    ServiceLine,
    findings,
    load_client,
)
from cmgraph.services import (
    audit,
    case_managers,
    claims,
    clients,
    compliance,
    lookups,
    payors,
    providers,
    rendering,
    tokens,
)
from cmgraph.services.outcome import Refused


@strawberry.type(name="CaseManagerCandidate")
class CaseManagerCandidate:
    provider: Provider
    findings: list[RuleFinding] = strawberry.field(
        description="Every finding that adding this provider would raise; no ERROR for a "
        "listed candidate unless includeBlocked."
    )
    sessions_last_30_days: int
    last_session_at: datetime | None


@strawberry.type(name="Rule")
class Rule:
    name: str
    plugin: str
    codes: list[str]
    description: str
    payors: list[Payor]


@strawberry.type(name="RenderingProviderAnswer")
class RenderingProviderAnswer:
    client_id: strawberry.ID
    service_line: str
    date_of_service: date
    provider: Provider | None
    assignment: CaseManagerAssignment | None
    findings: list[RuleFinding]


_NODE_TYPES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "Client": ("client_by_id", Client.of),
    "Provider": ("provider_by_id", Provider.of),
    "Payor": ("payor_by_id", Payor.of),
    "Coverage": ("coverage_by_id", Coverage.of),
    "Enrollment": ("enrollment_by_id", Enrollment.of),
    "Appointment": ("appointment_by_id", Appointment.of),
    "CaseManagerAssignment": ("assignment_by_id", CaseManagerAssignment.of),
}


MAX_RENDERING_REQUESTS = 1000


async def _answers(
    info: Info, client_ids: Sequence[str], verdicts: Sequence[Any]
) -> list[RenderingProviderAnswer]:
    """The answers of a batch: their assignments and providers are loaded for the whole
    batch first (one query each), then every answer is built without waiting."""
    loaders = info.context.loaders
    assignment_ids = list(
        {v.case_manager.id for v in verdicts if v.case_manager is not None} - {None}
    )
    provider_ids = list({v.rendering_provider_id for v in verdicts} - {None})
    assignments = await loaders.assignment_by_id.load_many(assignment_ids)
    providers = await loaders.provider_by_id.load_many(provider_ids)
    rows = dict(zip(assignment_ids, assignments, strict=True))
    found = dict(zip(provider_ids, providers, strict=True))
    answers = []
    for client_id, verdict in zip(client_ids, verdicts, strict=True):
        cm, provider_id = verdict.case_manager, verdict.rendering_provider_id
        row = rows.get(cm.id) if cm is not None else None
        provider = found[provider_id] if provider_id else None
        assert provider_id is None or provider is not None, "a plugin named no provider of ours"
        answers.append(
            RenderingProviderAnswer(
                client_id=strawberry.ID(client_id),
                service_line=verdict.key.service_line,
                date_of_service=verdict.key.date_of_service,
                provider=Provider.of(provider) if provider else None,
                assignment=CaseManagerAssignment.of(row) if row else None,
                findings=findings(verdict.findings),
            )
        )
    return answers


async def _payors(info: Info) -> list[Payor]:
    org = info.context.scope.organization_id
    return [Payor.of(r) for r in await info.context.reader.run(lambda s: payors.listed(s, org))]


@strawberry.type(name="Query")
class Query:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = ids.decode(id)
        if decoded is None or decoded[0] not in _NODE_TYPES:
            return None
        if not allowed(info.context.principal, NODE_ACCESS.get(decoded[0])):
            return None  # a kind the caller may not read is, to them, nothing
        loader_name, make = _NODE_TYPES[decoded[0]]
        row = await getattr(info.context.loaders, loader_name).load(decoded[1])
        return make(row) if row else None

    @strawberry.field
    async def client(self, info: Info, id: strawberry.ID) -> Client | None:
        pk = ids.decode_as(id, "Client")
        row = await info.context.loaders.client_by_id.load(pk) if pk else None
        return Client.of(row) if row else None

    @strawberry.field(description="Clients by name: every word of `search` in a name, any case.")
    async def clients(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Client]:
        scope, words = info.context.scope, search_words(search)
        limit = page_size(first, info.context.settings.max_page_size)
        start = offset_after(after)
        total, rows = await info.context.reader.run(
            lambda session: clients.page(session, scope, words, start, limit)
        )
        await prefetch.clients(
            info.context.loaders, [r.id for r in rows], selected_paths(info), "edges.node"
        )
        return Connection[Client].page(start, [Client.of(r) for r in rows], total)

    @strawberry.field
    async def provider(self, info: Info, id: strawberry.ID) -> Provider | None:
        pk = ids.decode_as(id, "Provider")
        row = await info.context.loaders.provider_by_id.load(pk) if pk else None
        return Provider.of(row) if row else None

    @strawberry.field(
        description="Providers by name; with serviceLine, only those holding a credential "
        "that qualifies for it today (by default)."
    )
    async def providers(
        self,
        info: Info,
        search: str | None = None,
        service_line: str | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Provider]:
        scope, words = info.context.scope, search_words(search)
        qualifying = None
        if service_line is not None:
            try:
                line = lookups.service_line(scope.book, service_line)
            except Refused as refused:
                raise from_refused(refused) from None
            qualifying = scope.book.service_lines[line].qualifying_credentials
        limit = page_size(first, info.context.settings.max_page_size)
        start = offset_after(after)
        total, rows = await info.context.reader.run(
            lambda session: providers.page(session, scope, words, qualifying, start, limit)
        )
        return Connection[Provider].page(start, [Provider.of(r) for r in rows], total)

    @strawberry.field
    async def payors(self, info: Info) -> list[Payor]:
        return await _payors(info)

    @strawberry.field
    def service_lines(self, info: Info) -> list[ServiceLine]:
        lines = info.context.scope.book.service_lines
        return [ServiceLine.of(lines[code]) for code in sorted(lines)]

    @strawberry.field(description="Who goes on the claim.")
    async def rendering_provider(
        self,
        info: Info,
        client_id: strawberry.ID,
        service_line: str,
        date_of_service: date,
        appointment_id: Annotated[
            strawberry.ID | None, strawberry.argument(description=APPOINTMENT_ID_HELP)
        ] = None,
    ) -> RenderingProviderAnswer:
        scope = info.context.scope
        asked = question(client_id, service_line, date_of_service, appointment_id)
        (verdict,) = await guarded(lambda: rendering.answer(scope, [asked]))
        return (await _answers(info, [client_id], [verdict]))[0]

    @strawberry.field(description="Rendering providers of many sessions in one request.")
    async def rendering_providers(
        self, info: Info, requests: list[RenderingProviderRequest]
    ) -> list[RenderingProviderAnswer]:
        scope = info.context.scope
        if len(requests) > MAX_RENDERING_REQUESTS:
            raise InputError(
                f"At most {MAX_RENDERING_REQUESTS} requests at a time.", field=["requests"]
            )
        questions = [r.question() for r in requests]
        verdicts = await guarded(lambda: rendering.answer(scope, questions, batch=True))
        return await _answers(info, [r.client_id for r in requests], verdicts)

    @strawberry.field(description="Dry run of addCaseManager: every finding, nothing written.")
    async def check_case_manager(self, info: Info, input: AddCaseManagerInput) -> list[RuleFinding]:
        scope = info.context.scope
        return findings(await guarded(lambda: case_managers.check(scope, proposal(input))))

    @strawberry.field(
        description="Dry run of changeCaseManager: every finding the change would meet (the "
        "new assignment's, as if the current one ended the day before, and the shortening of "
        "the current one's), nothing written."
    )
    async def check_change_case_manager(
        self, info: Info, input: ChangeCaseManagerInput
    ) -> list[RuleFinding]:
        scope = info.context.scope
        return findings(await guarded(lambda: case_managers.check_change(scope, proposal(input))))

    @strawberry.field(
        description="Active providers as they would fare as CM, the most familiar with the "
        "client (completed sessions in the line in the 30 days before startDate) first."
    )
    async def suggest_case_managers(
        self,
        info: Info,
        client_id: strawberry.ID,
        service_line: str,
        start_date: date,
        include_blocked: bool | None = False,
    ) -> list[CaseManagerCandidate]:
        scope = info.context.scope
        candidates = await guarded(
            lambda: case_managers.suggest(
                scope,
                parse_id(client_id, "Client", "clientId"),
                service_line,
                start_date,
                bool(include_blocked),
            )
        )
        return [
            CaseManagerCandidate(
                provider=Provider.of(c.provider),
                findings=findings(c.findings),
                sessions_last_30_days=c.sessions_last_30_days,
                last_session_at=(
                    c.last_session_at.astimezone(scope.clock.zone) if c.last_session_at else None
                ),
            )
            for c in candidates
        ]

    @strawberry.field(description="Practice-wide findings over a window of dates of service.")
    async def compliance_findings(
        self,
        info: Info,
        since: Annotated[date, strawberry.argument(name="from")],
        to: date,
        codes: list[str] | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[RuleFinding]:
        scope = info.context.scope
        limit = page_size(first, info.context.settings.max_page_size)
        start = offset_after(after)
        found = await guarded(
            lambda: compliance.findings_page(
                scope,
                since,
                to,
                set(codes) if codes else None,
                start,
                limit,
                count="totalCount" in selected_paths(info),
            )
        )
        return Connection[RuleFinding].ahead(
            start, findings(found.findings), found.has_next, found.total
        )

    @strawberry.field(
        description="What goes on the claim line of every session whose date of service is "
        "in [from, to] (by default every status but CANCELLED), by its primary payor's rules."
    )
    async def claim_lines(
        self,
        info: Info,
        since: Annotated[date, strawberry.argument(name="from")],
        to: date,
        client_id: strawberry.ID | None = None,
        statuses: list[AppointmentStatus] | None = None,
        first: int | None = 100,
        after: str | None = None,
    ) -> Connection[ClaimLine]:
        scope = info.context.scope
        limit = page_size(first, info.context.settings.max_page_size)
        start = offset_after(after)
        client = ids.decode_as(client_id, "Client") if client_id is not None else None
        if client_id is not None and client is None:
            return Connection[ClaimLine].page(start, [], 0)
        total, verdicts = await guarded(
            lambda: claims.claim_lines(scope, since, to, client, statuses, start, limit)
        )
        lines = [
            ClaimLine.of(Appointment.of_fact(v.key.appointment), v)
            for v in verdicts
            if v.key.appointment is not None
        ]
        return Connection[ClaimLine].page(start, lines, total)

    @strawberry.field(
        description="What breaks if this provider's enrollment with this payor lapses on that "
        "date: the assignments where the payor is then the client's primary, those clients, "
        "and the sessions from that date whose claim line the provider would render for it."
    )
    async def enrollment_impact(
        self, info: Info, provider_id: strawberry.ID, payor_id: strawberry.ID, lapse_on: date
    ) -> EnrollmentImpact:
        scope = info.context.scope
        impact = await guarded(
            lambda: claims.enrollment_impact(
                scope,
                parse_id(provider_id, "Provider", "providerId"),
                parse_id(payor_id, "Payor", "payorId"),
                lapse_on,
            )
        )
        clients = [await load_client(info, pk) for pk in impact.client_ids]
        return EnrollmentImpact(
            assignments=[CaseManagerAssignment.of(a) for a in impact.assignments],
            clients=[c for c in clients if c is not None],
            appointments=[Appointment.of(r) for r in impact.appointments],
        )

    @strawberry.field(description="Every rule that is loaded, with its plugin and codes.")
    async def rules(self, info: Info) -> list[Rule]:
        payors = await _payors(info)
        result = []
        for rule in info.context.scope.book.rules():
            applies = [p for p in payors if rule.applies_to_all_payors or rule.plugin in p.plugins]
            result.append(
                Rule(
                    name=rule.name,
                    plugin=rule.plugin,
                    codes=list(rule.codes),
                    description=rule.description,
                    payors=applies,
                )
            )
        return result

    @strawberry.field(
        description="The audit trail, oldest first: every change, or those of one entity "
        "(any global id) and within [from, to]."
    )
    async def audit_events(
        self,
        info: Info,
        entity_id: strawberry.ID | None = None,
        since: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> Connection[AuditEvent]:
        for value, name in ((since, "from"), (to, "to")):
            if value is not None and value.utcoffset() is None:
                raise InputError(
                    "A date-time needs an offset (e.g. 2026-03-08T09:00-05:00).", field=[name]
                )
        limit = page_size(first, info.context.settings.max_page_size)
        start = offset_after(after)
        if entity_id is not None and entity_uuid(entity_id) is None:
            raise InputError("Malformed id.", field=["entityId"])
        window = audit.Window(entity_uuid(entity_id) if entity_id else None, since, to)
        org = info.context.scope.organization_id
        total, rows = await info.context.reader.run(
            lambda session: audit.events(session, org, window, start, limit)
        )
        return Connection[AuditEvent].page(start, [AuditEvent.of(r) for r in rows], total)

    @strawberry.field(description="The organization's API tokens (never their secrets).")
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        org = info.context.scope.organization_id
        rows = await info.context.reader.run(lambda session: tokens.listed(session, org))
        return [ApiToken.of(r) for r in rows]
