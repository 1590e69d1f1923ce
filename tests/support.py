"""The types behind the shared fixtures in tests/conftest.py, in a module test files and
helpers can import to annotate `api`, `other_api` and `statements`."""

from __future__ import annotations

import re
from typing import Any, cast

import httpx


class Api:
    """GraphQL over HTTP against the app, as one organization's token."""

    def __init__(self, client: httpx.AsyncClient, token: str, slug: str) -> None:
        self.client, self.token, self.slug = client, token, slug

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        headers = kw.pop("headers", {"Authorization": f"Bearer {self.token}"})
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers, **kw
        )

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status_code == 200, response.text
        return cast("dict[str, Any]", response.json())

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of a query that must succeed without GraphQL errors."""
        body = await self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        return cast("dict[str, Any]", body["data"])


class StatementCounter:
    """A before_cursor_execute listener: how many statements were sent, and their text."""

    def __init__(self) -> None:
        self.count = 0
        self.sent: list[tuple[str, Any]] = []  # (text, parameters) of each statement

    def __call__(self, *args: Any) -> None:
        self.count += 1
        self.sent.append((args[2], args[3]))  # (conn, cursor, statement, parameters, ...)

    @staticmethod
    def skipping(sent: list[tuple[str, Any]]) -> list[str]:
        """The statements that skip rows with OFFSET. SQLite's dialect writes every LIMIT as
        `LIMIT ? OFFSET ?` with an offset of 0, which skips nothing and is not counted."""
        return [
            text
            for text, parameters in sent
            if re.search(r"\bOFFSET\b", text, re.IGNORECASE)
            and not (
                text.rstrip().endswith("OFFSET ?")
                and isinstance(parameters, tuple | list)
                and parameters[-1] == 0
            )
        ]
