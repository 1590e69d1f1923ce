"""The demo practice's builder: plans clients, case managers and a schedule for one `today`
from a seeded random generator, then turns the plans into ORM rows (nothing is written here)."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stdnum import luhn

from cmgraph.db.models import (
    Appointment,
    Assignment,
    Client,
    Coverage,
    Credential,
    Enrollment,
    Payor,
    Provider,
)
from cmgraph.demo.catalog import (
    ABA_SERVICE_CODES,
    AGES,
    CLIENT_NAMES,
    CLOSES,
    COVERAGE_CHANGE_DAYS_AGO,
    CREDENTIAL_NUMBERS,
    EXPIRED,
    EXPIRED_DAYS_AGO,
    FIRST_EXTERNAL_ID,
    LEFT,
    LEFT_DAYS_AGO,
    LINE_WEIGHTS,
    MINUTES,
    NEW_CLIENT_SHARE,
    OPENS,
    PAST_STATUSES,
    PAST_WEIGHTS,
    PAYOR_SPECS,
    PAYORS,
    PENDING,
    PRIMARY_WEIGHTS,
    PROVIDERS,
    QUALIFYING,
    REBALANCED_DAYS_AGO,
    SECOND_LINE_SHARE,
    SECONDARY_SHARE,
    SEED,
    SERVICE_CODES,
    SESSIONS_PER_WEEK,
    STATE,
    SUBSTITUTES,
    TECHNICIANS,
    TERMINATED,
    TERMINATED_DAYS_AGO,
    TIMEZONE,
    WEEKS_AFTER,
    WEEKS_BEFORE,
    ProviderSpec,
)
from cmgraph.demo.plans import Booking, ClientPlan, CoveragePlan, Helper, LinePlan, Scenario, Stint
from cmgraph.facts import AppointmentStatus, EnrollmentStatus


class _Calendar:
    """Busy periods (minutes after midnight) per client or provider and day."""

    def __init__(self) -> None:
        self.busy: defaultdict[tuple[object, date], list[tuple[int, int]]] = defaultdict(list)

    def free(self, who: object, day: date, begin: int, minutes: int) -> bool:
        return all(begin + minutes <= b or e <= begin for b, e in self.busy[(who, day)])

    def book(self, who: object, day: date, begin: int, minutes: int) -> None:
        self.busy[(who, day)].append((begin, begin + minutes))


def _next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- The builder ------------------------------------------------------------------------------


class Practice:
    """Plans the demo practice for one `today`, then turns the plans into ORM rows."""

    def __init__(self, organization_id: uuid.UUID, today: date) -> None:
        self.rng = random.Random(SEED)
        self.org = organization_id
        self.today = today
        self.zone = ZoneInfo(TIMEZONE)
        self.window_start = today - timedelta(weeks=WEEKS_BEFORE)
        self.window_end = today + timedelta(weeks=WEEKS_AFTER)  # exclusive
        self.specs = {spec.key: spec for spec in PROVIDERS}
        self.provider_ids = {spec.key: uuid.uuid4() for spec in PROVIDERS}
        self.payor_ids = {spec.key: uuid.uuid4() for spec in PAYORS}
        self.credentials = {spec.key: self._credential(spec) for spec in PROVIDERS}
        self.enrollments = {
            (p.key, payor.key): self._enrollment(p.key, payor.key)
            for p in PROVIDERS
            for payor in PAYORS
        }
        self.caseload: Counter[str] = Counter()
        self.tech_load: Counter[str] = Counter()

    def ago(self, days: int) -> date:
        return self.today - timedelta(days=days)

    # Providers, credentials, enrollments ----------------------------------------------------

    def _credential(self, spec: ProviderSpec) -> Credential:
        issued = self.ago(self.rng.randint(400, 3000))
        if spec.key == EXPIRED:
            expires = self.ago(EXPIRED_DAYS_AGO)
        else:
            expires = self.today + timedelta(days=self.rng.randint(150, 700))
        number = CREDENTIAL_NUMBERS[spec.credential].format(
            yy=f"{issued.year % 100:02d}", n=self.rng.randint(1000, 99999)
        )
        return Credential(
            organization_id=self.org,
            provider_id=self.provider_ids[spec.key],
            type=spec.credential.upper(),  # as the API stores it (services.providers)
            number=number,
            state=STATE,
            issued_on=issued,
            expires_on=expires,
        )

    def _enrollment(self, provider: str, payor: str) -> Enrollment:
        status = EnrollmentStatus.ENROLLED
        start: date | None = self.ago(365 + self.rng.randint(0, 700))  # a year or more back
        end: date | None = None
        if (provider, payor) in PENDING:
            status, start = EnrollmentStatus.PENDING, None
        elif (provider, payor) == TERMINATED:
            status, end = EnrollmentStatus.TERMINATED, self.ago(TERMINATED_DAYS_AGO)
        elif provider == LEFT:
            end = self.ago(LEFT_DAYS_AGO)  # credentialing ended with her last day
        return Enrollment(
            organization_id=self.org,
            provider_id=self.provider_ids[provider],
            payor_id=self.payor_ids[payor],
            status=status.value,
            effective_from=start,
            effective_to=end,
        )

    def _npis(self) -> dict[str, str]:
        npis: dict[str, str] = {}
        for spec in PROVIDERS:
            while True:
                base = "1" + "".join(str(self.rng.randint(0, 9)) for _ in range(8))
                # The NPI check digit is a Luhn digit over the prefix 80840 and the 9 digits.
                npi = base + luhn.calc_check_digit("80840" + base)
                if npi not in npis.values():
                    npis[spec.key] = npi
                    break
        return npis

    # Who may be case manager ----------------------------------------------------------------

    def qualified(self, provider: str, code: str, start: date) -> bool:
        """Active, with a qualifying credential current from start to the window's end."""
        credential = self.credentials[provider]
        return (
            self.specs[provider].active
            and credential.type in QUALIFYING[code]
            and credential.issued_on is not None
            and credential.issued_on <= start
            and credential.expires_on is not None
            and credential.expires_on >= self.window_end
        )

    def solidly_enrolled(self, provider: str, payor: str, start: date) -> bool:
        """Enrolled, open-ended, since on or before start: credentialed on every later date."""
        enrollment = self.enrollments[(provider, payor)]
        return (
            enrollment.status == EnrollmentStatus.ENROLLED.value
            and enrollment.effective_from is not None
            and enrollment.effective_from <= start
            and enrollment.effective_to is None
        )

    def eligible(
        self, provider: str, code: str, start: date, coverages: list[CoveragePlan]
    ) -> bool:
        """A CM from start on raises no finding: qualified, credentialed with every payor."""
        payors = {c.payor for c in coverages if c.effective_to is None or c.effective_to >= start}
        return self.qualified(provider, code, start) and all(
            self.solidly_enrolled(provider, payor, start) for payor in payors
        )

    def choose_cm(self, code: str, start: date, coverages: list[CoveragePlan]) -> str:
        """The least-loaded eligible provider."""
        candidates = [p.key for p in PROVIDERS if self.eligible(p.key, code, start, coverages)]
        if not candidates:
            raise RuntimeError(f"demo data: nobody can manage {code} from {start}")
        chosen = min(candidates, key=lambda key: (self.caseload[key], self.rng.random()))
        self.caseload[chosen] += 1
        return chosen

    def choose_technician(self) -> str:
        chosen = min(TECHNICIANS, key=lambda key: (self.tech_load[key], self.rng.random()))
        self.tech_load[chosen] += 1
        return chosen

    # Clients ------------------------------------------------------------------------------

    def member_id(self, payor: str) -> str:
        spec = PAYOR_SPECS[payor]
        return spec.member_id.format(n=self.rng.randint(0, 10**8 - 1))

    def coverages(self, since: date) -> list[CoveragePlan]:
        primary = _weighted(self.rng, PRIMARY_WEIGHTS)
        plans = [CoveragePlan(primary, 1, since)]
        if primary != "medicaid" and self.rng.random() < SECONDARY_SHARE:
            plans.append(
                CoveragePlan("medicaid", 2, since + timedelta(days=self.rng.randint(0, 60)))
            )
        return plans

    def line(
        self,
        code: str,
        start: date,
        coverages: list[CoveragePlan],
        sessions_from: date | None = None,
        first_at: int | None = None,
    ) -> LinePlan:
        """A line with a chosen case manager from start (open-ended)."""
        stint = Stint(self.choose_cm(code, start, coverages), start)
        return LinePlan(code, [stint], sessions_from or self.window_start, first_at=first_at)

    def technician_for(self, line: LinePlan) -> None:
        if line.code == "ABA":
            line.technician = self.choose_technician()

    def regular(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        codes = [_weighted(self.rng, LINE_WEIGHTS)]
        if self.rng.random() < SECOND_LINE_SHARE:
            rest = {code: w for code, w in LINE_WEIGHTS.items() if code not in codes}
            codes.append(_weighted(self.rng, rest))
        if self.rng.random() < NEW_CLIENT_SHARE:
            # A new client: sessions begin inside the window, the CM is named days ahead.
            sessions_from = _next_weekday(self.today + timedelta(days=self.rng.randint(-20, 12)))
            starts = [sessions_from - timedelta(days=self.rng.randint(3, 10)) for _ in codes]
        else:
            sessions_from = self.window_start
            starts = sorted((self.ago(self.rng.randint(45, 330)) for _ in codes), reverse=True)
        coverages = self.coverages(min(starts) - timedelta(days=self.rng.randint(30, 400)))
        lines = [
            self.line(code, start, coverages, sessions_from)
            for code, start in zip(codes, starts, strict=True)
        ]
        return coverages, lines

    # The deliberate scenarios (cmgraph.demo's docstring) -------------------------------------

    def scenarios(self) -> dict[str, Scenario]:
        return {
            "EHR-1002": self.expired_bcba_client,
            "EHR-1004": self.terminated_enrollment,
            "EHR-1007": self.rebalanced,
            "EHR-1009": self.coverage_change,
            "EHR-1011": self.left_practice,
            "EHR-1012": self.expired_bcba_client,
            "EHR-1015": self.rebalanced,
            "EHR-1017": self.ot_without_cm,
            "EHR-1020": self.left_practice,
            "EHR-1023": self.new_speech_client_without_cm,
            "EHR-1026": self.expired_bcba_client,
            "EHR-1031": self.late_case_manager,
        }

    def handover(
        self, code: str, old: str, new: str | None, changed: date, note: str
    ) -> tuple[list[CoveragePlan], LinePlan]:
        """A line whose CM `old` handed over to `new` (None: chosen) on `changed`."""
        start = self.ago(self.rng.randint(120, 330))
        coverages = self.coverages(start - timedelta(days=self.rng.randint(30, 400)))
        if new is None:
            new = self.choose_cm(code, changed, coverages)
        else:
            assert self.eligible(new, code, changed, coverages), new
            self.caseload[new] += 1
        stints = [Stint(old, start, changed - timedelta(days=1)), Stint(new, changed, note=note)]
        return coverages, LinePlan(code, stints, self.window_start)

    def expired_bcba_client(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        changed = self.ago(EXPIRED_DAYS_AGO - 1)
        note = "Sofia Alvarez's BCBA certification lapsed; reassigned."
        coverages, line = self.handover("ABA", EXPIRED, None, changed, note)
        return coverages, [line]

    def rebalanced(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        changed = self.ago(REBALANCED_DAYS_AGO)
        note = "Caseload rebalanced: Dr. Okafor hands over to Hannah Lindqvist."
        coverages, line = self.handover("ABA", "okafor", "lindqvist", changed, note)
        # Hannah worked with the client for three weeks before taking over (familiarity).
        line.helper = Helper("lindqvist", changed - timedelta(days=21), 0.4)
        return coverages, [line]

    def left_practice(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        changed = self.ago(LEFT_DAYS_AGO - 1)
        note = "Jenna Whitfield left the practice."
        coverages, line = self.handover("OT", LEFT, "castillo", changed, note)
        return coverages, [line]

    def terminated_enrollment(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        coverages = [CoveragePlan("bcbs", 1, self.ago(520))]
        # Chosen by hand: choose_cm would (rightly) skip Reed for a BCBS client today.
        self.caseload["reed"] += 1
        return coverages, [LinePlan("ABA", [Stint("reed", self.ago(200))], self.window_start)]

    def coverage_change(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        switched = self.ago(COVERAGE_CHANGE_DAYS_AGO)
        coverages = [
            CoveragePlan("bcbs", 1, self.ago(600), switched - timedelta(days=1)),
            CoveragePlan("tricare", 1, switched),
        ]
        # Hartley was credentialed with BCBS when named; TRICARE is still pending for her.
        self.caseload["hartley"] += 1
        speech = LinePlan("ST", [Stint("hartley", self.ago(180))], self.window_start)
        speech.helper = Helper("ramirez", self.window_start, 0.35)
        return coverages, [speech, self.line("OT", self.ago(150), coverages)]

    def ot_without_cm(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        coverages, lines = self.regular_aba()
        ot = LinePlan("OT", [], _next_weekday(self.ago(14)), therapist="castillo")
        return coverages, [*lines, ot]

    def regular_aba(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        start = self.ago(self.rng.randint(60, 300))
        coverages = self.coverages(start - timedelta(days=self.rng.randint(30, 400)))
        return coverages, [self.line("ABA", start, coverages)]

    def new_speech_client_without_cm(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        first = _next_weekday(self.ago(5))
        coverages = [CoveragePlan("medicaid", 1, self.ago(90))]
        speech = LinePlan("ST", [], first, therapist="ramirez", first_at=10 * 60)
        return coverages, [speech]

    def late_case_manager(self) -> tuple[list[CoveragePlan], list[LinePlan]]:
        first = _next_weekday(self.ago(9))
        coverages = [CoveragePlan("medicaid", 1, self.ago(60))]
        # Starts the day of the first session (09:00): under 24 h of lead time. The API
        # refuses this; the demo writes the row directly to have a LEAD_TIME finding.
        line = self.line("ABA", first, coverages, first, first_at=9 * 60)
        line.stints[0].note = "Named on the day of the intake session."
        return coverages, [line]

    def clients(self) -> list[ClientPlan]:
        scenarios = self.scenarios()
        plans = []
        for index, (first_name, last_name) in enumerate(CLIENT_NAMES):
            external_id = f"EHR-{FIRST_EXTERNAL_ID + index}"
            coverages, lines = scenarios.get(external_id, self.regular)()
            for line in lines:
                self.technician_for(line)
            youngest, oldest = AGES[lines[0].code]
            age_days = self.rng.randint(youngest * 365, oldest * 365 + 364)
            plans.append(
                ClientPlan(
                    first_name,
                    last_name,
                    external_id,
                    self.today - timedelta(days=age_days),
                    coverages,
                    lines,
                )
            )
        return plans

    # Appointments ---------------------------------------------------------------------------

    def schedule(self, clients: list[ClientPlan]) -> list[Booking]:
        calendar = _Calendar()
        bookings: list[Booking] = []
        # Forced first sessions go first, so that nothing else takes their slot.
        for client in clients:
            for line in client.lines:
                if line.first_at is not None:
                    main = line.case_manager(line.sessions_from) or line.therapist
                    assert main is not None
                    minutes = self.rng.choice(MINUTES[line.code])
                    slots = [line.first_at, *self.slots(minutes, 12)]
                    bookings += self.place(
                        calendar, client, line, line.sessions_from, [main], slots, minutes
                    )
        for client in clients:
            for line in client.lines:
                bookings += self.recurring(calendar, client, line)
        return bookings

    def slots(self, minutes: int, count: int) -> list[int]:
        return [self.rng.randrange(OPENS, CLOSES - minutes + 1, 30) for _ in range(count)]

    def recurring(
        self,
        calendar: _Calendar,
        client: ClientPlan,
        line: LinePlan,
    ) -> list[Booking]:
        """1-3 sessions a week on the line's usual weekdays and time."""
        low, high = SESSIONS_PER_WEEK[line.code]
        weekdays = set(self.rng.sample(range(5), self.rng.randint(low, high)))
        minutes = self.rng.choice(MINUTES[line.code])
        usual = self.rng.randrange(OPENS, CLOSES - minutes + 1, 30)
        # No session on a CM's first day: the start date must be 24 h ahead of the session.
        skip = {stint.start for stint in line.stints}
        if line.first_at is not None:
            skip.add(line.sessions_from)  # already has its forced session
        bookings: list[Booking] = []
        day = max(line.sessions_from, self.window_start)
        while day < self.window_end:
            if day.weekday() in weekdays and day not in skip:
                slots = [usual, *self.slots(minutes, 11)]
                deliverers = self.deliverers(line, day)
                placed = self.place(calendar, client, line, day, deliverers, slots, minutes)
                if line.helper and any(self.helped(line.helper, b) for b in placed):
                    line.helper.completed += 1
                bookings += placed
            day += timedelta(days=1)
        return bookings

    @staticmethod
    def helped(helper: Helper, booking: Booking) -> bool:
        return booking.provider == helper.provider and (
            booking.status is AppointmentStatus.COMPLETED
        )

    def deliverers(self, line: LinePlan, day: date) -> list[str]:
        """Who delivers the session, in order of preference."""
        main = line.case_manager(day) or line.therapist
        assert main is not None
        others = [key for key in SUBSTITUTES.get(line.code, ()) if key != main]
        roll = self.rng.random()
        helper = line.helper
        if helper and day >= helper.since and (roll < helper.share or not helper.completed):
            first = helper.provider
        elif line.technician:
            # ABA: mostly the client's own technician, the BCBA for supervision sessions.
            spare = [key for key in TECHNICIANS if key != line.technician]
            first = (
                line.technician if roll < 0.55 else main if roll < 0.85 else self.rng.choice(spare)
            )
        else:
            first = main if roll < 0.85 or not others else self.rng.choice(others)
        order = [first, main, *([line.technician] if line.technician else [])]
        return list(dict.fromkeys(order))

    def place(
        self,
        calendar: _Calendar,
        client: ClientPlan,
        line: LinePlan,
        day: date,
        deliverers: list[str],
        slots: list[int],
        minutes: int,
    ) -> list[Booking]:
        """Book the first slot where the client and one of the deliverers are free."""
        for begin in slots:
            if not calendar.free(client.id, day, begin, minutes):
                continue
            for provider in deliverers:
                if calendar.free(provider, day, begin, minutes):
                    calendar.book(client.id, day, begin, minutes)
                    calendar.book(provider, day, begin, minutes)
                    return [self.booking(client, line, provider, day, begin, minutes)]
        return []  # a fully booked day: the session simply is not scheduled

    def booking(
        self, client: ClientPlan, line: LinePlan, provider: str, day: date, begin: int, minutes: int
    ) -> Booking:
        starts = datetime.combine(day, time(begin // 60, begin % 60), tzinfo=self.zone)
        if day >= self.today:
            status = AppointmentStatus.SCHEDULED
        elif line.first_at is not None and day == line.sessions_from:
            status = AppointmentStatus.COMPLETED  # the intake session took place
        else:
            status = self.rng.choices(PAST_STATUSES, weights=PAST_WEIGHTS)[0]
        return Booking(
            client, line.code, provider, starts, starts + timedelta(minutes=minutes), status
        )

    # Rows -------------------------------------------------------------------------------------

    def provider_rows(self) -> list[Provider]:
        npis = self._npis()
        return [
            Provider(
                organization_id=self.org,
                id=self.provider_ids[spec.key],
                first_name=spec.first_name,
                last_name=spec.last_name,
                npi=npis[spec.key],
                active=spec.active,
            )
            for spec in PROVIDERS
        ]

    def payor_rows(self) -> list[Payor]:
        return [
            Payor(
                organization_id=self.org,
                id=self.payor_ids[spec.key],
                name=spec.name,
                payer_id=spec.payer_id,
                kind=spec.kind.value,
                plugins=list(spec.plugins),
            )
            for spec in PAYORS
        ]

    def client_rows(self, clients: list[ClientPlan]) -> list[Client]:
        return [
            Client(
                organization_id=self.org,
                id=plan.id,
                first_name=plan.first_name,
                last_name=plan.last_name,
                date_of_birth=plan.date_of_birth,
                external_id=plan.external_id,
            )
            for plan in clients
        ]

    def coverage_rows(self, clients: list[ClientPlan]) -> list[Coverage]:
        return [
            Coverage(
                organization_id=self.org,
                client_id=plan.id,
                payor_id=self.payor_ids[coverage.payor],
                member_id=self.member_id(coverage.payor),
                priority=coverage.priority,
                effective_from=coverage.effective_from,
                effective_to=coverage.effective_to,
            )
            for plan in clients
            for coverage in plan.coverages
        ]

    def assignment_rows(self, clients: list[ClientPlan]) -> list[Assignment]:
        return [
            Assignment(
                organization_id=self.org,
                id=uuid.uuid4(),
                client_id=plan.id,
                service_line=line.code,
                provider_id=self.provider_ids[stint.provider],
                start_date=stint.start,
                end_date=stint.end,
                note=stint.note,
            )
            for plan in clients
            for line in plan.lines
            for stint in line.stints
        ]

    def appointment_rows(self, bookings: list[Booking]) -> list[Appointment]:
        return [
            Appointment(
                organization_id=self.org,
                client_id=booking.client.id,
                service_line=booking.line,
                provider_id=self.provider_ids[booking.provider],
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
                date_of_service=booking.starts_at.date(),  # starts_at is in Chicago time
                status=booking.status.value,
                service_code=self.service_code(booking),
            )
            for booking in bookings
        ]

    def service_code(self, booking: Booking) -> str | None:
        if booking.line == "ABA":
            return ABA_SERVICE_CODES.get(self.specs[booking.provider].credential)
        return SERVICE_CODES.get(booking.line)
