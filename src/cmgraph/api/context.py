"""What every resolver gets: the caller, their scope, the request's reader and its loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from cmgraph.api.loaders import Loaders
from cmgraph.config import Settings
from cmgraph.services.access import Principal
from cmgraph.services.reader import Reader
from cmgraph.services.scope import TenantScope


@dataclass
class Context:
    scope: TenantScope
    settings: Settings
    reader: Reader
    principal: Principal
    loaders: Loaders = field(init=False)
    operation_name: str | None = None  # set by the guard, for the request log
    operation_validated: bool = False  # set by the guard: the document validated

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.scope, self.reader)

    def release(self) -> None:
        """Let go of what the request read, once it is answered. graphql-core's executor is
        a reference cycle (its async helpers are its own bound methods) that holds this
        context until the collector runs: without this, every row and future the loaders
        hold would wait for the collector too, and be walked by it (bench/lagprobe.py: full
        collections of some 60,000 such objects held the event loop 50-65 ms)."""
        self.loaders.clear()

    async def after_write(self) -> None:
        """Forget what was read before a write, so the payload shows what was committed."""
        await self.reader.close()
        self.loaders = Loaders(self.scope, self.reader)


Info = StrawberryInfo[Context, None]
