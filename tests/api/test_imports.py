"""Bulk import (importRecords, services.imports) and export (services.exports): rows go
through the API's own use cases and rules, are matched by natural key (so a second import
changes nothing), and an exported practice imports back unchanged."""

from __future__ import annotations

from typing import Any, cast

import builders as b
from helpers import new_npi
from httpx import AsyncClient

from cmgraph.db import models
from cmgraph.db.engine import Database
from cmgraph.facts import Clock
from cmgraph.plugins import RuleBook
from cmgraph.services import exports, imports
from cmgraph.services.csv_columns import Kind
from cmgraph.services.scope import TenantScope
from tests.support import Api, StatementCounter

IMPORT = """mutation($input: ImportRecordsInput!) {
  importRecords(input: $input) {
    created updated unchanged refused committed
    rowErrors { row column code message }
    userErrors { field code message }
  }
}"""

CLIENTS = """{ clients(search: "") { totalCount edges { node { firstName lastName externalId
  dateOfBirth } } } }"""


async def load(api: Any, kind: str, text: str, **options: Any) -> dict[str, Any]:
    result = await api(IMPORT, {"input": {"kind": kind, "csv": text, **options}})
    return cast("dict[str, Any]", result["importRecords"])


def counts(result: dict[str, Any]) -> tuple[int, int, int, int]:
    return result["created"], result["updated"], result["unchanged"], result["refused"]


async def exported(db: Any, slug: str, kind: Kind, batch_rows: int = 1000) -> list[str]:
    """The kind's CSV export of the organization: its header, then its lines sorted."""
    org = await b.org_id(db, slug)
    text = "".join(
        [
            chunk
            async for chunk in exports.lines(
                exports.records(db, org, "America/New_York", kind, batch_rows), kind, "csv"
            )
        ]
    )
    header, *rows = text.splitlines()
    return [header, *sorted(rows)]


async def test_the_same_file_twice_changes_nothing_and_a_corrected_file_updates(
    api: Api, db: Database
) -> None:
    text = (
        "external_id,first_name,last_name,date_of_birth\n"
        "C1,Ada,Lovelace,2018-05-01\nC2,Alan,Turing,\n"
    )
    assert counts(await load(api, "CLIENTS", text)) == (2, 0, 0, 0)
    changes = await b.count(db, models.ChangeRecord, api.slug)

    assert counts(await load(api, "CLIENTS", text)) == (0, 0, 2, 0)
    assert await b.count(db, models.ChangeRecord, api.slug) == changes

    corrected = text.replace("Alan,Turing,", "Alan,Turing,2017-06-23")
    assert counts(await load(api, "CLIENTS", corrected)) == (0, 1, 1, 0)
    nodes = [e["node"] for e in (await api(CLIENTS))["clients"]["edges"]]
    assert {(n["externalId"], n["dateOfBirth"]) for n in nodes} == {
        ("C1", "2018-05-01"),
        ("C2", "2017-06-23"),
    }


async def test_rows_meet_the_apis_validation_and_reject_everything_writes_nothing(
    api: Api, db: Database
) -> None:
    good, bad = new_npi(), b.invalid_npi()
    text = (
        "npi,first_name,last_name,active,credentials\n"
        f"{good},Grace,Hopper,,BCBA|1-1|NY||2030-01-31\n"
        f"{bad},Ada,King,,\n"
        f"{new_npi()},Alan,Kay,maybe,\n"
    )
    result = await load(api, "PROVIDERS", text)

    assert counts(result) == (1, 0, 0, 2)
    assert result["committed"] is False
    assert sorted((e["row"], e["column"], e["code"]) for e in result["rowErrors"]) == [
        (3, "npi", "INVALID_INPUT"),
        (4, "active", "INVALID_INPUT"),
    ]
    assert await b.count(db, models.Provider, api.slug) == 0

    kept = await load(api, "PROVIDERS", text, errorPolicy="REJECT_FAILED_ROWS")
    assert counts(kept) == (1, 0, 0, 2) and kept["committed"] is True
    assert await b.count(db, models.Provider, api.slug) == 1
    assert await b.count(db, models.Credential, api.slug) == 1


