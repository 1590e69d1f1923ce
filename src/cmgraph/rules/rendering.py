"""Rule 1: the case manager is the rendering provider, whoever delivered the session.

Also the other defaults of a claim line: no supervising provider and no modifiers, both of
which are a payor's decision (see PAYORS.md's claims vocabulary).
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import Choice, RuleInfo, SessionCheck

RULE = "rendering_provider"


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(),
            description=(
                "The case manager on the date of service is the rendering provider, not the "
                "provider who delivered the session; a substitute changes nothing. No "
                "supervising provider and no modifiers unless a payor says otherwise."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_rendering_provider(check: SessionCheck) -> Choice:
    return Choice(check.case_manager.provider_id if check.case_manager else None)


@hookimpl(trylast=True)
def cmgraph_supervising_provider(check: SessionCheck) -> Choice:
    return Choice(None)


@hookimpl(trylast=True)
def cmgraph_modifiers(check: SessionCheck) -> list[str]:
    return []
