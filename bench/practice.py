"""A deterministic practice at benchmark scale, written straight into a migrated database.

Everything comes from one ``random.Random(seed)``: the same parameters give the same rows
(uuids included) on SQLite and on PostgreSQL. Rows go in with bulk Core inserts, in chunks;
going through the API would take an hour. The schema is made by the migrations, as in
production.

The practice (defaults): an organization in America/Chicago, 10 payors (three naming the
shipped plugins tx_medicaid, bcbs_tx_tiers and tricare_acd), 300 providers with valid NPIs,
one credential each and an enrollment with every payor (mostly enrolled; some pending,
denied, or terminated inside the window), 2,000 clients with a primary coverage (a quarter
with Texas Medicaid as secondary, a few switching payor inside the window), 1-2 service
lines each with a case manager, and 12 weeks of weekday appointments (about 50 a client).

Deliberate findings, so that compliance reports something: about 4 % of lines have no case
manager at all (NO_CASE_MANAGER), 3 % get theirs part-way through the window, 3 % have one
who is not enrolled with the primary payor (NOT_CREDENTIALED), 1 % were named on the day of
a session (LEAD_TIME), and terminated enrollments and coverage changes flag sessions from
the date they take effect. 10 % of lines changed case manager inside the window (history).
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum import luhn

from cmgraph.db import models

GENERATOR_VERSION = 1  # bump when the generated data changes: it keys the caches
TIMEZONE = "America/Chicago"
ZONE = ZoneInfo(TIMEZONE)
WINDOW_START = date(2026, 9, 7)  # a Monday; fixed so that cached practices stay valid
AS_OF = date(2026, 11, 16)  # sessions before it took place, later ones are scheduled
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
ACTOR = "cmgraph bench"
STATE = "TX"
CHUNK = 5000

# (name, kind, payer id, plugins, weight as primary payor)
PAYORS: tuple[tuple[str, str, str, tuple[str, ...], int], ...] = (
    ("Texas Medicaid", "MEDICAID", "TXMCD", ("tx_medicaid",), 30),
    ("BCBS Texas", "COMMERCIAL", "84980", ("bcbs_tx_tiers",), 15),
    ("TRICARE East", "TRICARE", "99726", ("tricare_acd",), 8),
    ("Aetna", "COMMERCIAL", "60054", (), 10),
    ("UnitedHealthcare", "COMMERCIAL", "87726", (), 10),
    ("Cigna", "COMMERCIAL", "62308", (), 7),
    ("Humana", "COMMERCIAL", "61101", (), 5),
    ("Superior HealthPlan", "MEDICAID", "68069", (), 7),
    ("Amerigroup Texas", "MEDICAID", "26375", (), 5),
    ("Scott & White Health Plan", "COMMERCIAL", "94999", (), 3),
)
SECONDARY = 0  # index of Texas Medicaid: secondary payor of many children

# Credential mix of 300 providers; scaled for another count.
CREDENTIAL_MIX = (
    ("BCBA", 54),
    ("BCBA-D", 6),
    ("BCaBA", 20),
    ("RBT", 110),
    ("SLP", 40),
    ("SLPA", 10),
    ("OTR", 25),
    ("COTA", 5),
    ("PT", 15),
    ("LPC", 10),
    ("LCSW", 5),
)
QUALIFYING = {
    "ABA": ("BCBA", "BCBA-D"),
    "ST": ("SLP",),
    "OT": ("OTR",),
    "PT": ("PT",),
    "MH": ("LPC", "LCSW"),
}
TECHNICIANS = ("RBT", "BCaBA")
ASSISTANTS = {"ST": ("SLPA",), "OT": ("COTA",)}
LINE_WEIGHTS = {"ABA": 45, "ST": 30, "OT": 12, "PT": 8, "MH": 5}
SESSIONS_PER_WEEK = {"ABA": (4, 6), "ST": (2, 3), "OT": (1, 2), "PT": (1, 2), "MH": (1, 1)}
MINUTES = {"ABA": (120, 150, 180), "ST": (45, 60), "OT": (60,), "PT": (60,), "MH": (50, 60)}
CODES = {"ST": "92507", "OT": "97530", "PT": "97110", "MH": "90837"}

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "Mateo",
    "Isabella",
    "Lucas",
    "Mia",
    "Levi",
    "Amelia",
    "Ethan",
    "Harper",
    "Mason",
    "Evelyn",
    "Logan",
    "Abigail",
    "James",
    "Emily",
    "Aiden",
    "Ella",
    "Jackson",
    "Avery",
    "Sebastian",
    "Scarlett",
    "Jack",
    "Grace",
    "Owen",
    "Chloe",
    "Samuel",
    "Camila",
    "Henry",
    "Aria",
    "Wyatt",
    "Luna",
    "Daniel",
    "Layla",
    "Gabriel",
    "Zoe",
    "Julian",
    "Nora",
    "Ezra",
    "Lily",
    "Isaac",
    "Hazel",
    "Miles",
    "Violet",
    "Adrian",
    "Aurora",
    "Leo",
    "Stella",
    "Caleb",
    "Penelope",
    "Roman",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Okafor",
]


@dataclass(frozen=True)
class Params:
    clients: int = 2000
    providers: int = 300
    payors: int = 10
    weeks: int = 12
    seed: int = 2026

    def key(self) -> str:
        text = json.dumps(asdict(self) | {"v": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def slug(self) -> str:
        return f"bench-{self.key()}"


@dataclass
class Practice:
    """The rows, as dicts per table, in insertion order."""

    organization: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def count(self, table: str) -> int:
        return len(self.tables.get(table, []))


@dataclass
class _Line:
    code: str
    stints: list[tuple[uuid.UUID, date, date | None]]  # (provider, start, end)
    therapist: uuid.UUID  # who delivers when no CM does
    technician: uuid.UUID | None
    lead_time_violation: bool = False

    def cm_on(self, day: date) -> uuid.UUID | None:
        for provider, start, end in self.stints:
            if start <= day and (end is None or day <= end):
                return provider
        return None


class _Builder:
    def __init__(self, params: Params) -> None:
        self.p = params
        self.rng = random.Random(params.seed)
        self.org = self.new_id()
        self.window_end = WINDOW_START + timedelta(weeks=params.weeks)  # exclusive
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def days(self, low: int, high: int) -> timedelta:
        return timedelta(days=self.rng.randint(low, high))

    def add(self, table: Table, row: dict[str, Any]) -> dict[str, Any]:
        row = {"organization_id": self.org, "id": self.new_id(), **row}
        self.tables.setdefault(table.name, []).append(row)
        return row

    def build(self) -> Practice:
        org = {
            "id": self.org,
            "slug": self.p.slug,
            "name": f"Bench Practice ({self.p.clients} clients)",
            "timezone": TIMEZONE,
            "created_at": CREATED,
        }
        self.payors()
        self.providers()
        self.enrollments()
        self.clients()
        return Practice(org, self.tables)

    # Payors, providers, credentials, enrollments ---------------------------------------

    def payors(self) -> None:
        self.payor_ids: list[uuid.UUID] = []
        self.payor_weights: list[int] = []
        for i in range(self.p.payors):
            name, kind, payer_id, plugins, weight = PAYORS[i % len(PAYORS)]
            if i >= len(PAYORS):
                name, plugins = f"{name} {i // len(PAYORS) + 1}", ()
            row = self.add(
                models.Payor.__table__,
                {"name": name, "payer_id": payer_id, "kind": kind, "plugins": list(plugins)},
            )
            self.payor_ids.append(row["id"])
            self.payor_weights.append(weight)

    def npi(self, taken: set[str]) -> str:
        while True:
            base = "1" + "".join(str(self.rng.randint(0, 9)) for _ in range(8))
            npi = base + luhn.calc_check_digit("80840" + base)
            if npi not in taken:
                taken.add(npi)
                return npi

    def providers(self) -> None:
        total = sum(n for _, n in CREDENTIAL_MIX)
        kinds = [kind for kind, n in CREDENTIAL_MIX for _ in range(n)]
        scaled = [kinds[i * total // self.p.providers] for i in range(self.p.providers)]
        self.by_credential: dict[str, list[uuid.UUID]] = {}
        self.credential_of: dict[uuid.UUID, str] = {}
        self.expired: set[uuid.UUID] = set()
        self.inactive: set[uuid.UUID] = set()
        taken: set[str] = set()
        for kind in scaled:
            active = self.rng.random() > 0.02
            row = self.add(
                models.Provider.__table__,
                {
                    "first_name": self.rng.choice(FIRST_NAMES),
                    "last_name": self.rng.choice(LAST_NAMES),
                    "npi": self.npi(taken),
                    "active": active,
                    "created_at": CREATED,
                },
            )
            pid = row["id"]
            if not active:
                self.inactive.add(pid)
            self.credential_of[pid] = kind
            self.by_credential.setdefault(kind, []).append(pid)
            issued = WINDOW_START - self.days(300, 3000)
            if self.rng.random() < 0.03:
                expires = WINDOW_START + self.days(0, 60)
                self.expired.add(pid)
            else:
                expires = WINDOW_START + self.days(400, 1100)
            self.add(
                models.Credential.__table__,
                {
                    "provider_id": pid,
                    "type": kind,
                    "number": f"{kind[:3].upper()}-{self.rng.randint(10000, 999999)}",
                    "state": STATE,
                    "issued_on": issued,
                    "expires_on": expires,
                },
            )

    def enrollments(self) -> None:
        # (provider, payor) -> (status, from, to)
        self.enrolled: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, date | None, date | None]]
        self.enrolled = {}
        providers = [p for kind in self.by_credential.values() for p in kind]
        for provider in sorted(providers, key=lambda p: p.int):
            for payor in self.payor_ids:
                roll = self.rng.random()
                start: date | None = WINDOW_START - self.days(200, 2000)
                end = None
                if roll < 0.90:
                    status = "ENROLLED"
                elif roll < 0.94:
                    status, start = "PENDING", WINDOW_START - self.days(5, 60)
                elif roll < 0.97:
                    status = "TERMINATED"
                    end = WINDOW_START + self.days(7, 7 * self.p.weeks - 7)
                else:
                    status, start = "DENIED", None
                self.enrolled[(provider, payor)] = (status, start, end)
                self.add(
                    models.Enrollment.__table__,
                    {
                        "provider_id": provider,
                        "payor_id": payor,
                        "status": status,
                        "effective_from": start,
                        "effective_to": end,
                    },
                )

    def solid(self, provider: uuid.UUID, payor: uuid.UUID) -> bool:
        status, _, end = self.enrolled[(provider, payor)]
        return status == "ENROLLED" and end is None

    def pick(self, kinds: Sequence[str], ok: Any = None) -> uuid.UUID:
        pool = [
            p
            for kind in kinds
            for p in self.by_credential.get(kind, [])
            if p not in self.inactive and p not in self.expired and (ok is None or ok(p))
        ]
        if not pool:  # tiny practices: anyone of the discipline
            pool = [p for kind in kinds for p in self.by_credential.get(kind, [])]
        return self.rng.choice(pool)

    # Clients, coverages, lines, assignments, appointments ------------------------------

    def clients(self) -> None:
        for index in range(self.p.clients):
            client = self.add(
                models.Client.__table__,
                {
                    "first_name": self.rng.choice(FIRST_NAMES),
                    "last_name": self.rng.choice(LAST_NAMES),
                    "date_of_birth": WINDOW_START - self.days(2 * 365, 17 * 365),
                    "external_id": f"EHR-{100000 + index}",
                    "created_at": CREATED,
                },
            )
            primary = self.coverages(client["id"])
            codes = [self.weighted(LINE_WEIGHTS)]
            if self.rng.random() < 0.3:
                codes.append(
                    self.weighted({k: v for k, v in LINE_WEIGHTS.items() if k != codes[0]})
                )
            for slot, code in enumerate(codes):
                line = self.line(code, primary)
                self.assignments(client["id"], line)
                self.appointments(client["id"], line, slot)

    def weighted(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def coverages(self, client: uuid.UUID) -> uuid.UUID:
        """Adds the client's coverages; returns the primary payor at the window's start."""
        payor = self.rng.choices(self.payor_ids, weights=self.payor_weights)[0]
        since = WINDOW_START - self.days(60, 1500)
        until = None
        if self.rng.random() < 0.03:  # switches primary payor inside the window
            until = WINDOW_START + self.days(14, 7 * self.p.weeks - 14)
            other = self.rng.choice([p for p in self.payor_ids if p != payor])
            self.coverage(client, other, 1, until + timedelta(days=1), None)
        self.coverage(client, payor, 1, since, until)
        medicaid = self.payor_ids[SECONDARY]
        if payor != medicaid and self.rng.random() < 0.25:
            self.coverage(client, medicaid, 2, since + self.days(0, 30), None)
        return payor

    def coverage(
        self, client: uuid.UUID, payor: uuid.UUID, priority: int, start: date, end: date | None
    ) -> None:
        self.add(
            models.Coverage.__table__,
            {
                "client_id": client,
                "payor_id": payor,
                "member_id": f"M{self.rng.randint(10**8, 10**9 - 1)}",
                "priority": priority,
                "effective_from": start,
                "effective_to": end,
            },
        )

    def line(self, code: str, payor: uuid.UUID) -> _Line:
        kinds = QUALIFYING[code]
        therapist = self.pick(kinds, lambda p: self.solid(p, payor))
        technician = self.pick(TECHNICIANS) if code == "ABA" else None
        line = _Line(code, [], therapist, technician)
        roll = self.rng.random()
        long_ago = WINDOW_START - self.days(30, 500)
        if roll < 0.04:
            return line  # nobody named: NO_CASE_MANAGER on every session
        if roll < 0.07:  # named part-way through the window
            line.stints.append((therapist, WINDOW_START + self.days(10, 40), None))
        elif roll < 0.10:  # not enrolled with the primary payor
            cm = self.pick(kinds, lambda p: not self.solid(p, payor))
            line.stints.append((cm, long_ago, None))
        elif roll < 0.11:  # start date fixed once sessions are planned: on a session's day
            line.lead_time_violation = True
        elif roll < 0.21:  # changed inside the window
            change = WINDOW_START + self.days(7, 7 * self.p.weeks - 7)
            first = self.pick(kinds, lambda p: self.solid(p, payor))
            line.stints.append((first, long_ago, change - timedelta(days=1)))
            line.stints.append((therapist, change, None))
        else:
            line.stints.append((therapist, long_ago, None))
        return line

    def assignments(self, client: uuid.UUID, line: _Line) -> None:
        if line.lead_time_violation:
            return  # added by appointments(), once the session days are known
        for provider, start, end in line.stints:
            self.assignment(client, line.code, provider, start, end)

    def assignment(
        self, client: uuid.UUID, code: str, provider: uuid.UUID, start: date, end: date | None
    ) -> None:
        row = self.add(
            models.Assignment.__table__,
            {
                "client_id": client,
                "service_line": code,
                "provider_id": provider,
                "start_date": start,
                "end_date": end,
                "note": None,
                "version": 1,
                "created_at": CREATED,
            },
        )
        self.add(
            models.ChangeRecord.__table__,
            {
                "occurred_at": CREATED,
                "actor": ACTOR,
                "operation": "addCaseManager",
                "entity_type": "CaseManagerAssignment",
                "entity_id": row["id"],
                "before": None,
                "after": {
                    "id": str(row["id"]),
                    "client_id": str(client),
                    "service_line": code,
                    "provider_id": str(provider),
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat() if end else None,
                    "note": None,
                },
                "role": "admin",
                "actor_name": ACTOR,
                "request_id": None,
                # the feed's commit order (services.positions), as a write would number it
                "position": len(self.tables.get(models.ChangeRecord.__table__.name, ())) + 1,
            },
        )

    def appointments(self, client: uuid.UUID, line: _Line, slot: int) -> None:
        low, high = SESSIONS_PER_WEEK[line.code]
        # ABA clinics open on Saturdays too
        week = range(6) if line.code == "ABA" else range(5)
        weekdays = set(self.rng.sample(week, self.rng.randint(low, high)))
        minutes = self.rng.choice(MINUTES[line.code])
        # first line in the morning, second in the afternoon: a client is in one place
        opens = 8 * 60 if slot == 0 else 13 * 60
        usual = opens + 30 * self.rng.randint(0, (4 * 60 - minutes) // 30)
        days = [
            WINDOW_START + timedelta(days=d)
            for d in range(7 * self.p.weeks)
            if (WINDOW_START + timedelta(days=d)).weekday() in weekdays
        ]
        if line.lead_time_violation and days:
            start = days[self.rng.randint(0, len(days) // 3)]
            line.stints.append((line.therapist, start, None))
            self.assignment(client, line.code, line.therapist, start, None)
        for day in days:
            begin = usual + 30 * self.rng.choice((0, 0, 0, 0, -1, 1))
            starts = datetime.combine(day, time(begin // 60, begin % 60), tzinfo=ZONE)
            provider, code = self.deliverer(line, day)
            if day < AS_OF:
                status = self.rng.choices(
                    ("COMPLETED", "CANCELLED", "NO_SHOW"), weights=(86, 8, 6)
                )[0]
            else:
                status = "SCHEDULED"
            self.add(
                models.Appointment.__table__,
                {
                    "client_id": client,
                    "service_line": line.code,
                    "provider_id": provider,
                    "starts_at": starts.astimezone(UTC),
                    "ends_at": (starts + timedelta(minutes=minutes)).astimezone(UTC),
                    # the date in the organization's time zone, as the API computes it
                    "date_of_service": starts.date(),
                    "status": status,
                    "service_code": code,
                    "telehealth": self.rng.random() < 0.03,
                    "created_at": CREATED,
                },
            )

    def deliverer(self, line: _Line, day: date) -> tuple[uuid.UUID, str]:
        main = line.cm_on(day) or line.therapist
        roll = self.rng.random()
        if line.code == "ABA":
            if roll < 0.60 and line.technician:
                return line.technician, "97153"
            if roll < 0.85:
                return main, "97155"
            return self.pick(TECHNICIANS), "97153"
        if roll < 0.85:
            return main, CODES[line.code]
        kinds = ASSISTANTS.get(line.code, QUALIFYING[line.code])
        return self.pick(kinds), CODES[line.code]


def build(params: Params) -> Practice:
    return _Builder(params).build()


# Insertion --------------------------------------------------------------------------------

ORDER = (
    models.Payor.__table__,
    models.Provider.__table__,
    models.Credential.__table__,
    models.Enrollment.__table__,
    models.Client.__table__,
    models.Coverage.__table__,
    models.Assignment.__table__,
    models.Appointment.__table__,
    models.ChangeRecord.__table__,
)


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def insert(engine: AsyncEngine, practice: Practice) -> None:
    """Bulk inserts in one transaction (executemany in chunks)."""
    async with engine.begin() as connection:
        await connection.execute(models.Organization.__table__.insert(), [practice.organization])
        for table in ORDER:
            for chunk in _chunks(practice.tables.get(table.name, []), CHUNK):
                await connection.execute(table.insert(), chunk)
        # The organization's last feed position, so that its next write numbers on from it.
        records = practice.tables.get(models.ChangeRecord.__table__.name, [])
        await connection.execute(
            models.FeedCounter.__table__.insert(),
            [{"organization_id": practice.organization["id"], "position": len(records)}],
        )
