"""Who and what the demo practice holds: its providers, payors and clients, and the numbers
that shape its schedule. Constants only; practice.py turns them into plans and rows."""

from __future__ import annotations

from dataclasses import dataclass

from cmgraph.facts import AppointmentStatus, PayorKind
from cmgraph.rules.qualification import SERVICE_LINES

ORGANIZATION_NAME = "Sunrise Pediatric Therapy"
TIMEZONE = "America/Chicago"
SEED = 2026
ACTOR = "cmgraph demo"
OPERATION = "demo"
STATE = "TX"

WEEKS_BEFORE = 4
WEEKS_AFTER = 4
OPENS = 8 * 60  # minutes after midnight, Chicago time
CLOSES = 17 * 60

# Who may be case manager of a line: the project's own defaults, so the demo agrees with
# the qualification rule.
QUALIFYING = {line.code: line.qualifying_credentials for line in SERVICE_LINES}


# --- The practice's people and payors -----------------------------------------------------


@dataclass(frozen=True)
class ProviderSpec:
    key: str  # a handle for this module only
    first_name: str
    last_name: str
    credential: str
    active: bool = True


PROVIDERS = (
    ProviderSpec("okafor", "Adaeze", "Okafor", "BCBA-D"),
    ProviderSpec("lindqvist", "Hannah", "Lindqvist", "BCBA"),
    ProviderSpec("reed", "Marcus", "Reed", "BCBA"),
    ProviderSpec("alvarez", "Sofia", "Alvarez", "BCBA"),
    ProviderSpec("nguyen", "Linh", "Nguyen", "BCaBA"),
    ProviderSpec("brooks", "Tyler", "Brooks", "BCaBA"),
    ProviderSpec("patel", "Priya", "Patel", "RBT"),
    ProviderSpec("johnson", "Dante", "Johnson", "RBT"),
    ProviderSpec("kim", "Grace", "Kim", "RBT"),
    ProviderSpec("hartley", "Emily", "Hartley", "SLP"),
    ProviderSpec("ramirez", "Carlos", "Ramirez", "SLP"),
    ProviderSpec("foster", "Megan", "Foster", "SLPA"),
    ProviderSpec("castillo", "Rosa", "Castillo", "OTR"),
    ProviderSpec("whitfield", "Jenna", "Whitfield", "OTR", active=False),
    ProviderSpec("sullivan", "Ben", "Sullivan", "PT"),
)

# Credential number formats: BACB certificants, Texas licenses.
CREDENTIAL_NUMBERS = {
    "BCBA-D": "1-{yy}-{n:05d}",
    "BCBA": "1-{yy}-{n:05d}",
    "BCaBA": "2-{yy}-{n:05d}",
    "RBT": "RBT-{yy}-{n:06d}",
    "SLP": "SLP{n:05d}",
    "SLPA": "SLPA{n:05d}",
    "OTR": "OT{n:05d}",
    "PT": "PT{n:05d}",
}

# The CPT code of a session, by line and by who delivers it, so that payor plugins' code-level
# rules (modifiers, who may deliver 97155...) show in the demo's claim lines: technicians
# deliver treatment by protocol (97153), analysts protocol modification (97155).
SERVICE_CODES = {"ST": "92507", "OT": "97530", "PT": "97110", "MH": "90837"}
ABA_SERVICE_CODES = {"RBT": "97153", "BCaBA": "97153", "BCBA": "97155", "BCBA-D": "97155"}

# RBTs and BCaBAs deliver most ABA sessions, under a BCBA's supervision; never CMs.
TECHNICIANS = ("nguyen", "brooks", "patel", "johnson", "kim")
# Who may cover a session of another line when its clinician cannot.
SUBSTITUTES = {
    "ST": ("hartley", "ramirez", "foster"),
    "OT": ("castillo",),
    "PT": ("sullivan",),
}


@dataclass(frozen=True)
class PayorSpec:
    key: str
    name: str
    kind: PayorKind
    payer_id: str  # illustrative electronic payer ids, as clearinghouses list them
    member_id: str  # format of the member ids on the cards
    plugins: tuple[str, ...] = ()  # the shipped payor plugins in plugins/


