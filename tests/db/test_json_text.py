"""db.json_text: JSON columns are stored as the text json.dumps writes, byte for byte (the
import's records and the API's alike), by an encoder built once; the engines use it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from cmgraph.db import json_text
from cmgraph.db.engine import Database

VALUES: list[Any] = [
    None,
    True,
    0,
    -7,
    2**70,
    1.5,
    math.inf,
    "plain",
    'Élise \u2028 "quoted" \\ \t\n \U0001f600',
    [],
    {},
    [1, "two", None, [3.25, {"four": False}]],
    {
        "client_id": "0c2b0f3e-1111-4c1e-9a3b-1234567890ab",
        "starts_at": "2026-03-09T09:00:00-04:00",
        "service_code": None,
        "telehealth": False,
        "credentials": [{"type": "BCBA", "number": "1-23", "expires_on": None}],
        "nested": {"b": 1, "a": [2, 1]},  # key order kept, as json.dumps keeps it
    },
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_the_text_is_what_json_dumps_writes(value: Any) -> None:
    assert json_text.dumps(value) == json.dumps(value)


def test_a_value_json_cannot_hold_is_refused_as_json_dumps_refuses_it() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text.dumps({"at": object()})
    assert json_text.dumps({"after": "an error"}) == json.dumps({"after": "an error"})


def test_the_database_engines_store_json_with_it(db: Database) -> None:
    assert db.engine.sync_engine.dialect._json_serializer is json_text.dumps