async def test_a_dry_run_answers_what_would_happen_and_writes_nothing(
    api: Api, db: Database
) -> None:
    text = "external_id,first_name,last_name\nC1,Ada,Lovelace\n"
    changes = await b.count(db, models.ChangeRecord, api.slug)
    result = await load(api, "CLIENTS", text, dryRun=True)
    assert counts(result) == (1, 0, 0, 0) and result["committed"] is False
    assert await b.count(db, models.Client, api.slug) == 0
    assert await b.count(db, models.ChangeRecord, api.slug) == changes


async def test_a_bad_header_is_a_user_error_and_nothing_is_read(api: Api, db: Database) -> None:
    result = await load(api, "CLIENTS", "external_id,first_name,surname\nC1,Ada,Lovelace\n")
    assert {(e["code"], tuple(e["field"])) for e in result["userErrors"]} == {
        ("INVALID_HEADER", ("input", "csv"))
    }
    assert "surname" in result["userErrors"][0]["message"] + result["userErrors"][1]["message"]
    assert result["rowErrors"] == [] and result["refused"] == 1
    assert await b.count(db, models.Client, api.slug) == 0


class Practice:
    """A small practice as CSV files, in the kinds' order."""

    def __init__(self, n3_active: str = "false") -> None:
        """n3, case manager of C2 in the past, has left the practice unless n3_active."""
        self.n1, self.n2, self.n3, self.slp = (new_npi() for _ in range(4))
        self.n3_active = n3_active
        bcba = "BCBA|1-{}|NY|2020-01-01|2030-12-31"
        self.files = {
            "PAYORS": "payer_id,name,kind,plugins\nP1,Acme Health,COMMERCIAL,\n",
            "PROVIDERS": "npi,first_name,last_name,active,credentials\n"
            f"{self.n1},Grace,Hopper,true,{bcba.format(1)}\n"
            f"{self.n2},Ada,King,true,{bcba.format(2)}\n"
            f"{self.n3},Old,Timer,{self.n3_active},{bcba.format(3)};RBT|9|NY||\n"
            f"{self.slp},Sam,Speech,true,SLP|5|NY|2020-01-01|\n",
            "ENROLLMENTS": "npi,payer_id,effective_from,status,effective_to\n"
            + "".join(
                f"{n},P1,2025-01-01,ENROLLED,\n" for n in (self.n1, self.n2, self.n3, self.slp)
            ),
            "CLIENTS": "external_id,first_name,last_name,date_of_birth\n"
            "C1,Ada,Lovelace,2018-05-01\nC2,Alan,Turing,\n",
            "COVERAGES": "client_external_id,payer_id,effective_from,priority,member_id,"
            "effective_to\nC1,P1,2025-01-01,1,M1,\nC2,P1,2025-01-01,,,2026-12-31\n",
            "APPOINTMENTS": "client_external_id,service_line,starts_at,ends_at,provider_npi,"
            "status,service_code,telehealth\n"
            f"C1,ABA,2026-03-09T09:00:00-04:00,2026-03-09T11:00:00-04:00,{self.n1},COMPLETED,"
            "97153,false\n"
            f"C1,ABA,2026-03-16T09:00:00-04:00,2026-03-16T11:00:00-04:00,{self.n2},,,true\n",
            # Out of date order on purpose: the later change comes first.
            "CASE_MANAGERS": "client_external_id,service_line,start_date,provider_npi,end_date,"
            "note\n"
            f"C1,ABA,2026-03-10,{self.n2},,\n"
            f"C1,ABA,2026-02-01,{self.n1},,Intake\n"
            f"C2,ABA,2026-01-05,{self.n3},2026-02-28,\n",
        }

    async def load(self, api: Any) -> dict[str, dict[str, Any]]:
        return {kind: await load(api, kind, text) for kind, text in self.files.items()}


