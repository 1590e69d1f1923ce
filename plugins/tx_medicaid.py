"""Texas Medicaid autism services: the supervising analyst bills, modifiers say who delivered.

Source (PAYORS.md): Texas Medicaid Provider Procedures Manual (TMPPM) 2.3, Autism Services.
Unverified: taken from a secondary summary of the manual, not from the manual itself; the
rules below are implemented exactly as that summary states them.

Rules, all for sessions of the ABA service line only (other lines keep the core's defaults):

- ``tx_medicaid_rendering``: only the licensed behavior analyst enrolls and bills, so a
  session delivered by an assistant (BCaBA) or a technician (RBT/BT) renders under the
  supervising analyst, the case manager on the date of service. No supervising provider.
- ``tx_medicaid_modifiers``: the claim line's modifier says who delivered the session, by
  the deliverer's credentials current on the date of service: HO for an analyst (BCBA or
  BCBA-D), HN for an assistant (BCaBA), HM for a technician (RBT or BT). A deliverer holding
  several gets the highest level; one holding none of them gets no modifier.
- ``tx_medicaid_code_levels``: 97151 only with HO (``TX_MEDICAID_97151_REQUIRES_HO``);
  97155, 97156 and 97158 only with HO or HN (``TX_MEDICAID_CODE_REQUIRES_HO_OR_HN``).
  A deliverer without a modifier does not meet either.
- ``tx_medicaid_daily_limit``: at most 8 hours a day per client across 97153, 97154, 97155
  and 97158 (``TX_MEDICAID_DAILY_LIMIT``).
- ``tx_medicaid_telehealth``: telehealth only for 97151, 97155, 97156 and 97158
  (``TX_MEDICAID_TELEHEALTH_CODE``); a telehealth session without a service code is
  reported too, since nothing shows that it may be billed as telehealth.

All findings are errors: the line, or the units beyond the limit, would be denied.

Interpretations chosen:

- A session delivered by an analyst other than the CM (a substitute) also renders under the
  CM: DOMAIN.md's rule 1 (a substitute changes nothing) and the summary says nothing else.
- Daily limit: the day's ABA sessions with those codes are counted in order of start (then
  id), by real elapsed duration, leaving out no-shows (nothing delivered, nothing billed).
  The finding sits on the session that takes the running total past 8 hours and on every
  counted session after it, the ones whose units the payor would deny; the sessions within
  the limit stay clean. Scheduled sessions count, so scheduleAppointment warns ahead.
- Modifiers are decided by the primary payor on the date of service (the core's scoping of
  claim hooks); findings appear whenever Texas Medicaid is one of the client's active
  payors on the date (primary or secondary, the core's scoping of session checks).
"""

from __future__ import annotations

from datetime import timedelta

from cmgraph import hookimpl
from cmgraph.facts import (
    Appointment,
    AppointmentStatus,
    Choice,
    Clock,
    Finding,
    Provider,
    RuleInfo,
    SessionCheck,
    Severity,
)

LINE = "ABA"
UNVERIFIED = " (unverified: taken from a summary of TMPPM 2.3)"

# Highest level first: a deliverer holding several credentials gets the highest.
LEVELS = (
    ("HO", frozenset({"BCBA", "BCBA-D"})),
    ("HN", frozenset({"BCABA"})),
    ("HM", frozenset({"RBT", "BT"})),
)
HO_ONLY = frozenset({"97151"})
HO_OR_HN = frozenset({"97155", "97156", "97158"})
CAPPED = frozenset({"97153", "97154", "97155", "97158"})
DAILY_LIMIT = timedelta(hours=8)
TELEHEALTH_CODES = frozenset({"97151", "97155", "97156", "97158"})

RENDERING_RULE = "tx_medicaid_rendering"
MODIFIERS_RULE = "tx_medicaid_modifiers"
LEVELS_RULE = "tx_medicaid_code_levels"
LIMIT_RULE = "tx_medicaid_daily_limit"
TELEHEALTH_RULE = "tx_medicaid_telehealth"
REQUIRES_HO = "TX_MEDICAID_97151_REQUIRES_HO"
REQUIRES_HO_OR_HN = "TX_MEDICAID_CODE_REQUIRES_HO_OR_HN"
DAILY_LIMIT_CODE = "TX_MEDICAID_DAILY_LIMIT"
TELEHEALTH = "TX_MEDICAID_TELEHEALTH_CODE"


def _info(name: str, codes: tuple[str, ...], description: str) -> RuleInfo:
    return RuleInfo(
        name=name,
        codes=codes,
        description=description + UNVERIFIED + ".",
        applies_to_all_payors=False,
    )


