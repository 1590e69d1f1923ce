"""Rule 3: the case manager must be clinically responsible for the line.

The provider must hold, on the assignment's start date, a credential that qualifies for the
service line (an expired one does not count). In hindsight, as rule 2 does for enrollments,
the CM must also hold one on every date of service: a licence that lapses (or is not yet
issued) while the assignment is open makes each session of such a date a finding, because
its claim would name a provider without a current licence. The built-in service lines and
their default qualifying credentials live here; payor plugins narrow or widen the list.
"""

from __future__ import annotations

from datetime import date

from cmgraph import hookimpl
from cmgraph.facts import (
    AssignmentCheck,
    DecidedBy,
    Field,
    Finding,
    Narrowing,
    Payor,
    RuleInfo,
    ServiceLine,
    SessionCheck,
    Severity,
)
from cmgraph.rules._finding import FindingFactory

RULE = "qualification"
CODE = "DISCIPLINE_MISMATCH"
INACTIVE = "PROVIDER_INACTIVE"
finding = FindingFactory(RULE)

SERVICE_LINES = (
    ServiceLine("ABA", "Applied behavior analysis", frozenset({"BCBA", "BCBA-D"})),
    ServiceLine("ST", "Speech therapy", frozenset({"SLP"})),
    ServiceLine("OT", "Occupational therapy", frozenset({"OTR"})),
    ServiceLine("PT", "Physical therapy", frozenset({"PT"})),
    ServiceLine("MH", "Mental health", frozenset({"LPC", "LCSW", "LMFT", "PSYCHOLOGIST"})),
)
_DEFAULTS = {line.code: line.qualifying_credentials for line in SERVICE_LINES}


@hookimpl(trylast=True)
def cmgraph_rules() -> list[RuleInfo]:
    return [
        RuleInfo(
            name=RULE,
            codes=(CODE, INACTIVE),
            description=(
                "The case manager must be an active provider holding a current credential "
                "that qualifies for the service line on the assignment's start date and on "
                "every date of service."
            ),
        )
    ]


@hookimpl(trylast=True)
def cmgraph_service_lines() -> list[ServiceLine]:
    return list(SERVICE_LINES)


@hookimpl(trylast=True)
def cmgraph_qualifying_credentials(service_line: str, payor: Payor | None) -> frozenset[str] | None:
    # A line a plugin adds keeps the credentials it was declared with (None: the core's
    # fallback to the line's declaration).
    return _DEFAULTS.get(service_line)


@hookimpl(trylast=True)
def cmgraph_check_assignment(check: AssignmentCheck) -> list[Finding]:
    provider, assignment = check.provider, check.assignment
    where = {
        "field": Field.PROVIDER,
        "client_id": assignment.client_id,
        "service_line": assignment.service_line,
        "date": assignment.start_date,
    }
    found = []
    if not provider.active:
        found.append(
            finding(INACTIVE, Severity.ERROR, f"{provider.display_name} is inactive.", **where)
        )
    held = provider.current_credentials(assignment.start_date)
    if not held & check.qualifying_credentials:
        found.append(
            finding.by(_narrowed_by(check.qualifying_narrowed_by, held))(
                CODE,
                Severity.ERROR,
                _unqualified(
                    provider.display_name,
                    assignment.service_line,
                    assignment.start_date,
                    check.qualifying_credentials,
                ),
                **where,
            )
        )
    return found


@hookimpl(trylast=True)
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    # Only the licence on the date of service is judged here; whether the provider is still
    # active is a matter of the write (PROVIDER_INACTIVE), not of past sessions' claims.
    provider = check.case_manager_provider
    if check.case_manager is None or provider is None:
        return []  # no CM: rule 6 (NO_CASE_MANAGER) says so
    day = check.date_of_service
    held = provider.current_credentials(day)
    if held & check.qualifying_credentials:
        return []
    message = _unqualified(
        f"The case manager {provider.display_name}",
        check.service_line,
        day,
        check.qualifying_credentials,
    )
    where = {
        "client_id": check.client_id,
        "service_line": check.service_line,
        "appointment_id": check.appointment.id if check.appointment else None,
        "date": day,
    }
    by = _narrowed_by(check.qualifying_narrowed_by, held)
    return [finding.by(by)(CODE, Severity.ERROR, message, **where)]


def _narrowed_by(narrowings: tuple[Narrowing, ...], held: frozenset[str]) -> DecidedBy | None:
    """The first payor plugin whose narrowing left out a credential the provider holds: its
    answer, not the default, is what refuses them (None: the default does too)."""
    return next((n.by for n in narrowings if n.left_out & held), None)


def _unqualified(who: str, service_line: str, day: date, wanted: frozenset[str]) -> str:
    listed = ", ".join(sorted(wanted)) or "none configured"
    return (
        f"{who} holds no current credential qualifying for {service_line} on "
        f"{day.isoformat()} (qualifying: {listed})."
    )
