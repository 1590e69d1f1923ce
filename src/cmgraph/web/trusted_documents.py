"""Trusted documents: the reference UI's GraphQL documents, known by their sha256.

A request may name one by `documentId: "sha256:<hex>"` instead of sending `query` (the
GraphQL-over-HTTP persisted-documents convention). With CMGRAPH_TRUSTED_DOCUMENTS=only,
people (callers signed in with a JWT: the UI) may run only these documents, by id or as text
that hashes to one of them; integrations (API tokens) keep free queries. The set is the UI's
own files, hashed when the app starts: there is no build step to forget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

PREFIX = "sha256:"


def document_id(text: str) -> str:
    return PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrustedDocuments:
    by_id: Mapping[str, str]

    @classmethod
    def of_ui(cls) -> TrustedDocuments:
        folder = resources.files("cmgraph.web") / "ui" / "graphql"
        texts = [f.read_text("utf-8") for f in folder.iterdir() if f.name.endswith(".graphql")]
        return cls({document_id(text): text for text in texts})

    def text_of(self, id: str) -> str | None:
        return self.by_id.get(id)

    def trusts(self, text: str) -> bool:
        return document_id(text) in self.by_id
