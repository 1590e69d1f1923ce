"""Loaders.fill: what load_many answers, read in one call for the keys not yet held, and
shared by the prefetches of one turn of the event loop (two aliased root fields)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from strawberry.dataloader import DataLoader

from cmgraph.api.loaders import Loaders, ready
from cmgraph.services.reader import Reader
from cmgraph.services.scope import TenantScope


def counting_loader(calls: list[list[int]]) -> DataLoader[int, int | BaseException]:
    async def load(keys: list[int]) -> list[int | BaseException]:
        calls.append(keys)
        return [ValueError(f"no {k}") if k < 0 else k * 10 for k in keys]

    return DataLoader(load)


def loaders() -> Loaders:
    """Loaders whose own reads are not used here: fill calls the loader it is given."""
    return Loaders(cast(TenantScope, None), cast(Reader, None))


async def test_fill_answers_as_load_many_in_one_read_of_the_missing_keys() -> None:
    calls: list[list[int]] = []
    loader = counting_loader(calls)
    assert await loader.load(1) == 10
    assert await loaders().fill(loader, [3, 1, 2, 3]) == [30, 10, 20, 30]
    assert calls == [[1], [3, 2]]  # 1 was held; 3 is read once
    assert ready(loader, 2) == 20  # primed: a field answers without waiting
    assert await loaders().fill(loader, [2, 3]) == [20, 30] and len(calls) == 2


async def test_fills_of_one_turn_share_one_read() -> None:
    calls: list[list[int]] = []
    loader, filling = counting_loader(calls), loaders()
    first, second = await asyncio.gather(filling.fill(loader, [1, 2]), filling.fill(loader, [2, 3]))
    assert (first, second) == ([10, 20], [20, 30])
    assert calls == [[1, 2, 3]]


async def test_a_failed_key_fails_as_the_loaders_own_dispatch_fails_it() -> None:
    calls: list[list[int]] = []
    loader = counting_loader(calls)
    with pytest.raises(ValueError, match="no -1"):
        await loaders().fill(loader, [1, -1])
    with pytest.raises(ValueError, match="no -1"):
        await loader.load(-1)  # held as a failure, not read again
    assert await loader.load(1) == 10 and calls == [[1, -1]]
