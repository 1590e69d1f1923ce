"""What a query would cost, before it runs: every field counts one, and what a field selects
counts as many times as it may return items.

A field with a `first` argument multiplies its selection by `first` (the variable's value, or
the argument's default, or the page-size cap when null); `renderingProviders` by the number of
requests; any other list of objects by `list_factor` (lists such as a client's appointments
are not paged). `edges` counts once, since `first` already multiplied its connection.
Introspection fields cost nothing (the depth and token limits bound them).

Reports also count the work they do, whatever they select (an alias is one more report):
a report over a window of dates of service (`complianceFindings`, `claimLines`) counts
REPORT_DAY_COST per day of its window (at most the longest window allowed), a rendering
question (`renderingProvider`, each of `renderingProviders`' requests) RENDERING_QUESTION_COST.
They are priced so that one request holds about one report's work at the default cost limit
of 25,000: a year's report (366 days) costs 21,960 and a page of 100 of its rows on top of
it still fits, a second year does not; 1,000 rendering questions cost 10,000 and fit with a
full answer each (bench's selection), but not three times over.

The shape of the sum is known from the document alone (api.document works it out once per
document, as a CostPlan); only the page sizes and request counts come from each request's
variables, so a plan is evaluated per request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLList,
    GraphQLObjectType,
    Undefined,
    ValueNode,
    get_named_type,
    get_nullable_type,
    value_from_ast_untyped,
)


@dataclass(frozen=True, eq=False)
class Multiplier:
    """How many times a field's selection counts. `by` names the argument that decides it
    ("first" or "requests"), read per request from `written` (a literal or a variable) or
    else `default`; without one, or when `requests` is no list, a list of objects counts
    `list_factor` times and anything else once."""

    by: str | None = None
    written: ValueNode | None = None
    default: Any = None
    of_objects: bool = False

    def times(self, variables: dict[str, Any], page_cap: int, list_factor: int) -> int:
        if self.by == "first":
            first = self._value(variables)
            # above the cap, the page-size check answers (INVALID_INPUT), not the cost
            return max(1, min(first, page_cap) if isinstance(first, int) else page_cap)
        if self.by == "requests":
            requests = self._value(variables)
            if isinstance(requests, list):
                return max(1, len(requests))
        return list_factor if self.of_objects else 1

    def _value(self, variables: dict[str, Any]) -> Any:
        if self.written is None:
            return self.default
        return value_from_ast_untyped(self.written, variables)


ONCE = Multiplier()

REPORT_DAY_COST = 60
RENDERING_QUESTION_COST = 10
# A report this much work or more is heavy (web.reports): ten days of a window, or 60
# rendering questions. Below it a report is a few milliseconds and never waits its turn.
HEAVY_REPORT_WORK = 600
DEFAULT_MAX_DAYS = 366

# The root fields that are reports, and what their work grows with.
WINDOW, QUESTION, QUESTIONS = "window", "question", "questions"
REPORTS: dict[str, str] = {
    "complianceFindings": WINDOW,
    "claimLines": WINDOW,
    "renderingProvider": QUESTION,
    "renderingProviders": QUESTIONS,
}


@dataclass(frozen=True, eq=False)
class Work:
    """What a report field costs beyond what it selects, read per request from its
    arguments as written (literals or variables)."""

    kind: str
    written: Mapping[str, ValueNode]

    def cost(self, variables: dict[str, Any], max_days: int) -> int:
        if self.kind == QUESTION:
            return RENDERING_QUESTION_COST
        if self.kind == QUESTIONS:
            requests = self._value("requests", variables)
            return RENDERING_QUESTION_COST * (len(requests) if isinstance(requests, list) else 1)
        since, to = self._day("from", variables), self._day("to", variables)
        # a window beyond the longest is refused by the field itself (INVALID_INPUT), so it
        # counts as the longest here; a window that does not parse is refused by validation
        days = (to - since).days + 1 if since and to else 1
        return REPORT_DAY_COST * min(max(days, 1), max_days)

    def _value(self, name: str, variables: dict[str, Any]) -> Any:
        node = self.written.get(name)
        return value_from_ast_untyped(node, variables) if node is not None else None

    def _day(self, name: str, variables: dict[str, Any]) -> date | None:
        value = self._value(name, variables)
        try:
            return date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None


def work(node: FieldNode, parent: str | None) -> Work | None:
    """The work of a root field that is a report, else None."""
    kind = REPORTS.get(node.name.value) if parent == "Query" else None
    if kind is None:
        return None
    return Work(kind, {a.name.value: a.value for a in node.arguments or ()})


def multiplier(node: FieldNode, definition: GraphQLField) -> Multiplier:
    """The multiplier of `node`'s selection, as far as the document alone tells."""
    returns_list = isinstance(get_nullable_type(definition.type), GraphQLList)
    of_objects = (
        returns_list
        and node.name.value != "edges"
        and isinstance(get_named_type(definition.type), GraphQLObjectType)
    )
    written = {argument.name.value: argument.value for argument in node.arguments or ()}
    by = "first" if "first" in definition.args else "requests"
    argument = definition.args.get(by)
    default = argument.default_value if argument is not None else None
    if default is Undefined:
        default = None
    if by == "requests" and "requests" not in written and default is None:
        return Multiplier(of_objects=of_objects)
    return Multiplier(by, written.get(by), default, of_objects)


@dataclass(frozen=True, eq=False)
class CostPlan:
    """The cost of a selection: `fields` that count once each, the `work` of the reports
    among them, plus each nested selection times its multiplier. A fragment's plan is
    shared wherever the fragment is spread."""

    fields: int
    nested: tuple[tuple[Multiplier, CostPlan], ...] = ()
    work: tuple[Work, ...] = ()

    def cost(
        self,
        variables: Mapping[str, Any] | None,
        page_cap: int,
        list_factor: int,
        max_days: int = DEFAULT_MAX_DAYS,
    ) -> int:
        values = dict(variables or {})
        known: dict[CostPlan, int] = {}

        def of(plan: CostPlan) -> int:
            # each shared plan once: a fragment spread twice per level is not walked 2^n times
            if plan not in known:
                known[plan] = (
                    plan.fields
                    + sum(w.cost(values, max_days) for w in plan.work)
                    + sum(
                        m.times(values, page_cap, list_factor) * of(inner)
                        for m, inner in plan.nested
                    )
                )
            return known[plan]

        return of(self)

    def report_work(self, variables: Mapping[str, Any] | None, max_days: int) -> int:
        """The work of the reports among this selection's fields and its fragments' (reports
        are root fields, so no field's own selection holds one), without what they select."""
        values = dict(variables or {})
        known: dict[CostPlan, int] = {}

        def of(plan: CostPlan) -> int:
            # each shared plan once, as in cost(): a fragment spread twice per level is
            # not walked 2^n times
            if plan not in known:
                known[plan] = sum(w.cost(values, max_days) for w in plan.work) + sum(
                    of(inner) for m, inner in plan.nested if m is ONCE
                )
            return known[plan]

        return of(self)
