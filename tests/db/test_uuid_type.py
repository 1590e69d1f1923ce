"""Ids stored as text (SQLite) read back as the uuid.UUID the standard library would make of
that text, each kept and shared (db.models.Uuid); PostgreSQL's native uuids are its driver's."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import create_async_engine

from cmgraph.db import models
from cmgraph.db.models import Uuid


def test_text_ids_read_as_the_standard_librarys_uuid_and_null_as_none() -> None:
    read = Uuid().result_processor(sqlite.dialect(), None)
    assert read is not None
    given = uuid.uuid4()
    first, again = read(given.hex), read(given.hex)
    assert first == given and isinstance(first, uuid.UUID)
    assert str(first) == str(given) and hash(first) == hash(given)
    assert again is first  # parsed once
    assert read(None) is None
    with pytest.raises(ValueError):
        read("not an id")


def test_native_uuids_are_left_to_the_driver() -> None:
    dialect = create_async_engine("postgresql+asyncpg://cmgraph@localhost/none").dialect
    assert dialect.supports_native_uuid
    assert Uuid().result_processor(dialect, None) is None


def test_the_ids_kept_start_again_past_their_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "UUIDS_KEPT", 3)
    read = Uuid().result_processor(sqlite.dialect(), None)
    assert read is not None
    given = [uuid.uuid4() for _ in range(10)]
    for value in given:
        assert read(value.hex) == value
        assert len(models._UUIDS) <= 3 + 2  # None, and the one just read
    assert read(None) is None  # still, after starting again
    assert [read(v.hex) for v in given] == given
