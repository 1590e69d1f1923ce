"""The `search` argument of the lists that search by name (clients, providers)."""

from __future__ import annotations

from cmgraph.api.errors import InputError

MAX_SEARCH_WORDS = 10


def search_words(search: str | None) -> list[str]:
    """The words of a name search, each to appear in the first or last name, any case."""
    words = (search or "").lower().split()
    if len(words) > MAX_SEARCH_WORDS or any(len(w) > 100 or not w.isprintable() for w in words):
        raise InputError(
            f"Search with at most {MAX_SEARCH_WORDS} words of printable text.", field=["search"]
        )
    return words
