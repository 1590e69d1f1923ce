"""The fact builders of the rule tests: cmgraph.testing.builders, which ships for plugin
authors."""

from cmgraph.testing.builders import *  # noqa: F403
