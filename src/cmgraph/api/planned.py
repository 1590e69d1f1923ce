"""Planned execution: below each root field of a query, the answer is assembled by a plan
compiled once per document instead of field by field.

graphql-core completes every field of every object on its own: a resolve info, a path,
the resolver through Strawberry's wrappers (an Info, the arguments converted), then the
value by its type. The caseload page is about 1,300 fields, and that walk was most of its
time. A plan is compiled once from the validated document: for each field of each object,
how to get its value (the attribute, or the same resolver function with its arguments
converted once per request, not once per object) and how to complete it (non-null, list,
scalar, object). Awaitables met on one level are gathered together, so the DataLoaders
batch as they do under graphql-core and a page takes the same statements.

A plan answers only when nothing goes wrong. A resolver that raises, a null in a non-null
field, a value of an unexpected shape: graphql-core then completes the root field's value
again, and its answer (data, errors with their paths) is the spec's. A query only reads
and the loaders keep what was read, so completing again changes nothing and costs little.
Mutations, and documents whose selections below a root field carry directives (@skip,
@include, @defer) or meet an interface or union, are left to graphql-core entirely.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from types import CoroutineType
from typing import Any, TypeVar, cast
from uuid import UUID

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetails, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined
from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField

from cmgraph.services import pacing

PLANS_KEPT = 256  # plans of distinct root field groups; documents are cached by the hundred

T = TypeVar("T")


class PlanMiss(Exception):
    """The plan cannot answer this value: graphql-core completes it instead."""


class NotPlannable(Exception):
    """The selection holds something only graphql-core handles (see the module's doc)."""


Complete = Callable[[Any, "Run"], Any]


@dataclass(eq=False)
class Resolved:
    """A field with a resolver: the function, and how its arguments are made."""

    parent: GraphQLObjectType
    definition: GraphQLField
    strawberry_field: StrawberryField
    details: FieldDetails
    nodes: list[FieldNode]
    function: Callable[..., Any]  # the method itself, called with the object as `self`
    key: str = ""  # the response key: a root field's path (api.direct) is graphql-core's
    copied: tuple[str, ...] = ()  # arguments copied for each call (Run.call)
    # the converted arguments (its Info aside) when the field's node writes none: the same
    # for every request (its defaults), so converted once
    constant: dict[str, Any] | None = None
    # (GraphQL name, Python name) of each argument when Strawberry's conversion would give
    # every value as graphql-core coerced it (scalars: an id, a page size, a date)
    as_is: tuple[tuple[str, str], ...] | None = None


@dataclass(eq=False)
class Planned:
    key: str  # the response key (an alias, or the field's name)
    get: Callable[[Any, Run], Any]
    complete: Complete


# What fields return to be awaited: coroutines, and the loaders' futures. Checked by type,
# not inspect.isawaitable (an ABC check on every plain value); any other awaitable fails its
# completion and the root field goes to graphql-core.
AWAITABLE = (CoroutineType, asyncio.Future)
NOT_AN_OBJECT = (*AWAITABLE, Exception)  # an error returned as a value: graphql-core reports it
IMMUTABLE = (str, int, float, bool, type(None), date, datetime, Enum, UUID)  # shared by calls


@dataclass
class Run:
    """One root field's completion: its executor, and the awaitables met on each level."""

    executor: PlannedExecution
    path: Path | None  # None: the fields are the operation's root fields (api.direct)
    root_info: GraphQLResolveInfo[Any]
    pending: list[tuple[Awaitable[Any], Complete, dict[str, Any], str]] = field(
        default_factory=list
    )
    arguments: dict[int, dict[str, Any]] = field(default_factory=dict)
    handed: set[int] = field(default_factory=set)  # resolvers whose first call had its own
    pacer: pacing.Pacer = field(default_factory=pacing.Pacer)

    def call(self, resolved: Resolved, source: Any) -> Any:
        """The resolver's value for `source`; its Info and arguments are made once per run.
        An argument of a mutable kind (a list, an input object) is each call's own, as
        graphql-core converts it anew for each object: the first call takes the arguments
        converted for it (a root field is called once, and deep-copying a batch's 500
        requests cost a twentieth of it), later calls a copy of arguments converted again
        and kept unused. Arguments converted once for every request (Resolved.constant) are
        never handed out."""
        kwargs = self.arguments.get(id(resolved))
        if kwargs is None:
            kwargs = self.executor.resolver_arguments(resolved, self.path)
            if resolved.copied and resolved.constant is None and id(resolved) not in self.handed:
                self.handed.add(id(resolved))
                return resolved.function(source, **kwargs)
            self.arguments[id(resolved)] = kwargs
        if resolved.copied:
            kwargs = {**kwargs, **{k: copy.deepcopy(kwargs[k]) for k in resolved.copied}}
        return resolved.function(source, **kwargs)

    def drop_pending(self) -> None:
        for awaitable, *_ in self.pending:
            if inspect.iscoroutine(awaitable):
                awaitable.close()  # never started: no "was never awaited" warning
        self.pending = []


class Plans:
    """Compiled plans by root field group, the oldest dropped past PLANS_KEPT; and the plans
    of whole operations (api.direct) by operation, kept alike."""

    def __init__(self) -> None:
        # key: the field nodes' ids; the nodes are kept in the value so no id is reused
        self._kept: OrderedDict[tuple[Any, ...], tuple[Any, Complete | None]] = OrderedDict()
        self._operations: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def clear(self) -> None:
        self._kept.clear()
        self._operations.clear()

    def of_operation(self, executor: PlannedExecution, compile: Callable[[], T]) -> T:
        """The operation's plan: compile() once per operation node."""
        operation = executor.operation
        kept = self._operations.get(id(operation))
        if kept is not None:
            self._operations.move_to_end(id(operation))
            return cast("T", kept[1])
        plan = compile()
        self._operations[id(operation)] = (operation, plan)
        if len(self._operations) > PLANS_KEPT:
            self._operations.popitem(last=False)
        return plan

    def get(
        self,
        executor: PlannedExecution,
        return_type: GraphQLOutputType,
        details: list[FieldDetails],
    ) -> Complete | None:
        key = (id(return_type), *(id(d.node) for d in details))
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            return kept[1]
        try:
            plan: Complete | None = Compiler(executor).value(return_type, details)
        except NotPlannable:
            plan = None
        self._kept[key] = ((return_type, [d.node for d in details]), plan)
        if len(self._kept) > PLANS_KEPT:
            self._kept.popitem(last=False)
        return plan


PLANS = Plans()


class Compiler:
    """Turns a type and the field group selecting it into a Complete function."""

    def __init__(self, executor: PlannedExecution) -> None:
        self.executor = executor
        self.strawberry_schema: Any = executor.schema._strawberry_schema  # type: ignore[attr-defined]

    def value(self, of: GraphQLOutputType, details: list[FieldDetails]) -> Complete:
        if isinstance(of, GraphQLNonNull):
            return _non_null(self.value(of.of_type, details))
        if isinstance(of, GraphQLList):
            return _list_of(self.value(of.of_type, details))
        if is_leaf_type(of):
            return _leaf(of.coerce_output_value)
        if isinstance(of, GraphQLObjectType):
            return self.object(of, details)
        raise NotPlannable(f"{of} is abstract")

    def object(self, of: GraphQLObjectType, details: list[FieldDetails]) -> Complete:
        for d in details:
            if d.node.selection_set is not None:
                _refuse_directives(d.node.selection_set, self.executor.fragments)
        executor = self.executor
        grouped, deferred, _ = collect_subfields(
            executor.schema,
            executor.fragments,
            executor.variable_values,
            executor.operation,
            of,
            details,
            executor.hide_suggestions,
        )
        if deferred:
            raise NotPlannable("@defer")
        fields = [self.field(of, key, list(group)) for key, group in grouped.items()]
        return _object(of, fields)

    def field(self, parent: GraphQLObjectType, key: str, group: list[FieldDetails]) -> Planned:
        name = group[0].node.name.value
        if name == "__typename":
            type_name = parent.name
            return Planned(key, lambda _source, _run: type_name, _leaf(str))
        definition = parent.fields.get(name)
        if definition is None:
            raise NotPlannable(f"{parent.name}.{name}")
        of = self.value(definition.type, group)
        strawberry_field = (definition.extensions or {}).get(
            GraphQLCoreConverter.DEFINITION_BACKREF
        )
        if not isinstance(strawberry_field, StrawberryField) or strawberry_field.extensions:
            raise NotPlannable(f"{parent.name}.{name} is not a plain Strawberry field")
        if strawberry_field.base_resolver is None:
            attribute = strawberry_field.python_name
            default = strawberry_field.default_resolver
            return Planned(key, lambda source, _run: default(source, attribute), of)
        resolver = strawberry_field.base_resolver
        if resolver.self_parameter is None or resolver.parent_parameter or resolver.root_parameter:
            raise NotPlannable(f"{parent.name}.{name}: the resolver is not a method")
        resolved = Resolved(
            parent,
            definition,
            strawberry_field,
            group[0],
            [d.node for d in group],
            cast("Callable[..., Any]", resolver.wrapped_func),
            key,
            as_is=_as_is(strawberry_field, self.strawberry_schema),
        )
        return Planned(key, lambda source, run: run.call(resolved, source), of)


def _as_is(field: StrawberryField, schema: Any) -> tuple[tuple[str, str], ...] | None:
    """The field's arguments by GraphQL and Python name when convert_arguments would pass
    each value through unchanged: a scalar (GlobalID aside, which it decodes), optional or
    not, never Maybe (which it wraps). None otherwise: the field's arguments are converted
    by Strawberry on each request, as before."""
    registry, config = schema.schema_converter.scalar_registry, schema.config
    names = []
    for argument in field.arguments:
        type_ = argument.type
        if isinstance(type_, StrawberryMaybe):
            return None
        if isinstance(type_, StrawberryOptional):
            type_ = type_.of_type
        if type_ is GlobalID or not is_scalar(type_, registry):
            return None
        assert argument.python_name
        names.append((config.name_converter.from_argument(argument), argument.python_name))
    return tuple(names)


def _refuse_directives(selections: SelectionSetNode, fragments: dict[str, Any]) -> None:
    """Directives make the selection depend on variables (@skip, @include) or its delivery
    on the client (@defer, @stream): such documents are not planned."""
    for node in selections.selections:
        if node.directives:
            raise NotPlannable("directives")
        if isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is None or fragment.definition.directives:
                raise NotPlannable("directives")
            _refuse_directives(fragment.definition.selection_set, fragments)
        elif isinstance(node, InlineFragmentNode | FieldNode) and node.selection_set:
            _refuse_directives(node.selection_set, fragments)


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        completed = inner(value, run)
        if completed is None:
            raise PlanMiss("null in a non-null field")
        return completed

    return complete


def _list_of(item: Complete) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise PlanMiss("not a list")  # an error returned as the value included
        if any(isinstance(v, AWAITABLE) for v in value):
            for v in value:
                if isinstance(v, CoroutineType):
                    v.close()  # graphql-core calls the resolver again and awaits its own
            raise PlanMiss("a list of awaitables")
        if len(value) <= pacing.CHUNK:
            return [item(v, run) for v in value]
        return _paced(item, value, run)

    return complete


def _paced(item: Complete, values: list[Any] | tuple[Any, ...], run: Run) -> list[Any]:
    """A long list (a batch's 500 answers: 8-10 ms) completed a chunk at a time, the rest left
    to the next turn of the loop once the step is due, as the services' loops do (pacing).
    Only while its items leave nothing to await: those are gathered one level at a time for
    the loaders to batch, and a list split across levels would split their batches."""
    return _completed_from(item, values, run, [], 0)


def _completed_from(
    item: Complete, values: list[Any] | tuple[Any, ...], run: Run, out: list[Any], start: int
) -> list[Any]:
    waiting = len(run.pending)
    for at in range(start, len(values), pacing.CHUNK):
        out.extend([item(v, run) for v in values[at : at + pacing.CHUNK]])
        following = at + pacing.CHUNK
        if following < len(values) and len(run.pending) == waiting and run.pacer.due():
            # The list is filled in place, the holder and key given are a throwaway. A
            # partial, not a closure over this function: no cycle for the collector.
            rest = functools.partial(_resumed, item, values, out, following)
            run.pending.append((run.pacer.turn(), rest, {}, "rest"))
            break
    return out


def _resumed(
    item: Complete,
    values: list[Any] | tuple[Any, ...],
    out: list[Any],
    start: int,
    _turned: None,
    run: Run,
) -> list[Any]:
    return _completed_from(item, values, run, out, start)


def _leaf(coerce: Callable[[Any], Any]) -> Complete:
    def complete(value: Any, _run: Run) -> Any:
        if value is None:
            return None
        if isinstance(value, Exception):
            raise PlanMiss("an error returned as the value")  # graphql-core reports it
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise PlanMiss("not a value of the scalar")
        return coerced

    return complete


def _object(of: GraphQLObjectType, fields: list[Planned]) -> Complete:
    is_type_of = of.is_type_of

    def complete(value: Any, run: Run) -> Any:
        if value is None:
            return None
        if isinstance(value, NOT_AN_OBJECT) or (
            is_type_of and is_type_of(value, run.root_info) is not True
        ):
            raise PlanMiss("not an object of the type")
        out: dict[str, Any] = {}
        for planned in fields:
            got = planned.get(value, run)
            if isinstance(got, AWAITABLE):
                out[planned.key] = None  # keeps the key's place; filled once gathered
                run.pending.append((got, planned.complete, out, planned.key))
            else:
                out[planned.key] = planned.complete(got, run)
        return out

    return complete


async def _gathered(run: Run, data: Any) -> Any:
    """Await what the plan met, one level at a time, so that the loaders batch each level."""
    while run.pending:
        level, run.pending = run.pending, []
        results = await asyncio.gather(*(a for a, *_ in level), return_exceptions=True)
        for (_, complete, out, key), result in zip(level, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    run.drop_pending()
                    raise result  # cancelled: the request is being stopped
                raise PlanMiss("a resolver raised") from result
            out[key] = complete(result, run)
    return data


async def _turn() -> None:
    await asyncio.sleep(0)  # the other ready requests run their step meanwhile


def _a_batch(variables: dict[str, Any]) -> bool:
    return any(isinstance(v, list) and len(v) > pacing.CHUNK for v in variables.values())


def _wraps_resolvers(executor: PlannedExecution) -> bool:
    """An extension that wraps every resolver (its `resolve` hook) must see every field."""
    manager = executor.middleware_manager
    return bool(manager and manager.middlewares)


class PlannedExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution, with each query root field's value completed by a plan."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # root keys given to graphql-core: its completion calls complete_value again for
        # the type inside a non-null one, which must not try the plan a second time
        self.given_up: set[str | int] = set()

    def execute_root_grouped_field_set(self, *args: Any) -> Any:
        """A batch (a variable holding a list longer than a pacing chunk: 500 rendering
        questions) lets the loop turn between coercing its variables and resolving: each
        is 10-20 ms of one step, and the pages waiting beside it get the loop between."""
        execute = super().execute_root_grouped_field_set
        if not _a_batch(self.variable_values.coerced):
            return execute(*args)

        async def after_a_turn() -> Any:
            await _turn()
            result = execute(*args)
            return await result if self.is_awaitable(result) else result

        return after_a_turn()

    async def turn_before_a_batch(self) -> None:
        """The same turn, for api.direct, which resolves the root fields itself."""
        if _a_batch(self.variable_values.coerced):
            await _turn()

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: list[FieldDetails],
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = (
            PLANS.get(self, return_type, field_details_list)
            if path.prev is None
            and path.key not in self.given_up
            and self.operation.operation is OperationType.QUERY
            and not _wraps_resolvers(self)
            and not isinstance(result, Exception)
            else None
        )
        if plan is None:
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )

        def general() -> Any:
            self.given_up.add(path.key)
            return super(PlannedExecution, self).complete_value(
                return_type, field_details_list, info, path, result, position_context
            )

        run = Run(self, path, info)
        try:
            data = plan(result, run)
        except Exception:
            run.drop_pending()
            return general()
        if not run.pending:
            return data

        async def completed() -> Any:
            try:
                return await _gathered(run, data)
            except Exception:
                run.drop_pending()
                answer = general()
                return await answer if inspect.isawaitable(answer) else answer

        return completed()

    def resolver_arguments(self, resolved: Resolved, root: Path | None) -> dict[str, Any]:
        """What a resolver is called with besides its object, as Strawberry's own wrapper
        makes it (schema_converter.get_arguments): its Info and converted arguments."""
        sf = resolved.strawberry_field
        resolver = sf.base_resolver
        assert resolver is not None
        # One Info for every object the field resolves on. Its path is not each object's:
        # resolvers read the context and the field's nodes (api.lookahead; a test checks that
        # no resolver reads its path), and an error's path comes from graphql-core, which
        # answers the root field whenever one is raised.
        raw = self.build_resolve_info(
            resolved.definition,
            resolved.nodes,
            resolved.parent,
            Path(None, resolved.key, resolved.parent.name)
            if root is None
            else root.add_key(resolved.nodes[0].name.value, resolved.parent.name),
        )
        strawberry_schema = self.schema._strawberry_schema  # type: ignore[attr-defined]
        info = strawberry_schema.config.info_class(_raw_info=raw, _field=sf)
        kwargs = resolved.constant
        if kwargs is None:
            values = self._arguments(resolved)
            if resolved.as_is is not None:
                kwargs = {python: values[name] for name, python in resolved.as_is if name in values}
            else:
                converter = strawberry_schema.schema_converter
                kwargs = convert_arguments(
                    values,
                    sf.arguments,
                    scalar_registry=converter.scalar_registry,
                    config=strawberry_schema.config,
                    info=info,
                )
            resolved.copied = tuple(
                name for name, value in kwargs.items() if not isinstance(value, IMMUTABLE)
            )
            if not any(node.arguments for node in resolved.nodes):
                resolved.constant = kwargs
        kwargs = dict(kwargs)
        if resolver.info_parameter:
            kwargs[resolver.info_parameter.name] = info
        return kwargs

    def _arguments(self, resolved: Resolved) -> dict[str, Any]:
        definition, details = resolved.definition, resolved.details
        if not definition.args and not details.node.arguments:
            return {}
        return get_argument_values(
            definition,
            details.node,
            self.variable_values,
            details.fragment_variable_values,
            self.hide_suggestions,
        )
