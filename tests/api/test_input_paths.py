"""Rules name facts; the API names inputs: every Field has its input path."""

from __future__ import annotations

import pytest

from cmgraph.api.input_paths import input_path
from cmgraph.facts import Field


@pytest.mark.parametrize("field", list(Field))
def test_every_field_a_rule_can_name_has_an_input_path(field: Field) -> None:
    path = input_path(field)
    assert path is not None and path[0] == "input" and len(path) == 2


def test_a_path_a_plugin_wrote_passes_as_it_is() -> None:
    assert input_path(("input", "serviceCode")) == ["input", "serviceCode"]
    assert input_path(None) is None
