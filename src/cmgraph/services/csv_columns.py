"""The CSV columns of each kind of record, as import reads them and export writes them.

One definition serves the importer, the exporter, `cmgraph import --template` and
docs/import.md (tests/test_import_docs.py holds the page equal to these tables). A record
is found again by its natural key (payer id, NPI, external id...), never by cmgraph's ids,
so files from another system import as they are and an exported file imports anywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.StrEnum):
    """The kinds, in the order a folder is imported: each refers only to earlier ones."""

    PAYORS = "payors"
    PROVIDERS = "providers"
    ENROLLMENTS = "enrollments"
    CLIENTS = "clients"
    COVERAGES = "coverages"
    APPOINTMENTS = "appointments"
    CASE_MANAGERS = "case_managers"


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    required: bool = False
    key: bool = False  # part of the natural key that finds the record again


def _c(name: str, description: str, *, required: bool | None = None, key: bool = False) -> Column:
    """A column; a key column is required unless said otherwise."""
    return Column(name, description, required=key if required is None else required, key=key)


DATE = "a date, YYYY-MM-DD"
CREDENTIAL_FORMAT = "TYPE|number|state|issued_on|expires_on"

COLUMNS: dict[Kind, tuple[Column, ...]] = {
    Kind.PAYORS: (
        _c("payer_id", "the payer id claims are sent to (e.g. 84980)", key=True),
        _c("name", "the payor's name", required=True),
        _c("kind", "COMMERCIAL, MEDICAID, MEDICARE, TRICARE or OTHER", required=True),
        _c("plugins", "rule plugins that apply to this payor, separated by spaces"),
    ),
    Kind.PROVIDERS: (
        _c("npi", "National Provider Identifier: 10 digits with a valid check digit", key=True),
        _c("first_name", "first name", required=True),
        _c("last_name", "last name", required=True),
        _c("active", "true or false; empty means true"),
        _c(
            "credentials",
            f"the provider's credentials, separated by `;`, each `{CREDENTIAL_FORMAT}` "
            "(e.g. `BCBA|1-23-45678|TX|2020-01-15|2027-01-31`; empty parts are unknown); the "
            "file's list replaces the provider's",
        ),
    ),
    Kind.ENROLLMENTS: (
        _c("npi", "the provider's NPI", key=True),
        _c("payer_id", "the payor's payer id", key=True),
        # Part of the key, yet optional: an enrollment may have no start date.
        _c(
            "effective_from",
            f"first day of the enrollment, {DATE}; may be empty",
            key=True,
            required=False,
        ),
        _c("status", "PENDING, ENROLLED, DENIED or TERMINATED", required=True),
        _c("effective_to", f"last day, {DATE}; empty when open"),
    ),
    Kind.CLIENTS: (
        _c("external_id", "the client's id in the practice's other system (EHR)", key=True),
        _c("first_name", "first name", required=True),
        _c("last_name", "last name", required=True),
        _c("date_of_birth", f"{DATE}; may be empty"),
    ),
    Kind.COVERAGES: (
        _c("client_external_id", "the client's external id", key=True),
        _c("payer_id", "the payor's payer id", key=True),
        _c("effective_from", f"first day of the coverage, {DATE}", key=True),
        _c("priority", "1 for the primary payor, 2 for the secondary...; empty means 1"),
        _c("member_id", "the client's member id with the payor"),
        _c("effective_to", f"last day, {DATE}; empty when open"),
    ),
    Kind.APPOINTMENTS: (
        _c("client_external_id", "the client's external id", key=True),
        _c("service_line", "ABA, ST, OT, PT, MH or a line a plugin adds", key=True),
        _c("starts_at", "start with its offset, e.g. 2026-03-08T09:00:00-05:00", key=True),
        _c("ends_at", "end with its offset", required=True),
        _c("provider_npi", "NPI of the provider who delivers the session", required=True),
        _c("status", "SCHEDULED, COMPLETED, CANCELLED or NO_SHOW; empty means SCHEDULED"),
        _c("service_code", "CPT or HCPCS code, e.g. 97153"),
        _c("telehealth", "true or false; empty means false"),
    ),
    Kind.CASE_MANAGERS: (
        _c("client_external_id", "the client's external id", key=True),
        _c("service_line", "the service line", key=True),
        _c("start_date", f"first day as case manager, {DATE}", key=True),
        _c("provider_npi", "the case manager's NPI", required=True),
        _c("end_date", f"last day as case manager, {DATE}; empty when current"),
        _c("note", "a note on the assignment"),
    ),
}

KEYS: dict[Kind, tuple[str, ...]] = {
    kind: tuple(c.name for c in columns if c.key) for kind, columns in COLUMNS.items()
}


def names(kind: Kind) -> list[str]:
    return [c.name for c in COLUMNS[kind]]


def kind_of(name: str) -> Kind:
    """The kind a name (or a file stem such as `case-managers`) stands for."""
    try:
        return Kind(name.strip().lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise ValueError(f"unknown kind {name!r} (known: {known})") from None


def markdown() -> str:
    """docs/import.md's tables: one per kind, in import order."""
    out: list[str] = []
    for kind in Kind:
        out.append(f"### {kind.value}\n")
        out.append(f"Natural key: {', '.join(f'`{k}`' for k in KEYS[kind])}.\n")
        out.append("| column | required | meaning |")
        out.append("| --- | --- | --- |")
        for c in COLUMNS[kind]:
            out.append(f"| `{c.name}` | {'yes' if c.required else ''} | {c.description} |")
        out.append("")
    return "\n".join(out)
