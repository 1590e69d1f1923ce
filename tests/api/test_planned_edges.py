"""Planned execution at the edges of what resolvers may do, on a small schema of its own:
each document answers exactly as graphql-core answers it (api.planned falls back), and no
coroutine is left unawaited."""

from __future__ import annotations

import copy
import gc
import warnings
from typing import Any

import pytest
import strawberry
from strawberry.scalars import JSON

from cmgraph.api import planned


class Refused(Exception):
    pass


async def blob() -> Any:
    return {"k": 1}


@strawberry.type
class Item:
    n: int
    data: JSON | None  # an attribute that holds an awaitable: graphql-core awaits it

    @strawberry.field
    def label(self) -> str | None:
        return Refused("returned, not raised")  # type: ignore[return-value]

    @strawberry.field
    def tags(self, into: list[str]) -> list[str]:
        into.append(str(self.n))  # changes its argument: each call must get its own
        return into

    @strawberry.field
    def later(self) -> list[Item]:
        async def one() -> Item:
            return Item(n=self.n * 10, data=None)

        return [one()]  # type: ignore[list-item]

    @strawberry.field
    async def sibling(self) -> Item | None:
        return Item(n=self.n + 1, data=None) if self.n == 1 else None


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(n=1, data=None), Item(n=2, data=None)]

    @strawberry.field
    def blobs(self) -> list[Item]:
        return [Item(n=1, data=blob()), Item(n=2, data=blob())]  # type: ignore[arg-type]


DOCUMENTS = [
    "{ blobs { n data } }",
    "{ items { n label } }",
    '{ items { tags(into: ["x"]) } }',
    "{ items { later { n } } }",
    "{ items { n a: sibling { n b: sibling { n } } } }",
]


async def answer(document: str, execution: type[planned.PlannedExecution] | None) -> Any:
    planned.PLANS.clear()
    schema = strawberry.Schema(query=Query, execution_context_class=execution)
    gc.collect()  # what earlier tests left is not counted here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await schema.execute(document)
        gc.collect()
    errors = [(e.message, e.path) for e in result.errors or []]
    return (
        result.data,
        errors,
        [str(w.message) for w in caught if "never awaited" in str(w.message)],
    )


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_the_plan_answers_as_graphql_core(document: str) -> None:
    """Data, errors with their paths, and no coroutine left unawaited."""
    general = await answer(document, None)
    assert await answer(document, planned.PlannedExecution) == general
    assert general[2] == []


async def test_only_later_calls_copy_arguments_of_a_mutable_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first call of a resolver takes the arguments converted for it (a root field's,
    a batch's requests, are never copied); each later call a copy, so that a resolver that
    changes its argument (Item.tags) changes no other call's."""
    copies: list[Any] = []
    deepcopy = copy.deepcopy

    def counted(value: Any, *args: Any) -> Any:
        copies.append(value)
        return deepcopy(value, *args)

    monkeypatch.setattr(copy, "deepcopy", counted)  # the module planned copies with
    data, errors, _ = await answer('{ items { tags(into: ["x"]) } }', planned.PlannedExecution)
    assert (data, errors) == ({"items": [{"tags": ["x", "1"]}, {"tags": ["x", "2"]}]}, [])
    assert copies == [["x"]]  # the second item's, of a list converted again