@hookimpl
def cmgraph_rules() -> list[RuleInfo]:
    return [
        _info(
            RENDERING_RULE,
            (),
            "ABA sessions delivered by an assistant (BCaBA) or technician (RBT/BT) render "
            "under the supervising analyst, the case manager",
        ),
        _info(
            MODIFIERS_RULE,
            (),
            "ABA claim lines carry HO when an analyst (BCBA, BCBA-D) delivered, HN for an "
            "assistant (BCaBA), HM for a technician (RBT, BT)",
        ),
        _info(
            LEVELS_RULE,
            (REQUIRES_HO, REQUIRES_HO_OR_HN),
            "97151 only with HO; 97155, 97156 and 97158 only with HO or HN",
        ),
        _info(
            LIMIT_RULE,
            (DAILY_LIMIT_CODE,),
            "At most 8 hours a day per client across 97153, 97154, 97155 and 97158",
        ),
        _info(
            TELEHEALTH_RULE,
            (TELEHEALTH,),
            "Telehealth only for 97151, 97155, 97156 and 97158",
        ),
    ]


def _modifier(deliverer: Provider | None, check: SessionCheck) -> str | None:
    """The level modifier of who delivered the session, or None when they hold no level."""
    if deliverer is None:
        return None
    held = deliverer.current_credentials(check.date_of_service)
    return next((modifier for modifier, types in LEVELS if held & types), None)


@hookimpl
def cmgraph_rendering_provider(check: SessionCheck) -> Choice | None:
    if check.service_line != LINE:
        return None
    return Choice(check.case_manager.provider_id if check.case_manager else None)


@hookimpl
def cmgraph_modifiers(check: SessionCheck) -> list[str] | None:
    if check.service_line != LINE or check.appointment is None:
        return None
    modifier = _modifier(check.deliverer, check)
    return [modifier] if modifier else []


def _finding(check: SessionCheck, code: str, rule: str, message: str) -> Finding:
    return check.finding(code, Severity.ERROR, message, rule=rule)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"


def _counted(appointment: Appointment) -> bool:
    return (
        appointment.service_line == LINE
        and appointment.service_code in CAPPED
        and appointment.status is not AppointmentStatus.NO_SHOW
    )


def _over_limit(check: SessionCheck, appointment: Appointment) -> timedelta | None:
    """The day's counted total, when this session ends past the limit (else None).

    Sessions count in order of start (then id); this one is past the limit when the running
    total including it exceeds 8 hours.
    """
    if not _counted(appointment):
        return None
    others = [a for a in check.day_sessions if _counted(a) and a.id != appointment.id]
    day = sorted([*others, appointment], key=lambda a: (a.starts_at, str(a.id)))
    running = [Clock.elapsed(a.starts_at, a.ends_at) for a in day]
    upto = sum(running[: day.index(appointment) + 1], timedelta(0))
    return sum(running, timedelta(0)) if upto > DAILY_LIMIT else None


@hookimpl
def cmgraph_check_session(check: SessionCheck) -> list[Finding]:
    appointment = check.appointment
    if check.service_line != LINE or appointment is None:
        return []
    code, day = appointment.service_code, check.date_of_service.isoformat()
    modifier = _modifier(check.deliverer, check)
    who = check.deliverer.display_name if check.deliverer else "the provider who delivered it"
    level = f"{modifier} ({who})" if modifier else f"no level modifier ({who})"
    found = []
    if code in HO_ONLY and modifier != "HO":
        found.append(
            _finding(
                check,
                REQUIRES_HO,
                LEVELS_RULE,
                f"97151 on {day} is billable to Texas Medicaid only with HO (delivered by an "
                f"analyst), but this session carries {level}.",
            )
        )
    if code in HO_OR_HN and modifier not in ("HO", "HN"):
        found.append(
            _finding(
                check,
                REQUIRES_HO_OR_HN,
                LEVELS_RULE,
                f"{code} on {day} is billable to Texas Medicaid only with HO or HN (delivered "
                f"by an analyst or assistant), but this session carries {level}.",
            )
        )
    total = _over_limit(check, appointment)
    if total is not None:
        found.append(
            _finding(
                check,
                DAILY_LIMIT_CODE,
                LIMIT_RULE,
                f"The client's 97153, 97154, 97155 and 97158 sessions on {day} total "
                f"{_hours(total)}, and this {code} session runs past Texas Medicaid's limit of "
                "8 hours a day.",
            )
        )
    if appointment.telehealth and code not in TELEHEALTH_CODES:
        what = code or "a session without a service code"
        found.append(
            _finding(
                check,
                TELEHEALTH,
                TELEHEALTH_RULE,
                f"{what} on {day} was delivered by telehealth, which Texas Medicaid allows "
                "only for 97151, 97155, 97156 and 97158.",
            )
        )
    return found
