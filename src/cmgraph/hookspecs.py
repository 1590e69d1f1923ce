# mypy: disable-error-code="empty-body"
"""Every hook a cmgraph plugin can implement.

When they fire:

- ``cmgraph_service_lines`` and ``cmgraph_rules``: once, when the plugin manager starts.
- ``cmgraph_qualifying_credentials``, ``cmgraph_lead_time``, ``cmgraph_enrollment_counts``:
  while the core gathers the facts of a check, once per payor of the client (and once with
  ``payor=None`` for a client without coverage); the strictest answer across payors wins.
- ``cmgraph_check_assignment``: on checkCaseManager, addCaseManager, changeCaseManager and
  updateCaseManager, with all facts loaded; an ERROR finding blocks the write.
- ``cmgraph_check_removal``: on removeCaseManager.
- ``cmgraph_check_session``: for each appointment of the compliance report, the client's
  findings, the rendering-provider answers and the warnings of scheduleAppointment.
- ``cmgraph_rendering_provider``: whenever the core must say who goes on the claim.

Hooks are synchronous and pure: the core loads the facts first (an ``async def``
implementation would silently win a firstresult hook, so the manager refuses it).
Built-in rules are registered ``trylast``, so any plugin's answer to a one-answer hook wins
over the default; a ``wrapper=True`` implementation of a collecting hook may drop or reshape
other rules' findings.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pluggy

from cmgraph import PROJECT_NAME
from cmgraph.facts import (
    AssignmentCheck,
    Enrollment,
    Finding,
    Payor,
    RemovalCheck,
    RuleInfo,
    ServiceLine,
    SessionCheck,
)

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def cmgraph_service_lines() -> list[ServiceLine]:
    """Service lines this plugin provides, each with its default qualifying credentials.

    Codes are upper-case; the first plugin to name a code defines it. The built-in lines are
    ABA, ST, OT, PT and MH.
    """


@hookspec
def cmgraph_rules() -> list[RuleInfo]:
    """Describe the rules this plugin implements, for the ``rules`` query and ``cmgraph plugins``.

    Set ``applies_to_all_payors=False`` for a payor rule: it is then listed with the payors
    whose ``plugins`` name this plugin.
    """


@hookspec(firstresult=True)
def cmgraph_qualifying_credentials(service_line: str, payor: Payor | None) -> frozenset[str] | None:
    """Credential types (upper-case, e.g. ``{"BCBA", "BCBA-D"}``) that qualify a CM for a line.

    Return None to leave the decision to the next implementation. Called once per payor of
    the client on the date in question; the core keeps the credentials every payor accepts
    (the narrowest set). ``payor`` is None for a client without coverage.
    """


@hookspec(firstresult=True)
def cmgraph_lead_time(service_line: str, payor: Payor | None) -> timedelta | None:
    """How long before the first appointment it covers an assignment must start (default 24 h).

    Return None to leave the decision to the next implementation. Across a client's payors
    the longest lead time wins.
    """


@hookspec(firstresult=True)
def cmgraph_enrollment_counts(enrollment: Enrollment, day: date, payor: Payor) -> bool | None:
    """Whether this enrollment makes its provider credentialed with payor on day.

    Default: status ENROLLED and day within [effective_from, effective_to]; TERMINATED counts
    only on or before its effective_to. PENDING and DENIED never count. Return None to leave
    the decision to the next implementation.
    """


@hookspec
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    """Findings about a proposed or edited case-manager assignment (rules 2 to 5 and 7).

    Return a list (empty when there is nothing to say). Any finding with severity ERROR
    blocks the write; WARNING findings are returned beside the result.
    """


@hookspec
def cmgraph_check_removal(check: RemovalCheck) -> list[Finding]:
    """Findings about deleting an assignment outright; an ERROR refuses the removal (rule 8)."""


@hookspec
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    """Findings about one appointment on its date of service (rules 2, 4 and 6 in hindsight).

    Cancelled appointments are never passed. These findings never block a write: they fill
    the compliance report, the client's findings and scheduleAppointment's warnings.
    """


@hookspec(firstresult=True)
def cmgraph_rendering_provider(check: SessionCheck) -> UUID | None:
    """The provider whose NPI goes on the claim for this session (rule 1).

    Default: the case manager on the date of service, whoever delivered the session.
    Return None to leave the decision to the next implementation.
    """
