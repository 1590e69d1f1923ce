"""Nevada Medicaid: ABA services are billed by the provider who delivered them.

Source: Nevada Medicaid Services Manual (MSM), chapter 3700 (Applied Behavior Analysis).
Unverified: taken from a secondary summary (PAYORS.md marks this rule so); implemented as
stated there.

Rules (only for ABA sessions whose primary payor on the date of service names this plugin;
the core reaches the plugin only for payors naming it, and says in which role):

- ``nv_medicaid_rendering``: every service is billed with the NPI of the provider who
  actually delivered it (BCBA, BCaBA or RBT alike), never the supervising clinician; a
  substitute renders their own session.
- ``nv_medicaid_supervising``: the case manager on the date of service is the supervising
  provider (837P 2310D / 2420D); the core leaves it off when the CM delivered the session.
- ``nv_medicaid_modifiers``: lines delivered by a BCaBA or an RBT carry modifier UD.
- ``nv_medicaid_rendering_enrollment`` (``NV_MEDICAID_RENDERING_NOT_ENROLLED``, error):
  the provider who delivered, and so renders, must be enrolled with Nevada Medicaid on the
  date of service.
- ``nv_medicaid_deliverer_unknown`` (``NV_MEDICAID_DELIVERER_UNKNOWN``, warning): asked
  about a date without naming one session (``check.appointment`` None: no session that
  day, or sessions by several providers), there is no deliverer to bill, so the rendering
  provider is left off (``Choice(None)``) rather than guessed; the CM, who would be the
  default, is exactly who this payor says never to bill for someone else's work.

Interpretations chosen:

- Chapter 3700 is the ABA chapter, so the rules apply to the ABA line only; other lines keep
  the core's defaults.
- "BCaBA and RBT lines" means the deliverer holds a current BCaBA or RBT credential on the
  date of service and no BCBA or BCBA-D (an analyst's own line carries no UD, even if they
  also hold an RBT). A deliverer with none of these (a BT, say) gets no modifier: the
  summary names only BCaBA and RBT.
- The enrollment finding is not raised when the deliverer is the case manager: the core's
  NOT_CREDENTIALED already reports the CM's enrollment on that date.
"""

from __future__ import annotations

from cmgraph import hookimpl
from cmgraph.facts import Choice, Finding, Payor, PayorRole, RuleInfo, SessionCheck, Severity

LINE = "ABA"

RENDERING = "nv_medicaid_rendering"
SUPERVISING = "nv_medicaid_supervising"
MODIFIERS = "nv_medicaid_modifiers"
ENROLLMENT = "nv_medicaid_rendering_enrollment"
UNKNOWN = "nv_medicaid_deliverer_unknown"

NOT_ENROLLED = "NV_MEDICAID_RENDERING_NOT_ENROLLED"
DELIVERER_UNKNOWN = "NV_MEDICAID_DELIVERER_UNKNOWN"

ANALYST = frozenset({"BCBA", "BCBA-D"})
UD_CREDENTIALS = frozenset({"BCABA", "RBT"})

_UNVERIFIED = " (Unverified: Nevada MSM chapter 3700 via a secondary summary.)"


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RENDERING,
            codes=(),
            description=(
                "ABA: every session is billed with the NPI of the provider who delivered it, "
                "never the supervising clinician." + _UNVERIFIED
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=SUPERVISING,
            codes=(),
            description=(
                "ABA: the case manager is the supervising provider of the claim line (left "
                "off when the CM delivered the session)." + _UNVERIFIED
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=MODIFIERS,
            codes=(),
            description=(
                "ABA lines delivered by a BCaBA or an RBT carry modifier UD." + _UNVERIFIED
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=ENROLLMENT,
            codes=(NOT_ENROLLED,),
            description=(
                "The provider who delivered an ABA session, and so renders it, must be "
                "enrolled with Nevada Medicaid on the date of service." + _UNVERIFIED
            ),
            applies_to_all_payors=False,
        ),
        RuleInfo(
            name=UNKNOWN,
            codes=(DELIVERER_UNKNOWN,),
            description=(
                "Asked about a date without one session, there is no deliverer to bill: the "
                "ABA rendering provider is left off, not guessed."
            ),
            applies_to_all_payors=False,
        ),
    ]


def _applies(check: SessionCheck) -> bool:
    return check.service_line == LINE


@hookimpl
def cmgraph_rendering_provider(check: SessionCheck) -> Choice | None:
    if not _applies(check):
        return None
    if check.appointment is None:
        return Choice(None)
    return Choice(check.appointment.provider_id)


@hookimpl
def cmgraph_supervising_provider(check: SessionCheck) -> Choice | None:
    if not _applies(check):
        return None
    return Choice(check.case_manager.provider_id if check.case_manager else None)


@hookimpl
def cmgraph_modifiers(check: SessionCheck) -> list[str] | None:
    if not _applies(check) or check.deliverer is None:
        return None
    held = check.deliverer.current_credentials(check.date_of_service)
    return ["UD"] if held & UD_CREDENTIALS and not held & ANALYST else []


def _finding(
    check: SessionCheck, code: str, rule: str, severity: Severity, message: str
) -> Finding:
    return check.finding(code, severity, message, rule=rule)


@hookimpl
def cmgraph_check_session(check: SessionCheck, payor: Payor, role: PayorRole) -> list[Finding]:
    # Who renders is the claim's payor's question: a secondary Nevada Medicaid says nothing.
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
                f"Nevada Medicaid bills the provider who delivered each ABA session, and no "
                f"single session names one on {day}; ask about one session (its claim line) "
                f"for its rendering provider.",
            )
        ]
    is_cm = check.case_manager is not None and check.case_manager.provider_id == deliverer.id
    if is_cm or check.deliverer_credentialed:
        return []
    return [
        _finding(
            check,
            NOT_ENROLLED,
            ENROLLMENT,
            Severity.ERROR,
            f"{deliverer.display_name} delivered this ABA session and must be billed as its "
            f"rendering provider, but is not enrolled with {payor.name} on {day}.",
        )
    ]
