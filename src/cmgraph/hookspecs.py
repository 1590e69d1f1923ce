# mypy: disable-error-code="empty-body"
"""Every hook a cmgraph plugin can implement.

When they fire:

- ``cmgraph_service_lines``, ``cmgraph_rules`` and ``cmgraph_payor_settings``: once, when
  the plugin manager starts.
- ``cmgraph_qualifying_credentials``, ``cmgraph_lead_time``, ``cmgraph_enrollment_qualifies``,
  ``cmgraph_expiry_window``: while the core gathers the facts of a check, once per payor of
  the client (and once with ``payor=None`` for a client without coverage); the strictest
  answer across payors wins.
- ``cmgraph_check_assignment``: on checkCaseManager, addCaseManager, changeCaseManager and
  updateCaseManager, with all facts loaded; an ERROR finding blocks the write.
- ``cmgraph_check_removal``: on removeCaseManager and on edits of an assignment's dates.
- ``cmgraph_check_session``: for each session of the compliance report, of the claim lines,
  of the client's findings and of the rendering-provider answers, and for the warnings of
  scheduleAppointment and updateAppointment.
- ``cmgraph_rendering_provider``, ``cmgraph_supervising_provider``, ``cmgraph_modifiers``:
  whenever the core must say what goes on a claim line (claim lines, rendering answers,
  ``Appointment.renderingProvider``).
- ``cmgraph_check_current_assignment``: for each assignment covering today, in the
  compliance report and the client's findings.

Which implementations a call reaches: built-in rules and plugins that declare
``CMGRAPH_ALL_PAYORS = True`` always, once per call, with ``payor`` and ``role`` None in the
checks; any other plugin only for the payors that list it in ``Payor.plugins``, once per
such payor, told which payor (``payor``) and how it stands for the client on the date
(``role``: primary or secondary). The claim-line hooks reach the primary payor's plugins
only. So a payor plugin never filters payors itself.

Hooks are synchronous and pure: the core loads the facts first (an ``async def``
implementation would silently win a one-answer hook, so the manager refuses it). Built-in
rules are registered ``trylast``, so any plugin's answer to a one-answer hook wins over the
default. Every answer is checked against the hook's return type: a wrong one fails the
plugin (``PLUGIN_FAILED``) rather than reach a claim.
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
    ExpiryKind,
    Finding,
    Payor,
    PayorRole,
    RemovalCheck,
    RuleInfo,
    ServiceLine,
    SessionCheck,
    Setting,
)

hookspec = pluggy.HookspecMarker(PROJECT_NAME)


@hookspec
def cmgraph_service_lines() -> list[ServiceLine]:
    """Service lines this plugin provides, each with its default qualifying credentials.

    :return: A list of :class:`~cmgraph.facts.ServiceLine`. Codes are upper-case; the first
        plugin to name a code defines it. The built-in lines are ABA, ST, OT, PT and MH.

    Every answer is kept.

    .. versionadded:: 0.1
    """


@hookspec
def cmgraph_rules() -> list[RuleInfo]:
    """Describe the rules this plugin implements, for the ``rules`` query and ``cmgraph plugins``.

    :return: A list of :class:`~cmgraph.facts.RuleInfo`. The core fills in ``plugin``. Set
        ``applies_to_all_payors=False`` for a payor rule: it is then listed with the payors
        whose ``plugins`` name this plugin.

    Every answer is kept.

    .. versionadded:: 0.1
    """


@hookspec
def cmgraph_payor_settings() -> list[Setting]:
    """Declare the per-payor settings this plugin reads (from ``payor.settings``).

    :return: A list of :class:`~cmgraph.facts.Setting` (name, kind, default, description).
        The core fills in ``plugin``. A payor may hold only settings its plugins declare,
        each of the declared kind (``createPayor`` / ``updatePayor`` refuse anything else
        with a user error naming the setting); read one with ``setting.of(payor)``, which
        gives the default when the payor leaves it unset. Two plugins declaring one name
        must agree on its kind, or start-up stops.

    Every answer is kept.

    .. versionadded:: 0.3
    """


@hookspec(firstresult=True)
def cmgraph_qualifying_credentials(
    service_line: str, payor: Payor | None, role: PayorRole | None
) -> frozenset[str] | None:
    """Credential types that qualify a case manager for a service line with one payor.

    :param service_line: The line's code (``"ABA"``).
    :param payor: The payor asked about; None for a client without coverage.
    :param role: How that payor stands for the client on the date (None without coverage).
    :return: A set of credential types (compared upper-case, e.g. ``{"BCBA", "BCBA-D"}``),
        or None to leave the decision to the next implementation (in the end, the line's
        default).

    Stops at the first non-None answer. Across a client's payors the core keeps the
    credentials every payor accepts (the narrowest set). A DISCIPLINE_MISMATCH of a case
    manager holding a credential the default accepts and this answer leaves out is
    attributed to this plugin and payor.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``role`` added; refusals the answer causes name the plugin.
    """


@hookspec(firstresult=True)
def cmgraph_lead_time(
    service_line: str, payor: Payor | None, role: PayorRole | None
) -> timedelta | None:
    """How long before the first appointment it covers an assignment must start.

    :param service_line: The line's code.
    :param payor: The payor asked about; None for a client without coverage.
    :param role: How that payor stands for the client on the date (None without coverage).
    :return: A timedelta (default 24 h), or None to leave the decision to the next
        implementation.

    Stops at the first non-None answer. Across a client's payors the longest wins.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``role`` added.
    """


@hookspec(firstresult=True)
def cmgraph_enrollment_qualifies(
    enrollment: Enrollment, day: date, payor: Payor, service_line: str | None
) -> bool | None:
    """Whether an enrollment makes its provider credentialed with a payor on a day.

    :param enrollment: One of the provider's enrollments with ``payor``.
    :param day: The date in question (an assignment's start date, a date of service).
    :param payor: The payor the enrollment is with.
    :param service_line: The line in question; None where the core asks about the provider
        without one.
    :return: True or False, or None to leave the decision to the next implementation.
        Default: ENROLLED and ``day`` within its dates; TERMINATED only up to its
        ``effective_to``; PENDING and DENIED never.

    Stops at the first non-None answer. The provider is credentialed when any of its
    enrollments with the payor qualifies.

    .. versionadded:: 0.2 Replaces ``cmgraph_enrollment_counts``.
    """


@hookspec(
    firstresult=True,
    warn_on_impl=DeprecationWarning(
        "cmgraph_enrollment_counts is deprecated since cmgraph 0.2 and goes in 1.0: "
        "implement cmgraph_enrollment_qualifies(enrollment, day, payor, service_line)"
    ),
)
def cmgraph_enrollment_counts(enrollment: Enrollment, day: date, payor: Payor) -> bool | None:
    """The old name of ``cmgraph_enrollment_qualifies``, still called, after it.

    :param enrollment: One of the provider's enrollments with ``payor``.
    :param day: The date in question.
    :param payor: The payor the enrollment is with.
    :return: True or False, or None to leave the decision to the next implementation.

    Stops at the first non-None answer; asked after every plugin's
    ``cmgraph_enrollment_qualifies`` and before the built-in default.

    .. versionadded:: 0.1
    .. deprecated:: 0.2 Use ``cmgraph_enrollment_qualifies``; removed in 1.0.
    """


@hookspec
def cmgraph_check_assignment(
    check: AssignmentCheck, payor: Payor | None, role: PayorRole | None
) -> list[Finding]:
    """Findings about a proposed or edited case-manager assignment.

    :param check: The assignment with every fact the rules need.
    :param payor: The payor this call is for; None for built-in and all-payor plugins,
        which see every payor in ``check.payors``.
    :param role: How ``payor`` stands for the client on the start date.
    :return: A list of :class:`~cmgraph.facts.Finding` (empty when there is nothing to
        say). An ERROR blocks the write; WARNINGs come back beside the result.

    Every answer is kept. A ``wrapper=True`` implementation receives the findings of the
    others as one flat list (``findings = yield``) and returns the list it keeps.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``payor`` and ``role`` added.
    """


@hookspec
def cmgraph_check_removal(check: RemovalCheck) -> list[Finding]:
    """Findings about deleting an assignment or editing its dates.

    :param check: The assignment, its replacement (None when deleted) and its sessions.
    :return: A list of :class:`~cmgraph.facts.Finding`; an ERROR refuses the change.

    Every answer is kept. Reaches built-in and all-payor plugins only: no payor is in
    question.

    .. versionadded:: 0.1
    """


@hookspec
def cmgraph_check_session(
    check: SessionCheck, payor: Payor | None, role: PayorRole | None
) -> list[Finding]:
    """Findings about one session on its date of service (rules 2, 3, 4 and 6 in hindsight).

    :param check: The session, its case manager, deliverer and the client's payors.
    :param payor: The payor this call is for; None for built-in and all-payor plugins.
    :param role: How ``payor`` stands for the client on the date of service.
    :return: A list of :class:`~cmgraph.facts.Finding`. They never block a write: they
        fill the claim lines, the compliance report, the client's findings and the
        warnings of appointment writes.

    Every answer is kept; a ``wrapper=True`` implementation receives them as one flat list.
    Cancelled appointments are never passed.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``payor`` and ``role`` added.
    """


@hookspec(firstresult=True)
def cmgraph_rendering_provider(check: SessionCheck, payor: Payor | None) -> Choice | None:
    """The provider whose name and NPI go on the claim line of this session.

    :param check: The session; ``check.appointment`` is None when billing asks about a date
        without naming a session.
    :param payor: The primary payor on the date of service (the claim goes there).
    :return: ``Choice(provider_id)``; ``Choice(None)`` to leave the rendering provider off
        (a payor that enrolls only the group); None to leave the decision to the next
        implementation. Default: the case manager on the date of service.

    Stops at the first non-None answer.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``payor`` added.
    """


@hookspec(firstresult=True)
def cmgraph_supervising_provider(check: SessionCheck, payor: Payor | None) -> Choice | None:
    """The supervising provider of the claim line (837P loop 2310D / 2420D).

    :param check: The session.
    :param payor: The primary payor on the date of service.
    :return: A :class:`~cmgraph.facts.Choice`, or None to leave the decision to the next
        implementation. Default: none. The core leaves it off when it equals the rendering
        provider (clearinghouses reject a provider supervising themselves).

    Stops at the first non-None answer.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``payor`` added.
    """


@hookspec
def cmgraph_modifiers(check: SessionCheck, payor: Payor | None) -> list[str] | None:
    """The procedure-code modifiers of the claim line (HM, HN, HO, HP, UD, ...).

    :param check: The session.
    :param payor: The primary payor on the date of service.
    :return: A list of two-character modifiers (``["HM"]``), ``[]`` for none, or None for
        no opinion. Default: none; modifiers are a payor's decision, never the core's.

    Every answer is kept: the modifiers of the payor's plugins combine in the order the
    plugins were registered, without duplicates, at most four (as the 837P allows).

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 answers combine instead of the first winning; ``payor`` added.
    """


@hookspec(firstresult=True)
def cmgraph_expiry_window(
    kind: ExpiryKind, payor: Payor | None, role: PayorRole | None
) -> timedelta | None:
    """How far ahead to warn that something a current case manager needs will end.

    :param kind: ``ExpiryKind.CREDENTIAL`` (a qualifying credential expires:
        CREDENTIAL_EXPIRING) or ``ExpiryKind.ENROLLMENT`` (an enrollment with the client's
        payor ends: ENROLLMENT_ENDING).
    :param payor: The payor asked about; None for a client without coverage.
    :param role: How that payor stands for the client today.
    :return: A timedelta (default 60 days), or None to leave the decision to the next
        implementation.

    Stops at the first non-None answer. Across a client's payors the longest wins.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``kind`` is an enum (still equal to its string); ``role`` added.
    """


@hookspec
def cmgraph_check_current_assignment(
    check: CurrentAssignmentCheck, payor: Payor | None, role: PayorRole | None
) -> list[Finding]:
    """Findings about an assignment covering today: what will soon stop its CM from billing.

    :param check: The assignment, its CM's qualifying credentials and enrollments, and the
        warning windows already decided.
    :param payor: The payor this call is for; None for built-in and all-payor plugins.
    :param role: How ``payor`` stands for the client today.
    :return: A list of :class:`~cmgraph.facts.Finding`; the only findings that depend on
        the day of the request.

    Every answer is kept; a ``wrapper=True`` implementation receives them as one flat list.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 ``payor`` and ``role`` added.
    """
