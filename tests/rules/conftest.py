"""Fixtures of the rule tests; the fact builders live in rulefacts.py beside this file."""

from __future__ import annotations

import pytest

from cmgraph.plugins import RuleBook, build_plugin_manager


@pytest.fixture
def book() -> RuleBook:
    """The built-in rules only, as the core would call them."""
    return RuleBook(build_plugin_manager())
