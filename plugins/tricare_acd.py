"""TRICARE Autism Care Demonstration (ACD): the authorized ABA supervisor bills every ABA line.

Sources (PAYORS.md): the Humana Military ABA billing page (humanamilitary.com) and the
TRICARE West ACD authorization and billing details (tricare-west.com).

Rules, all for the ABA service line only (other lines keep the core's defaults):

- ``tricare_aba_supervisor``: the ABA case manager is the beneficiary's "authorized ABA
  supervisor" and must hold a current BCBA or BCBA-D credential (answered through
  ``cmgraph_qualifying_credentials``, so a BCaBA or RBT proposed as CM is the core's
  ``DISCIPLINE_MISMATCH``).
- ``tricare_aba_rendering``: every ABA claim line renders under that supervisor (the CM on
  the date of service), whoever delivered the session; no CM, no rendering provider.
- ``tricare_97151``: the assessment 97151 is delivered only by the authorized supervisor
  (the CM of the date of service) or by an assistant behavior analyst (a current BCaBA
  credential) - ``TRICARE_97151_DELIVERER`` otherwise - and never by telehealth
  (``TRICARE_97151_TELEHEALTH``). Both are errors: the line would be denied.

Interpretations chosen:

- "An assistant it delegates to": the delegation itself is not recorded anywhere, so any
  deliverer holding a current BCaBA credential on the date of service is accepted.
- A 97151 session with no CM on its date gets no ``TRICARE_97151_DELIVERER`` finding: there
  is no supervisor to compare with, and the core already reports ``NO_CASE_MANAGER``.
- "One authorized supervisor per beneficiary at a time" needs nothing beyond the core's
  ``OVERLAPPING_ASSIGNMENT`` (one CM per client and line at a time): only the ABA line has
  an ABA supervisor, and its CM is that supervisor, so a second concurrent supervisor is a
  second overlapping ABA assignment, which the core already refuses. A CM of another line
  (ST, OT...) is not an ABA supervisor and does not compete with it.
- The findings are reached whenever TRICARE is one of the client's active payors on the
  date (primary or secondary, as the core scopes session checks); the claim-line hooks only
  when TRICARE is the primary payor (the core's scoping of claim decisions).
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import Choice, Finding, Payor, RuleInfo, SessionCheck, Severity

LINE = "ABA"
SUPERVISOR_CREDENTIALS = frozenset({"BCBA", "BCBA-D"})
ASSISTANT_CREDENTIALS = frozenset({"BCABA"})
ASSESSMENT = "97151"

SUPERVISOR_RULE = "tricare_aba_supervisor"
RENDERING_RULE = "tricare_aba_rendering"
ASSESSMENT_RULE = "tricare_97151"
DELIVERER = "TRICARE_97151_DELIVERER"
TELEHEALTH = "TRICARE_97151_TELEHEALTH"


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=SUPERVISOR_RULE,
            codes=(),
            description=(
                "The ABA case manager is the authorized ABA supervisor and must hold a current "
                "BCBA or BCBA-D credential (reported as DISCIPLINE_MISMATCH); one at a time is "
                "the core's OVERLAPPING_ASSIGNMENT."
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=RENDERING_RULE,
            codes=(),
            description=(
                "Every ABA claim line renders under the authorized ABA supervisor (the case "
                "manager on the date of service), whoever delivered the session."
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=ASSESSMENT_RULE,
            codes=(DELIVERER, TELEHEALTH),
            description=(
                "97151 is delivered only by the authorized ABA supervisor (the case manager) "
                "or an assistant behavior analyst (BCaBA), and never by telehealth."
            ),
            applies_to_all_payors=False,
        ),
    ]


@hookimpl
def cmgraph_qualifying_credentials(service_line: str) -> frozenset[str] | None:
    if service_line != LINE:
        return None
    return SUPERVISOR_CREDENTIALS


@hookimpl
def cmgraph_rendering_provider(check: SessionCheck) -> Choice | None:
    if check.service_line != LINE:
        return None
    return Choice(check.case_manager.provider_id if check.case_manager else None)


def _finding(check: SessionCheck, code: str, message: str) -> Finding:
    return check.finding(code, Severity.ERROR, message, rule=ASSESSMENT_RULE)


@hookimpl
def cmgraph_check_session(check: SessionCheck, payor: Payor) -> list[Finding]:
    appointment = check.appointment
    if check.service_line != LINE or appointment is None or check.service_code != ASSESSMENT:
        return []
    day = check.date_of_service.isoformat()
    found = []
    cm, deliverer = check.case_manager, check.deliverer
    if cm is not None and appointment.provider_id != cm.provider_id:
        held = deliverer.current_credentials(check.date_of_service) if deliverer else frozenset()
        if not held & ASSISTANT_CREDENTIALS:
            who = deliverer.display_name if deliverer else "The provider who delivered it"
            found.append(
                _finding(
                    check,
                    DELIVERER,
                    f"{who} delivered 97151 on {day}, but {payor.name} accepts the assessment only "
                    "from the authorized ABA supervisor (the case manager) or an assistant "
                    "behavior analyst (BCaBA).",
                )
            )
    if appointment.telehealth:
        found.append(
            _finding(
                check,
                TELEHEALTH,
                f"97151 on {day} was delivered by telehealth, which {payor.name} never covers for "
                "the assessment.",
            )
        )
    return found
