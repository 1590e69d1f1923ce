"""The schema, built from the code; `cmgraph export-schema` writes its SDL to schema.graphql.

The app builds it with its settings: the guard (roles, cost), the depth, alias and token
limits, field suggestions only in development, and internal errors masked to a message
with an id that is also in the log."""

from __future__ import annotations

import functools
import logging
import traceback
import uuid
from collections.abc import Callable

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from cmgraph.api import hooks, scalars
from cmgraph.api.admin.mutations import ApiTokenMutations
from cmgraph.api.admin.queries import AdminQueries
from cmgraph.api.appointments.mutations import AppointmentMutations
from cmgraph.api.appointments.types import Appointment
from cmgraph.api.billing.queries import ClaimQueries, RenderingQueries
from cmgraph.api.case_managers.mutations import CaseManagerMutations
from cmgraph.api.case_managers.queries import CaseManagerQueries
from cmgraph.api.case_managers.types import CaseManagerAssignment
from cmgraph.api.clients.mutations import ClientMutations, CoverageMutations
from cmgraph.api.clients.queries import ClientQueries
from cmgraph.api.clients.types import Client, Coverage
from cmgraph.api.compliance.queries import ComplianceQueries, RuleQueries
from cmgraph.api.errors import (
    OUTCOME_UNKNOWN,
    OUTCOME_UNKNOWN_MESSAGE,
    UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    WRITE_CONFLICT,
    WRITE_CONFLICT_MESSAGE,
    is_safe,
)
from cmgraph.api.guard import Guard
from cmgraph.api.imports.mutations import ImportMutations
from cmgraph.api.integrations.queries import EventQueries
from cmgraph.api.integrations.webhook_mutations import WebhookMutations
from cmgraph.api.integrations.webhook_queries import WebhookQueries
from cmgraph.api.node_queries import NodeQueries
from cmgraph.api.operation_span import OperationSpan
from cmgraph.api.payors.mutations import PayorMutations
from cmgraph.api.payors.queries import PayorQueries
from cmgraph.api.payors.types import Payor
from cmgraph.api.planned import PlannedExecution
from cmgraph.api.providers.mutations import EnrollmentMutations, ProviderMutations
from cmgraph.api.providers.queries import ProviderQueries
from cmgraph.api.providers.types import Enrollment, Provider
from cmgraph.api.service_lines.queries import ServiceLineQueries
from cmgraph.config import Limits, Settings
from cmgraph.logs import note_error_id
from cmgraph.services.outcome import INVALID_INPUT
from cmgraph.services.transaction import OutcomeUnknown, WriteConflict, is_unavailable

log = logging.getLogger("cmgraph.api")

INTERNAL_ERROR = "INTERNAL_ERROR"


# The roots merge each domain's fields. A class's fields come in the order of its bases, and
# schema.graphql lists them in this order: where it interleaves domains, a domain has two
# classes (billing; compliance).
@strawberry.type(name="Query")
class Query(
    NodeQueries,
    ClientQueries,
    ProviderQueries,
    PayorQueries,
    ServiceLineQueries,
    RenderingQueries,
    CaseManagerQueries,
    ComplianceQueries,
    ClaimQueries,
    RuleQueries,
    AdminQueries,
    EventQueries,
    WebhookQueries,
):
    pass


@strawberry.type(name="Mutation")
class Mutation(
    ClientMutations,
    ProviderMutations,
    PayorMutations,
    CoverageMutations,
    EnrollmentMutations,
    AppointmentMutations,
    CaseManagerMutations,
    ApiTokenMutations,
    ImportMutations,
    WebhookMutations,
):
    pass


class Schema(strawberry.Schema):
    # the guard as its extension is made for each request; api.direct asks it too
    guard: Callable[[], Guard] | None = None

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        # each stage's hooks found once per extension class (api.hooks), not per request
        return hooks.Runner(execution_context=execution_context, extensions=extensions)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Nothing here: strawberry's default logs every error with its message, which can
        quote the caller's input (names, birth dates). MaskWithId logs what is needed."""


