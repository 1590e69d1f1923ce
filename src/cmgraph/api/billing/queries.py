"""Root query fields of billing. Two classes, because the schema lists them apart: the
rendering provider questions before the case manager fields, the claim lines and
enrollment impact after complianceFindings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, cast
from uuid import UUID

import strawberry

from cmgraph.api import prefetch
from cmgraph.api.appointments.types import Appointment
from cmgraph.api.billing.inputs import APPOINTMENT_ID_HELP, RenderingProviderRequest, question
from cmgraph.api.billing.types import ClaimLine, EnrollmentImpact, RenderingProviderAnswer
from cmgraph.api.case_managers.types import CaseManagerAssignment
from cmgraph.api.clients.types import load_client
from cmgraph.api.compliance.types import findings
from cmgraph.api.connection import Connection
from cmgraph.api.context import Info
from cmgraph.api.enums import AppointmentStatus
from cmgraph.api.errors import InputError, guarded
from cmgraph.api.lookahead import selected_paths
from cmgraph.api.pagination import keyset_after, keyset_cursor, page_size
from cmgraph.api.parsing import parse_id, query_id
from cmgraph.api.providers.types import Provider
from cmgraph.api.windows import report_window
from cmgraph.services import batches, claims, pacing, rendering

MAX_RENDERING_REQUESTS = 1000
CLAIM_LINES_CURSOR = "claimLines"


async def _answers(
    info: Info, client_ids: Sequence[str], verdicts: Sequence[Any]
) -> list[RenderingProviderAnswer]:
    """The answers of a batch: their assignments and providers are read for the whole batch
    first (one statement each, straight from services.batches: a loader's future per key
    cost more than the read), then every answer is built without waiting. Answers naming
    the same assignment or provider share its object."""
    reader, scope = info.context.reader, info.context.scope
    assignment_ids = list({v.case_manager.id for v in verdicts if v.case_manager} - {None})
    provider_ids = list({v.rendering_provider_id for v in verdicts} - {None})
    rows = (
        await reader.run(lambda s: batches.assignments_by_id(s, scope, assignment_ids))
        if assignment_ids
        else {}
    )
    found = (
        await reader.run(lambda s: batches.providers_by_id(s, scope, provider_ids))
        if provider_ids
        else {}
    )
    pacer = pacing.Pacer()
    providers: dict[UUID, Provider] = {}
    async for provider_rows in pacer.chunks(found.items()):
        providers.update((pk, Provider.of(row)) for pk, row in provider_rows)
    assignments: dict[UUID, CaseManagerAssignment] = {}
    async for assignment_rows in pacer.chunks(rows.items()):
        assignments.update((pk, CaseManagerAssignment.of(row)) for pk, row in assignment_rows)
    answers = []
    for client_id, verdict in zip(client_ids, verdicts, strict=True):
        if pacer.due():
            await pacer.turn()
        cm, provider_id = verdict.case_manager, verdict.rendering_provider_id
        provider = providers.get(provider_id) if provider_id else None
        assert provider_id is None or provider is not None, "a plugin named no provider of ours"
        answers.append(
            RenderingProviderAnswer(
                client_id=strawberry.ID(client_id),
                service_line=verdict.key.service_line,
                date_of_service=verdict.key.date_of_service,
                provider=provider,
                assignment=assignments.get(cm.id) if cm is not None else None,
                findings=findings(verdict.findings) if verdict.findings else [],
            )
        )
    return answers


@strawberry.type
class RenderingQueries:
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
        asked = question(client_id, service_line, date_of_service, appointment_id, where=())
        (verdict,) = await guarded(
            lambda: info.context.reader.run(lambda s: rendering.answer(s, scope, [asked]))
        )
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
        questions = []
        async for chunk in pacing.Pacer().chunks(enumerate(requests)):
            questions += [r.question(where=("requests", str(i))) for i, r in chunk]
        verdicts = await guarded(
            lambda: info.context.reader.run(
                lambda s: rendering.answer(s, scope, questions, batch=True)
            )
        )
        return await _answers(info, [r.client_id for r in requests], verdicts)


@strawberry.type
class ClaimQueries:
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
        report_window(info, since, to)
        scope = info.context.scope
        limit = page_size(first, info.context.settings.max_page_size)
        key = cast(
            "claims.LineKey | None",
            keyset_after(after, CLAIM_LINES_CURSOR, claims.LINE_KEY_SHAPE),
        )
        client = query_id(client_id, "Client", "clientId") if client_id is not None else None
        if client_id is not None and client is None:
            return Connection[ClaimLine].keyset(
                [], [], has_next=False, has_previous=key is not None, total=0
            )
        selected = selected_paths(info)
        count = "totalCount" in selected  # a month's count reads every session of the month
        total, verdicts, more = await guarded(
            lambda: info.context.reader.run(
                lambda session: claims.claim_lines(
                    session, scope, since, to, client, statuses, key, limit, count=count
                )
            )
        )
        lines = [
            ClaimLine.of(Appointment.of_fact(v.key.appointment), v)
            for v in verdicts
            if v.key.appointment is not None
        ]
        await prefetch.claim_lines(info.context.loaders, lines, selected, "edges.node")
        return Connection[ClaimLine].keyset(
            lines,
            [
                keyset_cursor(CLAIM_LINES_CURSOR, claims.line_key(v))
                for v in verdicts
                if v.key.appointment is not None
            ],
            has_next=more,
            has_previous=key is not None,
            total=total,
        )

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
