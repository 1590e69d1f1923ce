"""What a request read is freed as soon as it is answered, by reference counting alone, not
left for the cyclic garbage collector: the collector walks whatever it finds while the event
loop waits, and a caseload page used to leave it some 2,000 objects (its loaders' rows and
futures, held through graphql-core's executor, which is a reference cycle), so that a full
collection held the loop 50-65 ms (bench/lagprobe.py)."""

from __future__ import annotations

import functools
import gc
import inspect
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from cmgraph.api.loaders import Loaders
from cmgraph.services import batches
from cmgraph.services.reader import Reader
from cmgraph.services.scope import TenantScope
from tests.support import Api

SELECTION = """
  id displayName
  coverages { id payor { id name } }
  caseManagers { id startDate provider { id displayName credentials { type } } }
"""
PAGE = f"{{ clients(first: 20) {{ edges {{ node {{ {SELECTION} }} }} }} }}"


def nodes(ids: list[str]) -> str:
    """The clients one by one (node(id:)): loaded field by field, without a prefetch."""
    return (
        "{ "
        + " ".join(
            f'c{n}: node(id: "{i}") {{ ... on Client {{ {SELECTION} }} }}'
            for n, i in enumerate(ids)
        )
        + " }"
    )


@contextmanager
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def rows_alive() -> Counter[str]:
    """The rows read (services.batches' records) alive, by type."""
    return Counter(
        type(o).__name__ for o in gc.get_objects() if type(o).__module__ == batches.__name__
    )


async def test_the_rows_a_page_read_do_not_outlive_its_request(demo_api: Api) -> None:
    """Prefetched (a page of clients) or loaded field by field (nodes): neither leaves a row
    behind once answered."""
    page = [e["node"] for e in (await demo_api(PAGE))["clients"]["edges"]]
    one_by_one = nodes([c["id"] for c in page[:5]])
    await demo_api(one_by_one)  # anything start-up or a first request caches
    with collector_off():
        before = rows_alive()
        again = [e["node"] for e in (await demo_api(PAGE))["clients"]["edges"]]
        loaded = list((await demo_api(one_by_one)).values())
        left = rows_alive() - before
    assert again == page and loaded == page[:5]
    assert any(c["coverages"] for c in page) and any(c["caseManagers"] for c in page)
    assert left == {}, left


def test_dropped_loaders_are_freed_without_the_collector() -> None:
    """No loader's batch function reaches back to the Loaders that holds it: such a cycle
    would keep everything the loaders read for the collector."""
    with collector_off():
        loaders = Loaders(cast(TenantScope, None), cast(Reader, None))
        for name in dir(Loaders):  # each loader is made when first asked for: make them all
            if isinstance(inspect.getattr_static(Loaders, name), functools.cached_property):
                getattr(loaders, name)
        assert len(vars(loaders)) > 20
        gone = weakref.ref(loaders)
        del loaders
        assert gone() is None