class MaskWithId(MaskErrors):
    """An unexpected error becomes "Internal error." with an id; the log line carrying that
    id has the exception's type, where it happened and the traceback, never its message
    (which may quote data)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_safe(e), error_message="")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        # A Date or DateTime that is none carries the code every bad input carries.
        for error in errors:
            if scalars.is_invalid_scalar(error.original_error):
                error.extensions = {**(error.extensions or {}), "code": INVALID_INPUT}
        return super()._process_errors(errors)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, WriteConflict):
            # Not a bug either: retried and still contended (first: on SQLite its cause, a
            # locked database, would read as unavailable). The endpoint answers 503.
            log.warning(
                "write conflict",
                extra={"attempts": original.attempts, "path": [str(p) for p in error.path or ()]},
            )
            return GraphQLError(
                WRITE_CONFLICT_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": WRITE_CONFLICT},
            )
        if isinstance(original, OutcomeUnknown):
            # First: its cause, a lost connection, would read as unavailable, which promises
            # that nothing was written. The endpoint answers 503.
            log.warning("write outcome unknown", extra={"path": [str(p) for p in error.path or ()]})
            return GraphQLError(
                OUTCOME_UNKNOWN_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": OUTCOME_UNKNOWN},
            )
        if is_unavailable(original):
            # Not a bug: the database is down or unreachable. The endpoint answers 503.
            log.warning(
                "database unavailable",
                extra={
                    "error_type": type(original).__name__,
                    "path": [str(p) for p in error.path or ()],
                },
            )
            return GraphQLError(
                UNAVAILABLE_MESSAGE,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": UNAVAILABLE},
            )
        error_id = uuid.uuid4().hex[:12]
        note_error_id(error_id)  # the request's own line names it too
        log.error(
            "internal error",
            extra={
                "error_id": error_id,
                "error_type": type(original).__name__ if original else "GraphQLError",
                "path": [str(p) for p in error.path or ()],
                "traceback": "".join(traceback.format_tb(original.__traceback__))
                if original
                else "",
            },
        )
        return GraphQLError(
            "Internal error.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": INTERNAL_ERROR, "errorId": error_id},
        )


def build_schema(settings: Settings | None = None, *, planned: bool = True) -> Schema:
    """The schema for these settings; built once per distinct limits (building is slow).
    `planned=False` leaves every field to graphql-core (api.planned): the tests compare."""
    return _built(
        settings.limits if settings else Limits(), bool(settings and settings.development), planned
    )


@functools.cache
def _built(limits: Limits, development: bool, planned: bool = True) -> Schema:
    # Built once, so the validation cache sees the same rules on every request.
    rules: list[type[ASTValidationRule]] = [
        depth_validator(limits.max_depth, None, None),
        alias_validator(limits.max_aliases),
    ]

    def guard() -> Guard:
        return Guard(
            limits.max_selections,
            limits.max_field_directives,
            limits.max_repeated_fields,
            max_tokens=limits.max_tokens,
            rules=rules,
        )

    built = Schema(
        query=Query,
        mutation=Mutation,
        types=[Client, Provider, Payor, Coverage, Enrollment, Appointment, CaseManagerAssignment],
        scalar_overrides=scalars.OVERRIDES,
        extensions=[
            # First: it parses (each document once, at most max_tokens tokens, api.document's
            # cache) and refuses a document too large to walk before the others walk
            # fragments as often as they are spread; it validates (once per document, the
            # depth and alias limits included: parsing and validating were a sixth of a
            # caseload page), and checks roles and cost just before execution.
            guard,
            MaskWithId,
            OperationSpan,  # while tracing is on: the operation's span, by name
        ],
        config=StrawberryConfig(disable_field_suggestions=not development),
        # Query root fields' values assembled by a plan compiled once per document.
        execution_context_class=PlannedExecution if planned else None,
    )
    built.guard = guard
    return built


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"