async def test_case_manager_rows_go_through_the_rules_in_date_order(api: Api) -> None:
    # One file a call: the provider who left is made inactive after their history is in.
    practice = Practice(n3_active="true")
    results = await practice.load(api)
    assert all(r["refused"] == 0 for r in results.values()), results
    left = practice.files["PROVIDERS"].replace(",Timer,true,", ",Timer,false,")
    assert counts(await load(api, "PROVIDERS", left)) == (0, 1, 3, 0)
    assert counts(results["CASE_MANAGERS"]) == (3, 0, 0, 0)

    c1 = (await api('{ clients(search: "Lovelace") { edges { node { caseManagers {'
                    " startDate endDate note provider { npi } } } } } }"))  # fmt: skip
    history = c1["clients"]["edges"][0]["node"]["caseManagers"]
    assert sorted((h["startDate"], h["endDate"], h["provider"]["npi"]) for h in history) == [
        ("2026-02-01", "2026-03-09", practice.n1),  # ended the day before the change
        ("2026-03-10", None, practice.n2),
    ]

    refused = await load(
        api,
        "CASE_MANAGERS",
        "client_external_id,service_line,start_date,provider_npi\n"
        f"C2,ABA,2026-06-01,{practice.slp}\n"
        f"C2,ABA,2026-01-05,{practice.n2}\n"
        f"C9,ABA,2026-06-01,{practice.n1}\n",
        errorPolicy="REJECT_FAILED_ROWS",
    )
    assert sorted((e["row"], e["column"], e["code"]) for e in refused["rowErrors"]) == [
        (2, "provider_npi", "DISCIPLINE_MISMATCH"),  # an SLP cannot manage ABA
        (3, "provider_npi", "PROVIDER_DIFFERS"),  # history is not rewritten
        (4, "client_external_id", "NOT_FOUND"),
    ]


async def run_files(db: Any, book: Any, slug: str, files: dict[Kind, str]) -> imports.Report:
    """Import files of several kinds at once, as `cmgraph import FOLDER` does."""
    org = await b.org_id(db, slug)
    scope = TenantScope(db, book, org, Clock("America/New_York"), actor="test")
    sources = [imports.Source(kind, f"{kind.value}.csv", text) for kind, text in files.items()]
    return await imports.run_import(scope, sources)


async def test_an_exported_practice_imports_back_unchanged(
    api: Api, other_api: Api, db: Database, book: RuleBook
) -> None:
    """Export every kind, import the files into a fresh organization, export again: equal.
    The provider who left comes back inactive, after their case-manager history."""
    practice = Practice()
    report = await run_files(
        db, book, api.slug, {Kind(k.lower()): t for k, t in practice.files.items()}
    )
    assert report.errors == [] and report.committed
    files = {kind: await exported(db, api.slug, kind) for kind in Kind}
    assert len(files[Kind.CASE_MANAGERS]) == 4  # the header and the full history
    assert f"{practice.n3},Old,Timer,false," in "\n".join(files[Kind.PROVIDERS])

    texts = {kind: "\n".join(lines) + "\n" for kind, lines in files.items()}
    report = await run_files(db, book, other_api.slug, texts)
    assert report.errors == [] and report.committed
    assert {k: c.created for k, c in report.counts.items()} == {
        k: len(lines) - 1 for k, lines in files.items()
    }

    assert {kind: await exported(db, other_api.slug, kind) for kind in Kind} == files
    again = await run_files(db, book, other_api.slug, texts)
    assert {k: c.unchanged for k, c in again.counts.items()} == {
        k: len(lines) - 1 for k, lines in files.items()
    }
    assert again.errors == [] and not any(c.created or c.updated for c in again.counts.values())


async def test_export_reads_in_batches_not_all_at_once(
    api: Api, db: Database, statements: StatementCounter
) -> None:
    text = "external_id,first_name,last_name\n" + "".join(f"C{i},Ada,L{i}\n" for i in range(7))
    await load(api, "CLIENTS", text)

    statements.count = 0
    whole = await exported(db, api.slug, Kind.CLIENTS, batch_rows=100)
    in_one = statements.count
    statements.count = 0
    paged = await exported(db, api.slug, Kind.CLIENTS, batch_rows=2)

    assert paged == whole and len(whole) == 8
    assert statements.count - in_one == 3  # four pages of 2 instead of one of 7


