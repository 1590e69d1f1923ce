"""Rule 1: the case manager is the rendering provider, whoever delivered the session."""

from __future__ import annotations

from uuid import UUID

from cmgraph import hookimpl
from cmgraph.facts import RuleInfo, SessionCheck
from cmgraph.rules._finding import PLUGIN

RULE = "rendering_provider"


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            plugin=PLUGIN,
            codes=(),
            description=(
                "The case manager on the date of service is the rendering provider, not the "
                "provider who delivered the session; a substitute changes nothing."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_rendering_provider(check: SessionCheck) -> UUID | None:
    return check.case_manager.provider_id if check.case_manager else None
