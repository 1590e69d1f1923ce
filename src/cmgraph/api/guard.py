"""The one place where roles and the size and cost limits are enforced, before anything
executes.

A schema extension. Parsing: it takes the document and its analysis from api.document's
cache (parsed, at most max_tokens tokens, and walked once per document text), and refuses
one that selects too many fields once its fragments are expanded, before validation walks
it. Validating: graphql-core's rules and the schema's own (depth, aliases), run once per
document and kept with its analysis. One extension does what Strawberry's MaxTokensLimiter,
AddValidationRules and ValidationCache did: each extension costs every request its own
hooks (an instance, a context manager per stage), and ValidationCache's key hashed the
whole document on every request. Executing: after
validation and before the first resolver, it looks at the root fields the operation selects
(through fragments too), and for integration tokens at the types it reads anywhere in the
selection. If the caller's role or scopes do not allow one of them (permissions.ACCESS,
permissions.read_scopes), or the query would cost more than the limit, the request ends
with one top-level error and nothing runs or is written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import ASTValidationRule, ExecutionResult, GraphQLError, GraphQLSchema, specified_rules
from strawberry.extensions import SchemaExtension

from cmgraph.api.context import Context
from cmgraph.api.document import AnalyzedDocument, Operation, analyze, analyzed
from cmgraph.api.document_size import size_refusal
from cmgraph.api.permissions import may_call, may_read_nested, read_scopes
from cmgraph.services import text
from cmgraph.services.outcome import INVALID_INPUT

FORBIDDEN = "FORBIDDEN"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


class Guard(SchemaExtension):
    def __init__(
        self,
        max_selections: int,
        max_directives: int | None = None,
        max_repeats: int | None = None,
        *,
        max_tokens: int | None = None,
        rules: Sequence[type[ASTValidationRule]] = (),
    ) -> None:
        self.max_selections = max_selections
        self.max_directives, self.max_repeats = max_directives, max_repeats
        self.max_tokens, self.rules = max_tokens, tuple(rules)
        self.analysis: AnalyzedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        schema = ec.schema._schema
        if self.max_tokens is not None:
            ec.parse_options["max_tokens"] = self.max_tokens
        if ec.graphql_document is not None:  # given parsed: analyzed here, not cached
            self.analysis = analyze(schema, ec.graphql_document)
        elif ec.query:
            self.analysis = analyzed(schema, ec.query, self.max_tokens)
            ec.graphql_document = self.analysis.document
        if self.analysis is not None:
            refusal = size_refusal(
                self.analysis, self.max_selections, self.max_directives, self.max_repeats
            )
            if refusal is not None:
                raise refusal
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        ec.validation_rules = (*ec.validation_rules, *self.rules)
        if self.analysis is not None and ec.pre_execution_errors is None:
            # a list of this request's own: the kept one is every request's of this document
            ec.pre_execution_errors = list(
                self.analysis.validation_errors(ec.schema._schema, ec.validation_rules)
            )
        yield

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        context = ec.context
        assert isinstance(context, Context)
        operation = self.analysis.operation(ec.operation_name) if self.analysis else None
        if operation is None:
            yield
            return
        context.operation_name = operation.name
        context.operation_validated = True  # executing() runs only after validation
        refusal = self._refusal(context, operation, ec.variables)
        if refusal is not None:
            # A result set here means: graphql-core's execute is never called.
            ec.result = ExecutionResult(data=None, errors=[refusal])
        yield

    def admitted(
        self,
        schema: GraphQLSchema,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> Operation | None:
        """What the three stages above decide, for a request answered without Strawberry's
        execution (api.direct): the operation when each stage lets it run as Strawberry
        would (strawberry's own validation rules and this guard's), None when any would
        refuse it or report an error (the general path then answers, with that error).
        Sets the context's operation name as on_execute does."""
        try:
            self.analysis = analyzed(schema, query, self.max_tokens)
        except GraphQLError:
            return None
        analysis = self.analysis
        if size_refusal(analysis, self.max_selections, self.max_directives, self.max_repeats):
            return None
        if analysis.validation_errors(schema, (*specified_rules, *self.rules)):
            return None
        operation = analysis.operation(operation_name)
        if operation is None:
            return None
        context.operation_name = operation.name
        context.operation_validated = True
        if self._refusal(context, operation, variables) is not None:
            return None
        return operation

    def _refusal(
        self, context: Context, operation: Operation, variables: dict[str, Any] | None
    ) -> GraphQLError | None:
        principal = context.principal
        for name in operation.root_fields:
            if not may_call(principal, operation.root, name):
                return GraphQLError(
                    f"The role {principal.role!r} may not use {operation.root.lower()} "
                    f"field {name!r}.",
                    extensions={"code": FORBIDDEN},
                )
        mutation = operation.is_mutation
        for type_name in sorted(operation.types_read):
            if not may_read_nested(principal, type_name, mutation):
                return GraphQLError(
                    f"This token may not read {type_name} (scopes: "
                    f"{', '.join(read_scopes(type_name, mutation) or ())}).",
                    extensions={"code": FORBIDDEN},
                )
        refusal = self._text_refusal(variables)
        if refusal is not None:
            return refusal
        settings = context.settings
        cost = operation.cost.cost(
            variables,
            settings.max_page_size,
            settings.limits.list_cost_factor,
            settings.limits.max_report_days,
        )
        if cost > settings.limits.max_cost:
            return GraphQLError(
                f"The query would cost {cost}, above the limit of {settings.limits.max_cost}: "
                "ask for smaller pages or fewer nested lists.",
                extensions={"code": QUERY_TOO_COMPLEX, "cost": cost},
            )
        return None

    def _text_refusal(self, variables: dict[str, Any] | None) -> GraphQLError | None:
        """Every string of the request, written in the document or sent as a variable,
        is text (services.text), whatever field it is for: nothing else runs otherwise."""
        if self.analysis is not None and self.analysis.text_problem is not None:
            return GraphQLError(self.analysis.text_problem, extensions={"code": INVALID_INPUT})
        variables = variables or {}
        if _all_text(variables):
            return None
        for path, value in _strings(variables, []):
            reason = text.problem(value)
            if reason is not None:
                extensions: dict[str, object] = {"code": INVALID_INPUT, "field": path}
                return GraphQLError(reason, extensions=extensions)
        return None


def _all_text(value: object) -> bool:
    """Whether every string in the variables (keys too) is text: the walk of _strings without
    its paths, which only a refusal needs (for a batch of 500 questions the paths were most of
    the guard's time: a list and a generator per value)."""
    if isinstance(value, str):
        return text.problem(value) is None
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and text.problem(key) is not None:
                return False
            if not _all_text(inner):
                return False
    elif isinstance(value, list):
        for inner in value:
            if not _all_text(inner):
                return False
    return True


def _strings(value: object, path: list[str]) -> Iterator[tuple[list[str], str]]:
    """Every string in a request's variables, with its path (variable, fields, indexes)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and text.problem(key) is not None:
                yield [*path], key
            yield from _strings(inner, [*path, str(key)])
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, [*path, str(index)])
