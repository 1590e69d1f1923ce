"""The practice the browser tests serve: where it listens and whose token it takes, in a
module of its own so test files can import the type (conftest modules share one name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import httpx


@dataclass
class Practice:
    url: str
    token: str
    slug: str

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The API as the tests' own eyes (to pick dates, to check what was written)."""
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        body = response.json()
        assert "errors" not in body, body
        return cast("dict[str, Any]", body["data"])
