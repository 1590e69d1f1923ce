"""MO HealthNet (Missouri Medicaid): who renders an ABA claim line, and its modifiers.

Source: MO HealthNet, "ABA billing tip: getting 24J and signatures right" (mydss.mo.gov),
as summarised in PAYORS.md.

Rules (only for ABA sessions whose primary payor on the date of service names this plugin;
the core reaches the plugin only for payors naming it, and says in which role):

- ``mo_healthnet_rendering``: an analyst (BCBA, BCBA-D) or assistant analyst (BCaBA) who
  delivers a session is enrolled with MO HealthNet and renders it with their own NPI (box
  24J), whoever the case manager is. A technician (RBT, BT) is not enrolled: the session
  renders under the supervisor, who is the case manager on the date of service (none when
  no case manager covers the date: the core's NO_CASE_MANAGER says so).
- ``mo_healthnet_modifiers``: a technician's line carries HM followed by the supervisor's
  modifier: HO when the case manager holds BCBA or BCBA-D, HN when a BCaBA.
- ``mo_healthnet_rendering_enrollment`` (``MO_HEALTHNET_RENDERING_NOT_ENROLLED``, error):
  an analyst who delivered a session and renders it must be enrolled with MO HealthNet on
  the date of service.
- ``mo_healthnet_supervisor`` (no finding code): since a BCaBA may be the supervisor of a
  technician's sessions, a BCaBA qualifies as ABA case manager for this payor (BCBA, BCBA-D
  and BCaBA; the core still keeps only what every payor of the client accepts).
- ``mo_healthnet_deliverer_unknown`` (``MO_HEALTHNET_DELIVERER_UNKNOWN``, warning): asked
  about a date without a session (``check.appointment`` None), the renderer depends on who
  delivered; it is left off rather than guessed.

Interpretations chosen (the source is silent on them):

- Analyst-delivered lines carry the analyst's own level modifier, the same mapping as the
  supervisor's: HO for BCBA or BCBA-D (not HP: MO's mapping names HO for the BCBA-D
  supervisor too), HN for BCaBA; no HM. A provider holding an analyst credential and a
  technician one counts as the analyst. Credentials are those current on the date of
  service.
- A deliverer holding no current analyst credential (RBT, BT, or none at all) is a
  technician for this payor: not enrollable, rendered under the CM, with HM. When the CM
  holds no analyst credential, the line carries HM alone.
- No supervising provider is named: the technician's supervisor is already the renderer
  (the core would drop it), and the source does not ask for one on an analyst's own line.
- The enrollment finding is not raised when the analyst who delivered is the case manager:
  the core's NOT_CREDENTIALED already reports the CM's enrollment on that date.
- Without a session the rendering provider is ``Choice(None)`` (left off, not guessed) with
  a warning: the CM would be wrong whenever another analyst delivered. Claim lines always
  name their session, so they are unaffected.
- Other service lines keep the core's defaults: the source is about ABA.
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import (
    Choice,
    Finding,
    Payor,
    PayorRole,
    Provider,
    RuleInfo,
    SessionCheck,
    Severity,
)

LINE = "ABA"

RENDERING = "mo_healthnet_rendering"
MODIFIERS = "mo_healthnet_modifiers"
ENROLLMENT = "mo_healthnet_rendering_enrollment"
SUPERVISOR = "mo_healthnet_supervisor"
UNKNOWN = "mo_healthnet_deliverer_unknown"

NOT_ENROLLED = "MO_HEALTHNET_RENDERING_NOT_ENROLLED"
DELIVERER_UNKNOWN = "MO_HEALTHNET_DELIVERER_UNKNOWN"

ANALYST = frozenset({"BCBA", "BCBA-D"})
ASSISTANT = frozenset({"BCABA"})
QUALIFIED = ANALYST | ASSISTANT


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RENDERING,
            codes=(),
            description=(
                "ABA: an analyst (BCBA, BCBA-D) or assistant (BCaBA) who delivers a session "
                "renders it with their own NPI; a technician's session (RBT, BT) renders "
                "under the supervising case manager."
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=MODIFIERS,
            codes=(),
            description=(
                "ABA modifiers: a technician's line carries HM plus the supervisor's modifier "
                "(HO for a BCBA or BCBA-D case manager, HN for a BCaBA); an analyst's own line "
                "carries HO (BCBA, BCBA-D) or HN (BCaBA)."
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=ENROLLMENT,
            codes=(NOT_ENROLLED,),
            description=(
                "An analyst or assistant who delivered an ABA session, and so renders it, "
                "must be enrolled with MO HealthNet on the date of service."
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=SUPERVISOR,
            codes=(),
            description=(
                "A BCaBA may supervise technicians, so BCBA, BCBA-D and BCaBA qualify as ABA "
                "case manager."
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=UNKNOWN,
            codes=(DELIVERER_UNKNOWN,),
            description=(
                "Asked about a date without one session, the ABA rendering provider is left "
                "off rather than guessed, since it depends on who delivered."
            ),
            applies_to_all_payors=False,
        ),
    ]


def _applies(check: SessionCheck) -> bool:
    return check.service_line == LINE


def _analyst(provider: Provider | None, check: SessionCheck) -> bool:
    return provider is not None and bool(
        provider.current_credentials(check.date_of_service) & QUALIFIED
    )


def _level(provider: Provider | None, check: SessionCheck) -> str | None:
    """HO for a BCBA or BCBA-D, HN for a BCaBA, None for anyone else."""
    if provider is None:
        return None
    held = provider.current_credentials(check.date_of_service)
    if held & ANALYST:
        return "HO"
    if held & ASSISTANT:
        return "HN"
    return None


@hookimpl
def cmgraph_qualifying_credentials(service_line: str) -> frozenset[str] | None:
    return QUALIFIED if service_line == LINE else None


@hookimpl
def cmgraph_rendering_provider(check: SessionCheck) -> Choice | None:
    if not _applies(check):
        return None
    if check.appointment is None or check.deliverer is None:
        return Choice(None)
    if _analyst(check.deliverer, check):
        return Choice(check.deliverer.id)
    return Choice(check.case_manager.provider_id if check.case_manager else None)


@hookimpl
def cmgraph_modifiers(check: SessionCheck) -> list[str] | None:
    if not _applies(check) or check.deliverer is None:
        return None
    own = _level(check.deliverer, check)
    if own is not None:
        return [own]
    supervisor = _level(check.case_manager_provider, check)
    return ["HM", supervisor] if supervisor else ["HM"]


def _finding(
    check: SessionCheck, code: str, rule: str, severity: Severity, message: str
) -> Finding:
    return check.finding(code, severity, message, rule=rule)


@hookimpl
def cmgraph_check_session(check: SessionCheck, payor: Payor, role: PayorRole) -> list[Finding]:
    # Who renders is the claim's payor's question: a secondary MO HealthNet says nothing.
    if not _applies(check) or role is not PayorRole.PRIMARY:
        return []
    day = check.date_of_service.isoformat()
    deliverer = check.deliverer
    if check.appointment is None or deliverer is None:
        return [
            _finding(
                check,
                DELIVERER_UNKNOWN,
                UNKNOWN,
                Severity.WARNING,
                f"MO HealthNet bills an analyst's ABA session under their own NPI, so the "
                f"rendering provider on {day} depends on who delivered it; ask about one "
                f"session (its claim line) instead.",
            )
        ]
    is_cm = check.case_manager is not None and check.case_manager.provider_id == deliverer.id
    if not _analyst(deliverer, check) or is_cm or check.deliverer_credentialed:
        return []
    return [
        _finding(
            check,
            NOT_ENROLLED,
            ENROLLMENT,
            Severity.ERROR,
            f"{deliverer.display_name} delivered this ABA session and renders it with their "
            f"own NPI, but is not enrolled with {payor.name} on {day}.",
        )
    ]
