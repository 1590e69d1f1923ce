"""What every resolver gets: the caller's scope, the request's reader and its loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from cmgraph.api.loaders import Loaders
from cmgraph.api.reader import Reader
from cmgraph.config import Settings
from cmgraph.services.scope import Scope


@dataclass
class Context:
    scope: Scope
    settings: Settings
    reader: Reader
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.scope, self.reader)

    async def after_write(self) -> None:
        """Forget what was read before a write, so the payload shows what was committed."""
        await self.reader.close()
        self.loaders = Loaders(self.scope, self.reader)


Info = StrawberryInfo[Context, None]
