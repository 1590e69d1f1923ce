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
- ``cmgraph_check_session``: for each session of the compliance report, of the claim lines,
  of the client's findings and of the rendering-provider answers, and for the warnings of
  scheduleAppointment and updateAppointment.
- ``cmgraph_rendering_provider``, ``cmgraph_supervising_provider``, ``cmgraph_modifiers``:
  whenever the core must say what goes on a claim line (claim lines, rendering answers,
  ``Appointment.renderingProvider``).
- ``cmgraph_expiry_window`` and ``cmgraph_check_current_assignment``: for each assignment
  covering today, in the compliance report and the client's findings.

Which plugins a call reaches: built-in rules and plugins that declare
``CMGRAPH_ALL_PAYORS = True`` always; any other plugin only where a payor in question lists
it in ``Payor.plugins`` (the payor passed to a per-payor hook; the primary payor on the date
of service for the claim-line hooks; any payor of the client active on the date for the
checks). So a payor plugin changes nothing for payors that do not name it.

Hooks are synchronous and pure: the core loads the facts first (an ``async def``
implementation would silently win a firstresult hook, so the manager refuses it).
Built-in rules are registered ``trylast``, so any plugin's answer to a one-answer hook wins
over the default; a ``wrapper=True`` implementation of a collecting hook may drop or reshape
other rules' findings.
"""

from __future__ import annotations

from datetime import date, timedelta

import pluggy

from cmgraph import PROJECT_NAME
from cmgraph.facts import (
    AssignmentCheck,
    Choice,
    CurrentAssignmentCheck,
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
    """Findings about one appointment on its date of service (rules 2, 3, 4 and 6 in hindsight).

    Cancelled appointments are never passed. These findings never block a write: they fill
    the compliance report, the client's findings and scheduleAppointment's warnings.
    """


@hookspec(firstresult=True)
def cmgraph_rendering_provider(check: SessionCheck) -> Choice | None:
    """The provider whose name and NPI go on the claim line of this session (rule 1).

    Default: the case manager on the date of service, whoever delivered the session, or
    ``Choice(None)`` when there is none. Return ``Choice(None)`` to leave the rendering
    provider off the claim (a payor that enrolls only the group), or None to leave the
    decision to the next implementation. ``check.appointment`` is None when billing asks
    about a date without naming a session.
    """


@hookspec(firstresult=True)
def cmgraph_supervising_provider(check: SessionCheck) -> Choice | None:
    """The supervising provider of the claim line (837P loop 2310D / 2420D).

    Default: none. The core leaves it off when it would equal the rendering provider, since
    clearinghouses reject a provider supervising themselves.
    """


@hookspec(firstresult=True)
def cmgraph_modifiers(check: SessionCheck) -> list[str] | None:
    """The procedure-code modifiers of the claim line (HM, HN, HO, HP, UD, ...).

    Default: none. Modifiers are a payor's decision, never the core's.
    """


@hookspec(firstresult=True)
def cmgraph_expiry_window(kind: str, payor: Payor | None) -> timedelta | None:
    """How far ahead to warn that something a current CM needs will end (default 60 days).

    ``kind`` is ``"credential"`` (a qualifying credential expires: CREDENTIAL_EXPIRING) or
    ``"enrollment"`` (an enrollment with the client's payor ends: ENROLLMENT_ENDING). Across
    a client's payors the longest window wins.
    """


@hookspec
def cmgraph_check_current_assignment(check: CurrentAssignmentCheck) -> list[Finding]:
    """Findings about an assignment covering today: what will soon stop its CM from billing.

    These are the only findings that depend on the day of the request ("expires within 60
    days" counts from today in the organization's time zone).
    """
