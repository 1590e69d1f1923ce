"""Small builders of rule facts, so each unit test of a rule or plugin states only what its
rule looks at (``from cmgraph.testing import builders as b``; ``b.session_check(book, ...)``
with the ``cmgraph_book`` fixture).

The check builders gather the facts the way the core does: the client's payors on the date in
question, the lead time and qualifying credentials decided through the RuleBook (strictest
across payors), and whether the provider counts as credentialed with each payor on that date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

from cmgraph.facts import (
    Appointment,
    AppointmentStatus,
    Assignment,
    AssignmentCheck,
    Clock,
    Coverage,
    Credential,
    CurrentAssignmentCheck,
    Enrollment,
    EnrollmentStatus,
    Finding,
    Payor,
    PayorKind,
    Payors,
    Provider,
    RemovalCheck,
    SessionCheck,
)
from cmgraph.plugins import RuleBook
from cmgraph.rules import lead_time as lead_time_rule

NEW_YORK = Clock("America/New_York")
KOLKATA = Clock("Asia/Kolkata")
AUCKLAND = Clock("Pacific/Auckland")
CLIENT_ID = UUID("00000000-0000-4000-8000-0000000000c1")
LONG_AGO = date(2020, 1, 1)


def at(text: str) -> datetime:
    """An aware instant from ISO 8601 text with its offset, e.g. ``2026-03-08T09:00-05:00``."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return instant


def d(text: str) -> date:
    return date.fromisoformat(text)


def credential(
    kind: str, *, issued_on: date | None = None, expires_on: date | None = None
) -> Credential:
    return Credential(
        type=kind, number="X-1", state="NY", issued_on=issued_on, expires_on=expires_on
    )


def provider(
    *credentials: str | Credential, name: str = "Casey Manager", active: bool = True
) -> Provider:
    """A provider holding the given credentials (a bare type never expires)."""
    held = tuple(c if isinstance(c, Credential) else credential(c) for c in credentials)
    return Provider(
        id=uuid4(), display_name=name, npi="1234567893", active=active, credentials=held
    )


def bcba(name: str = "Casey Manager") -> Provider:
    """A provider qualified for ABA with no expiry: the quiet default for other rules' tests."""
    return provider("BCBA", name=name)


def payor(name: str = "Acme Health", *, plugins: Iterable[str] = ()) -> Payor:
    return Payor(id=uuid4(), name=name, kind=PayorKind.COMMERCIAL, plugins=tuple(plugins))


def coverage(
    of: Payor,
    priority: int = 1,
    effective_from: date = LONG_AGO,
    effective_to: date | None = None,
) -> Coverage:
    return Coverage(
        payor=of, priority=priority, effective_from=effective_from, effective_to=effective_to
    )


def enrollment(
    who: Provider,
    with_payor: Payor,
    status: EnrollmentStatus = EnrollmentStatus.ENROLLED,
    effective_from: date | None = LONG_AGO,
    effective_to: date | None = None,
) -> Enrollment:
    return Enrollment(
        provider_id=who.id,
        payor_id=with_payor.id,
        status=status,
        effective_from=effective_from,
        effective_to=effective_to,
    )


def appointment(
    starts_at: str | datetime,
    *,
    by: Provider | UUID | None = None,
    status: AppointmentStatus = AppointmentStatus.COMPLETED,
    service_line: str = "ABA",
    client_id: UUID = CLIENT_ID,
    minutes: int = 60,
    service_code: str | None = None,
    telehealth: bool = False,
) -> Appointment:
    """A session delivered by `by` (someone else, a substitute, when not given)."""
    start = at(starts_at) if isinstance(starts_at, str) else starts_at
    delivered_by = by.id if isinstance(by, Provider) else (by or uuid4())
    return Appointment(
        id=uuid4(),
        client_id=client_id,
        service_line=service_line,
        provider_id=delivered_by,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        status=status,
        service_code=service_code,
        telehealth=telehealth,
    )


def assignment(
    cm: Provider | UUID,
    start: date | str,
    end: date | str | None = None,
    *,
    service_line: str = "ABA",
    client_id: UUID = CLIENT_ID,
    saved: bool = True,
    assignment_id: UUID | None = None,
) -> Assignment:
    """An assignment of `cm`; ``saved=False`` makes a proposed one (id None)."""
    return Assignment(
        id=assignment_id if assignment_id is not None else (uuid4() if saved else None),
        client_id=client_id,
        service_line=service_line,
        provider_id=cm.id if isinstance(cm, Provider) else cm,
        start_date=d(start) if isinstance(start, str) else start,
        end_date=d(end) if isinstance(end, str) else end,
    )


