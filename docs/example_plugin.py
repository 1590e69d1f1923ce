"""An example payor plugin to copy: "Example Health" bills ABA under the case manager, wants
48 hours' notice of a new one, and refuses 97151 by telehealth.

Copy this file into plugins/ (or CMGRAPH_PLUGINS_DIR) under the name you want the payor to
list, e.g. plugins/example_health.py, then create the payor with
`createPayor(input: {name: "Example Health", kind: COMMERCIAL, plugins: ["example_health"]})`.
The core reaches these functions only for payors that name the plugin, so none of them needs
to check which payor it is looking at. See docs/plugins.md for every hook.

Source: cite the payor's provider manual here, with its date and section; say "unverified"
where a rule comes from a secondary summary.
"""

from __future__ import annotations

from datetime import timedelta

from cmgraph import hookimpl
from cmgraph.facts import Finding, RuleInfo, SessionCheck, Severity

# No constant for the plugin's own name: the core stamps the registered one (the file's stem)
# on every rule and finding, so a copy under another name is a whole plugin of that name.


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    """Listed by the `rules` query with the payors that name this plugin."""
    return [
        RuleInfo(
            name="notice_48h",
            codes=("LEAD_TIME",),
            description="A new case manager starts at least 48 hours before their first session.",
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name="no_telehealth_assessment",
            codes=("EXAMPLE_97151_TELEHEALTH",),
            description="The 97151 assessment is never delivered by telehealth.",
            applies_to_all_payors=False,
        ),
    ]


@hookimpl
def cmgraph_lead_time(service_line: str) -> timedelta | None:
    """A one-answer hook: return a value to decide, None to leave it to the default (24 h).
    With several payors the longest lead time wins, so this never loosens another payor's."""
    return timedelta(hours=48) if service_line == "ABA" else None


@hookimpl
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    """A collecting hook: findings about one session, shown on its claim line and in the
    compliance report. Return [] when there is nothing to say."""
    session = check.appointment
    if session is None or not session.telehealth or session.service_code != "97151":
        return []
    return [
        check.finding(
            "EXAMPLE_97151_TELEHEALTH",
            Severity.ERROR,
            "Example Health does not pay a 97151 assessment delivered by telehealth.",
            rule="no_telehealth_assessment",
        )
    ]
