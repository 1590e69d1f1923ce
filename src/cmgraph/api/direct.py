"""A query answered without Strawberry's execution: the same checks, the same resolvers and
plans (api.planned), without the machinery around them.

Before its first resolver, a query went through Strawberry's execute (an execution context,
the extensions made and entered stage by stage, the errors' handling) and graphql-core's
root (the root fields collected, a resolve info and Strawberry's resolver wrapper for each):
on the one-client page that was about 8 % of the request's CPU (bench.pages_cpu). Here the
guard decides what its three stages would (Guard.admitted: the document parses, is within
the size limits, validates, names its operation, and the caller's role, scopes, text and
cost allow it), the executor is built as graphql-core builds it (the variables coerced),
and each root field is answered by the plan of its field (api.planned's Compiler): its
resolver called as Strawberry calls it, its value completed by the plan.

Only a clean answer is given here. A document outside the plans (directives, an abstract
type, a field with extensions, a mutation), a check that would refuse, variables that do
not coerce, tracing on, operation extensions sent, or anything raised or met on the way (an
error, a null in a non-null field): `answer` gives None, having let go of whatever the
request read (the reader's transaction and the loaders: Context.after_write), and the
general path answers from the start, with its own data and errors. A query only reads, so
doing it again changes nothing but its cost. Except when the database did not answer: that
is raised, and the endpoint answers 503 at once (doing it again would wait as long again).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLField, GraphQLSchema, OperationType
from graphql.execution import MiddlewareManager
from graphql.execution.collect_fields import collect_fields
from graphql.pyutils import Path
from strawberry.execution import optimized_is_awaitable

from cmgraph.api.context import Context
from cmgraph.api.guard import Guard
from cmgraph.api.planned import (
    AWAITABLE,
    PLANS,
    Compiler,
    NotPlannable,
    Planned,
    PlannedExecution,
    Run,
    _gathered,
    _refuse_directives,
)
from cmgraph.observability import tracing
from cmgraph.services.transaction import is_unavailable

if TYPE_CHECKING:
    from cmgraph.api.schema import Schema


@dataclass(frozen=True, eq=False)
class RootField:
    planned: Planned
    definition: GraphQLField
    nodes: list[FieldNode]


def _compiled(executor: PlannedExecution) -> list[RootField] | None:
    schema = executor.schema
    root = schema.query_type
    if root is None or executor.operation.operation is not OperationType.QUERY:
        return None
    operation = executor.operation
    try:
        if operation.directives:
            return None
        _refuse_directives(operation.selection_set, executor.fragments)
        grouped, deferred, _ = collect_fields(
            schema,
            executor.fragments,
            executor.variable_values,
            root,
            operation,
            executor.hide_suggestions,
        )
        if deferred:
            return None
        compiler = Compiler(executor)
        fields = []
        for key, group in grouped.items():
            definition = root.fields.get(group[0].node.name.value)
            if definition is None:  # __typename: graphql-core answers it
                return None
            nodes = [details.node for details in group]
            fields.append(RootField(compiler.field(root, key, list(group)), definition, nodes))
        return fields
    except NotPlannable:
        return None


def serves(schema: Schema) -> bool:
    """Whether this schema's queries may be answered here: it has its guard, plans are its
    execution (build_schema's planned), no extension wraps resolvers and no schema
    directive asks for Strawberry's directives extension."""
    return (
        schema.guard is not None
        and schema.execution_context_class is PlannedExecution
        and not schema.directives
        and not any(extension._implements_resolve() for extension in schema.get_extensions())
    )


async def answer(
    schema: Schema,
    guard: Guard,
    query: str,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    extensions: dict[str, Any] | None,
    context: Context,
) -> dict[str, Any] | None:
    """The query's `data` when answered here; None when the general path must answer (see
    the module's doc), with nothing of this attempt left in the context."""
    if extensions or tracing.on():
        return None
    core: GraphQLSchema = schema._schema
    operation = guard.admitted(core, query, operation_name, variables, context)
    if (
        operation is None
        or operation.node.operation is not OperationType.QUERY
        or guard.analysis is None
    ):
        return None
    executor = PlannedExecution.build(
        core,
        guard.analysis.document,
        None,
        context,
        variables,
        operation_name,
        middleware=MiddlewareManager(),
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as Strawberry passes it
        operation_extensions=None,
    )
    if not isinstance(executor, PlannedExecution):
        return None  # the variables do not coerce: graphql-core says how
    plans = PLANS.of_operation(executor, lambda: _compiled(executor))
    if plans is None:
        return None
    try:
        await executor.turn_before_a_batch()
        return await _answered(executor, plans)
    except Exception as error:
        if is_unavailable(error):
            # The database did not answer: asking it again would wait as long once more,
            # past the promised 503 within 5 seconds (the endpoint answers it from here).
            raise
        await context.after_write()  # a fresh transaction and loaders for the general path
        return None


async def _answered(executor: PlannedExecution, plans: list[RootField]) -> dict[str, Any]:
    """Each root field's value, resolved and completed by its plan; the fields run together,
    as graphql-core runs a query's root fields, so that their loaders batch alike. Whatever
    is raised here, the caller leaves the answer to the general path."""
    root = executor.schema.query_type
    assert root is not None
    data: dict[str, Any] = {}
    fields = []
    for field in plans:
        key = field.planned.key
        data[key] = None  # the key's place, in the document's order
        info = executor.build_resolve_info(
            field.definition, field.nodes, root, Path(None, key, root.name)
        )
        fields.append(_field(field.planned, Run(executor, None, info), data))
    if len(fields) == 1:
        await fields[0]
    else:
        # one failing stops the others before the general path takes the reader over
        async with asyncio.TaskGroup() as group:
            for field_answer in fields:
                group.create_task(field_answer)
    return data


async def _field(planned: Planned, run: Run, data: dict[str, Any]) -> None:
    try:
        value = planned.get(None, run)
        if isinstance(value, AWAITABLE):
            value = await value
        completed = planned.complete(value, run)
        data[planned.key] = await _gathered(run, completed)
    except BaseException:
        run.drop_pending()
        raise