def assignment_check(
    book: RuleBook,
    proposed: Assignment,
    cm: Provider,
    *,
    coverages: Iterable[Coverage] = (),
    enrollments: Iterable[Enrollment] = (),
    appointments: Iterable[Appointment] = (),
    others: Iterable[Assignment] = (),
    clock: Clock = NEW_YORK,
    lead_time: timedelta | None = None,
) -> AssignmentCheck:
    """The facts of checking `proposed` (of provider `cm`), decided on its start date."""
    assert proposed.provider_id == cm.id, "the assignment must be the provider's"
    day = proposed.start_date
    payors = Payors.on(tuple(coverages), day)
    enrollments = tuple(enrollments)
    lead, lead_by = book.lead_time_decision(proposed.service_line, payors)
    qualifying, narrowed_by = book.qualifying_decision(proposed.service_line, payors)
    return AssignmentCheck(
        assignment=proposed,
        clock=clock,
        provider=cm,
        payors=payors,
        enrollments=enrollments,
        appointments=tuple(appointments),
        assignments=tuple(others),
        lead_time=lead if lead_time is None else lead_time,
        lead_time_by=lead_by if lead_time is None else None,
        qualifying_credentials=qualifying,
        qualifying_narrowed_by=narrowed_by,
        credentialed=book.credentialed_with(enrollments, cm.id, payors, day),
    )


def session_check(
    book: RuleBook,
    session: Appointment | None,
    case_manager: Assignment | None,
    *,
    coverages: Iterable[Coverage] = (),
    enrollments: Iterable[Enrollment] = (),
    appointments: Iterable[Appointment] | None = None,
    first_covered: bool | None = None,
    clock: Clock = NEW_YORK,
    day: date | None = None,
    service_line: str = "ABA",
    client_id: UUID = CLIENT_ID,
    cm: Provider | None = None,
    deliverer: Provider | None = None,
) -> SessionCheck:
    """The facts of one session (or of a date billing asks about, when `session` is None).

    `first_covered` is worked out from `appointments` (default: the session alone) unless
    given; the CM's credentialing and the qualifying credentials are decided on the date of
    service. `cm` is the case manager's provider, with their credentials (None: not given,
    and rule 3 has nothing to judge). `deliverer` is the provider who delivered the session
    (for the claim-line hooks); default `cm` when the session is theirs; whether they count
    as enrolled with the primary payor is decided as the core does.
    """
    if session is not None:
        day = clock.date_of(session.starts_at)
        client_id, service_line = session.client_id, session.service_line
    assert day is not None, "a date of service is needed when no session is named"
    payors = Payors.on(tuple(coverages), day)
    enrollments = tuple(enrollments)
    if first_covered is None:
        if appointments is None:
            appointments = () if session is None else (session,)
        pool = tuple(appointments)
        first = lead_time_rule.first_covered(case_manager, clock, pool) if case_manager else None
        first_covered = session is not None and first is not None and first.id == session.id
    credentialed = (
        book.credentialed_with(tuple(enrollments), case_manager.provider_id, payors, day)
        if case_manager
        else {}
    )
    lead, lead_by = book.lead_time_decision(service_line, payors)
    qualifying, narrowed_by = book.qualifying_decision(service_line, payors)
    if deliverer is None and cm is not None and session is not None:
        deliverer = cm if session.provider_id == cm.id else None
    deliverer_credentialed = bool(
        deliverer
        and payors.primary
        and book.credentialed(tuple(enrollments), deliverer.id, payors.primary, day, service_line)
    )
    return SessionCheck(
        client_id=client_id,
        service_line=service_line,
        date_of_service=day,
        clock=clock,
        payors=payors,
        case_manager=case_manager,
        appointment=session,
        first_covered=first_covered,
        lead_time=lead,
        lead_time_by=lead_by,
        credentialed=credentialed,
        case_manager_provider=cm,
        qualifying_credentials=qualifying,
        qualifying_narrowed_by=narrowed_by,
        deliverer=deliverer,
        deliverer_credentialed=deliverer_credentialed,
    )


def removal_check(
    original: Assignment,
    replacement: Assignment | None = None,
    *,
    appointments: Iterable[Appointment] = (),
    clock: Clock = NEW_YORK,
) -> RemovalCheck:
    return RemovalCheck(
        assignment=original,
        replacement=replacement,
        clock=clock,
        appointments=tuple(appointments),
    )


def current_check(
    book: RuleBook,
    current: Assignment,
    cm: Provider,
    today: date | str,
    *,
    coverages: Iterable[Coverage] = (),
    enrollments: Iterable[Enrollment] = (),
) -> CurrentAssignmentCheck:
    """The facts of an assignment covering `today`, gathered as the core does."""
    day = d(today) if isinstance(today, str) else today
    payors = Payors.on(tuple(coverages), day)
    wanted = book.qualifying_credentials(current.service_line, payors)
    payor_ids = {p.id for p in payors.all}
    return CurrentAssignmentCheck(
        assignment=current,
        today=day,
        provider=cm,
        payors=payors,
        qualifying=tuple(c for c in cm.credentials if c.type.upper() in wanted),
        enrollments=tuple(
            e for e in enrollments if e.provider_id == cm.id and e.payor_id in payor_ids
        ),
        windows=book.expiry_windows(payors),
    )


def codes(findings: Iterable[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def only(findings: Iterable[Finding], code: str) -> list[Finding]:
    """The findings with this code."""
    return [f for f in findings if f.code == code]
