"""Settings read from the environment, once, at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cmgraph.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    plugins_dir: Path
    disabled_plugins: frozenset[str]
    development: bool
    max_page_size: int

    @classmethod
    def from_env(cls) -> Settings:
        disabled = os.environ.get("CMGRAPH_DISABLE_PLUGINS", "")
        return cls(
            database_url=os.environ.get("CMGRAPH_DATABASE_URL", DEFAULT_DATABASE_URL),
            plugins_dir=Path(os.environ.get("CMGRAPH_PLUGINS_DIR", "plugins")),
            disabled_plugins=frozenset(n.strip() for n in disabled.split(",") if n.strip()),
            development=os.environ.get("CMGRAPH_DEV", "") in {"1", "true", "yes"},
            max_page_size=int(os.environ.get("CMGRAPH_MAX_PAGE_SIZE", "100")),
        )