async def test_an_import_sent_again_under_its_idempotency_key_answers_the_first_answer(
    api: Api, http: AsyncClient
) -> None:
    body = {
        "query": IMPORT,
        "variables": {
            "input": {
                "kind": "CLIENTS",
                "csv": "external_id,first_name,last_name\nC1,Ada,Lovelace\n",
            }
        },
    }
    headers = {"Authorization": f"Bearer {api.token}", "Idempotency-Key": "import-clients-1"}

    first = await http.post("/graphql", json=body, headers=headers)
    again = await http.post("/graphql", json=body, headers=headers)

    assert first.status_code == again.status_code == 200
    assert counts(first.json()["data"]["importRecords"]) == (1, 0, 0, 0)
    assert again.json() == first.json()  # replayed, not "unchanged"


EVENTS = """{ events(first: 100, types: ["client.created"]) { edges { node { data } } } }"""
COMPLIANCE = """{ complianceFindings(from: "2026-03-01", to: "2026-03-31")
  { totalCount edges { node { code client { id } } } } }"""


async def test_a_refused_row_leaves_the_others_audit_records_and_events_whole(
    api: Api, db: Database
) -> None:
    """Rows in one batch transaction, each in its savepoint: the refused one's records go
    with it; the accepted ones' records and events commit with them."""
    text = (
        "external_id,first_name,last_name,date_of_birth\n"
        "E1,Ada,Lovelace,\nE2,,Nameless,\nE3,Alan,Turing,\n"
    )
    before = await b.count(db, models.ChangeRecord, api.slug)

    result = await load(api, "CLIENTS", text, errorPolicy="REJECT_FAILED_ROWS")

    assert counts(result) == (2, 0, 0, 1)
    assert await b.count(db, models.ChangeRecord, api.slug) == before + 2
    events = (await api(EVENTS))["events"]["edges"]
    assert len(events) == 2


async def test_imported_sessions_are_in_the_stored_findings(api: Api) -> None:
    """An import keeps the stored findings current, as every other write does: a session
    imported without a case manager is reported."""
    await b.client(api, "Ada", "Lovelace", externalId="F1")
    provider = await b.provider(api)
    found = await api("query($id: ID!) { provider(id: $id) { npi } }", {"id": provider})
    text = (
        "client_external_id,service_line,provider_npi,starts_at,ends_at\n"
        f"F1,ABA,{found['provider']['npi']},2026-03-10T09:00:00-05:00,"
        "2026-03-10T10:00:00-05:00\n"
    )

    assert counts(await load(api, "APPOINTMENTS", text)) == (1, 0, 0, 0)
    report = (await api(COMPLIANCE))["complianceFindings"]

    assert [e["node"]["code"] for e in report["edges"]] == ["NO_CASE_MANAGER"]


async def test_a_row_naming_a_payer_id_several_payors_share_is_refused(api: Api) -> None:
    """Payer ids are not unique (two plans may share one): a coverage or enrollment row
    naming a shared one would pick a payor at random, so it is refused on its column."""
    await b.payor(api, "Acme East")
    await b.payor(api, "Acme West")
    for name in ("Acme East", "Acme West"):
        edges = (await api("{ payors { id name } }"))["payors"]
        payor = next(p["id"] for p in edges if p["name"] == name)
        await api(
            "mutation($i: UpdatePayorInput!) { updatePayor(input: $i) { userErrors { code } } }",
            {"i": {"id": payor, "payerId": "SHARED1"}},
        )
    await b.client(api, "Ada", "Lovelace", externalId="S1")
    text = "client_external_id,payer_id,effective_from\nS1,SHARED1,2026-01-01\n"

    result = await load(api, "COVERAGES", text, errorPolicy="REJECT_FAILED_ROWS")

    assert counts(result) == (0, 0, 0, 1)
    [error] = result["rowErrors"]
    assert (error["column"], error["code"]) == ("payer_id", "AMBIGUOUS")