PAYORS = (
    PayorSpec(
        "medicaid", "Texas Medicaid", PayorKind.MEDICAID, "TXMCD", "5{n:08d}", ("tx_medicaid",)
    ),
    PayorSpec(
        "bcbs", "BCBS Texas", PayorKind.COMMERCIAL, "84980", "ZGP{n:09d}", ("bcbs_tx_tiers",)
    ),
    PayorSpec("tricare", "TRICARE East", PayorKind.TRICARE, "99726", "{n:011d}", ("tricare_acd",)),
    PayorSpec("aetna", "Aetna", PayorKind.COMMERCIAL, "60054", "W{n:09d}"),
)
PAYOR_SPECS = {spec.key: spec for spec in PAYORS}
PRIMARY_WEIGHTS = {"medicaid": 45, "bcbs": 25, "tricare": 15, "aetna": 15}
# Texas Medicaid pays after a commercial plan or TRICARE for many children with disabilities.
SECONDARY_SHARE = 0.3

# Enrollments that are not "enrolled for a year or more" (see cmgraph.demo's docstring).
PENDING = {("hartley", "tricare"), ("brooks", "aetna")}
TERMINATED = ("reed", "bcbs")
TERMINATED_DAYS_AGO = 21
EXPIRED = "alvarez"
EXPIRED_DAYS_AGO = 31
LEFT = "whitfield"
LEFT_DAYS_AGO = 42
REBALANCED_DAYS_AGO = 10
COVERAGE_CHANGE_DAYS_AGO = 14

# --- The clients ----------------------------------------------------------------------------

CLIENT_NAMES = (
    ("Olivia", "Martinez"),
    ("Ethan", "Walker"),
    ("Sophia", "Hernandez"),
    ("Liam", "Carter"),
    ("Isabella", "Lopez"),
    ("Jackson", "Price"),
    ("Mia", "Robinson"),
    ("Elijah", "Flores"),
    ("Noah", "Bennett"),
    ("Amelia", "Scott"),
    ("Lucas", "Rivera"),
    ("Harper", "Collins"),
    ("Benjamin", "Torres"),
    ("Evelyn", "Murphy"),
    ("Henry", "Diaz"),
    ("Abigail", "Morales"),
    ("Mateo", "Garcia"),
    ("Emily", "Cooper"),
    ("Sebastian", "Reyes"),
    ("Ella", "Howard"),
    ("Jack", "Ward"),
    ("Scarlett", "Ortiz"),
    ("Ava", "Thompson"),
    ("Owen", "Gutierrez"),
    ("Chloe", "Bailey"),
    ("Wyatt", "Sanders"),
    ("Aria", "Mendoza"),
    ("Caleb", "Hughes"),
    ("Layla", "Vargas"),
    ("Gabriel", "Jenkins"),
    ("Zoe", "Mitchell"),
    ("Daniel", "Castro"),
    ("Nora", "Perry"),
    ("Samuel", "Ruiz"),
    ("Lily", "Long"),
    ("Julian", "Ramos"),
    ("Hazel", "Bryant"),
    ("Levi", "Jimenez"),
    ("Aurora", "Coleman"),
    ("Isaac", "Romero"),
    ("Stella", "Hayes"),
    ("Josiah", "Medina"),
    ("Violet", "Barnes"),
    ("Miles", "Herrera"),
    ("Penelope", "Fisher"),
    ("Adrian", "Aguilar"),
    ("Luna", "Wallace"),
    ("Elias", "Moreno"),
    ("Camila", "West"),
    ("Roman", "Cruz"),
)
FIRST_EXTERNAL_ID = 1001

LINE_WEIGHTS = {"ABA": 45, "ST": 30, "OT": 15, "PT": 10}
SECOND_LINE_SHARE = 0.3
AGES = {"ABA": (2, 11), "ST": (2, 12), "OT": (3, 14), "PT": (3, 17)}
SESSIONS_PER_WEEK = {"ABA": (2, 3), "ST": (1, 2), "OT": (1, 2), "PT": (1, 2)}
MINUTES = {"ABA": (120, 150, 180), "ST": (60, 60, 90), "OT": (60, 60, 90), "PT": (60, 90)}
NEW_CLIENT_SHARE = 0.1  # regular clients whose services begin inside the 8 weeks
PAST_STATUSES = (
    AppointmentStatus.COMPLETED,
    AppointmentStatus.CANCELLED,
    AppointmentStatus.NO_SHOW,
)
PAST_WEIGHTS = (86, 8, 6)
