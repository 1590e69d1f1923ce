"""Rule 3 in hindsight (issue 17): a case manager whose qualifying credential lapses, or is
not yet issued, on a date of service while the assignment is open makes each session of that
date a DISCIPLINE_MISMATCH, in the compliance report, the client's findings, the rendering
answers and the claim lines (and the warnings of the appointment write)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import builders as b
from helpers import (
    add_coverage,
    assign,
    create_client,
    create_payor,
    create_provider,
    credential,
    record_enrollment,
)

from tests.support import Api

CODE = "DISCIPLINE_MISMATCH"
OPENED = "2026-12-01"  # the assignment's start date
LAPSES = "2027-01-31"  # the BCBA's last valid day in the issue's story
WINDOW = ("2026-12-01", "2027-03-31")

COMPLIANCE = """query($from: Date!, $to: Date!) {
  complianceFindings(from: $from, to: $to, codes: ["DISCIPLINE_MISMATCH"]) {
    totalCount
    edges { node {
      code severity message rule plugin field date
      client { id } serviceLine { code } appointment { id }
    } }
  }
}"""

CLIENT = """query($id: ID!) {
  client(id: $id) {
    findings { code date appointment { id } }
    serviceLines { serviceLine { code } findings { code date appointment { id } } }
  }
}"""

RENDERING = """query($client: ID!, $day: Date!) {
  renderingProvider(clientId: $client, serviceLine: "ABA", dateOfService: $day) {
    dateOfService provider { id } findings { code severity rule date }
  }
}"""

RENDERINGS = """query($requests: [RenderingProviderRequest!]!) {
  renderingProviders(requests: $requests) { dateOfService provider { id } findings { code } }
}"""

CLAIMS = """query($from: Date!, $to: Date!, $client: ID) {
  claimLines(from: $from, to: $to, clientId: $client) {
    edges { node {
      dateOfService appointment { id } renderingProvider { id } findings { code severity }
    } }
  }
}"""

UPDATE_CREDENTIALS = """mutation($input: UpdateProviderInput!) {
  updateProvider(input: $input) { provider { id } userErrors { code field message } }
}"""


@dataclass(frozen=True)
class Case:
    client: str
    payor: str
    cm: str


async def a_case(api: Any, credentials: list[dict[str, Any]]) -> Case:
    """A client covered and a CM enrolled since 2026-01-01, ABA case manager from OPENED:
    nothing but the CM's credentials can make its sessions a finding."""
    client = await create_client(api)
    payor = await create_payor(api)
    await add_coverage(api, client, payor, effective_from="2026-01-01")
    cm = await create_provider(api, "Pat", "Lapsed", credentials=credentials)
    await record_enrollment(api, cm, payor, effective_from="2026-01-01")
    await assign(
        api, {"clientId": client, "serviceLine": "ABA", "providerId": cm, "startDate": OPENED}
    )
    return Case(client, payor, cm)


async def sessions(api: Any, case: Case, *days: str) -> dict[str, dict[str, Any]]:
    """A 09:00 session by the CM on each day (New York winter time): day -> its payload."""
    found = {}
    for day in days:
        found[day] = await b.appointment(
            api, case.client, case.cm, f"{day}T09:00:00-05:00", f"{day}T10:00:00-05:00"
        )
    return found


def ids(made: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {day: payload["appointment"]["id"] for day, payload in made.items()}


async def report_days(api: Any, client: str) -> list[tuple[str, str]]:
    """(date, appointment id) of the client's DISCIPLINE_MISMATCH findings in the report."""
    edges = (await api(COMPLIANCE, {"from": WINDOW[0], "to": WINDOW[1]}))["complianceFindings"][
        "edges"
    ]
    return [
        (e["node"]["date"], e["node"]["appointment"]["id"])
        for e in edges
        if e["node"]["client"]["id"] == client
    ]


async def claim_findings(api: Any, client: str) -> dict[str, list[str]]:
    edges = (await api(CLAIMS, {"from": WINDOW[0], "to": WINDOW[1], "client": client}))[
        "claimLines"
    ]["edges"]
    return {e["node"]["dateOfService"]: [f["code"] for f in e["node"]["findings"]] for e in edges}


async def test_the_issues_story_is_a_finding_in_every_place_that_judges_sessions(api: Api) -> None:
    case = await a_case(api, [credential("BCBA", expires_on=LAPSES)])
    made = await sessions(api, case, "2027-01-31", "2027-02-10")
    session = ids(made)

    # The compliance report over February.
    report = (await api(COMPLIANCE, {"from": "2027-02-01", "to": "2027-02-28"}))[
        "complianceFindings"
    ]
    assert report["totalCount"] == 1
    [node] = [e["node"] for e in report["edges"]]
    assert (node["code"], node["severity"]) == (CODE, "ERROR")
    assert (node["rule"], node["plugin"], node["field"]) == ("qualification", "cmgraph", None)
    assert node["date"] == "2027-02-10"
    assert node["client"] == {"id": case.client}
    assert node["serviceLine"] == {"code": "ABA"}
    assert node["appointment"] == {"id": session["2027-02-10"]}
    assert "Pat Lapsed" in node["message"]
    # The expiry date itself is still valid.
    assert await report_days(api, case.client) == [("2027-02-10", session["2027-02-10"])]

    # The client's findings, and those of its ABA line.
    client = (await api(CLIENT, {"id": case.client}))["client"]
    mine = {"code": CODE, "date": "2027-02-10", "appointment": {"id": session["2027-02-10"]}}
    assert [f for f in client["findings"] if f["code"] == CODE] == [mine]
    [aba] = [line for line in client["serviceLines"] if line["serviceLine"]["code"] == "ABA"]
    assert [f for f in aba["findings"] if f["code"] == CODE] == [mine]

    # The rendering answer: still the CM (rule 1), with the finding beside it.
    lapsed = (await api(RENDERING, {"client": case.client, "day": "2027-02-10"}))[
        "renderingProvider"
    ]
    assert lapsed["provider"] == {"id": case.cm}
    assert lapsed["findings"] == [
        {"code": CODE, "severity": "ERROR", "rule": "qualification", "date": "2027-02-10"}
    ]
    valid = (await api(RENDERING, {"client": case.client, "day": "2027-01-31"}))[
        "renderingProvider"
    ]
    assert valid["findings"] == []
    batch = await api(
        RENDERINGS,
        {
            "requests": [
                {"clientId": case.client, "serviceLine": "ABA", "dateOfService": day}
                for day in ("2027-01-31", "2027-02-10", "2027-03-15")  # the last has no session
            ]
        },
    )
    assert [
        (a["dateOfService"], [f["code"] for f in a["findings"]])
        for a in batch["renderingProviders"]
    ] == [("2027-01-31", []), ("2027-02-10", [CODE]), ("2027-03-15", [CODE])]

    # The claim lines.
    assert await claim_findings(api, case.client) == {"2027-01-31": [], "2027-02-10": [CODE]}

    # And the warnings of the write that scheduled the session.
    assert [w["code"] for w in made["2027-01-31"]["warnings"]] == []
    assert [w["code"] for w in made["2027-02-10"]["warnings"]] == [CODE]


async def test_a_credential_renewed_without_a_gap_makes_no_finding(api: Api) -> None:
    case = await a_case(
        api,
        [
            credential("BCBA", expires_on=LAPSES),
            credential("BCBA", expires_on="2029-01-31", issuedOn="2027-02-01"),
        ],
    )
    await sessions(api, case, "2027-01-31", "2027-02-01", "2027-02-10")

    assert await report_days(api, case.client) == []
    assert await claim_findings(api, case.client) == {
        "2027-01-31": [],
        "2027-02-01": [],
        "2027-02-10": [],
    }


async def test_a_credential_renewed_after_a_gap_makes_findings_only_in_the_gap(api: Api) -> None:
    case = await a_case(
        api,
        [
            credential("BCBA", expires_on=LAPSES),
            credential("BCBA", issuedOn="2027-02-15"),
        ],
    )
    session = ids(await sessions(api, case, "2027-01-31", "2027-02-01", "2027-02-14", "2027-02-15"))

    assert await report_days(api, case.client) == [
        ("2027-02-01", session["2027-02-01"]),
        ("2027-02-14", session["2027-02-14"]),
    ]
    assert await claim_findings(api, case.client) == {
        "2027-01-31": [],
        "2027-02-01": [CODE],
        "2027-02-14": [CODE],
        "2027-02-15": [],
    }


async def test_a_credential_issued_after_the_assignment_started_makes_findings_before_it(
    api: Api,
) -> None:
    """The CM's record is corrected after the assignment: the BCBA was in fact issued on
    2027-01-10. Every session before it, the start date's included, is a finding once."""
    case = await a_case(api, [credential("BCBA", issuedOn="2026-11-01")])
    corrected = await api(
        UPDATE_CREDENTIALS,
        {"input": {"id": case.cm, "credentials": [credential("BCBA", issuedOn="2027-01-10")]}},
    )
    assert corrected["updateProvider"]["userErrors"] == []
    session = ids(await sessions(api, case, "2026-12-01", "2027-01-09", "2027-01-10", "2027-02-10"))

    assert await report_days(api, case.client) == [
        ("2026-12-01", session["2026-12-01"]),
        ("2027-01-09", session["2027-01-09"]),
    ]
    findings = await claim_findings(api, case.client)
    assert [day for day, codes in findings.items() if CODE in codes] == [
        "2026-12-01",
        "2027-01-09",
    ]
    assert findings["2026-12-01"].count(CODE) == 1  # not doubled on the start date


async def test_a_lapse_after_the_assignment_ended_is_no_concern_of_that_assignment(
    api: Api,
) -> None:
    """A session after the lapse with a successor CM holding a current BCBA is clean."""
    case = await a_case(api, [credential("BCBA", expires_on=LAPSES)])
    successor = await create_provider(api, "Sam", "Successor")
    await record_enrollment(api, successor, case.payor, effective_from="2026-01-01")
    await b.change_case_manager(api, case.client, successor, "2027-02-01")
    await sessions(api, case, "2027-01-31", "2027-02-01")

    assert await report_days(api, case.client) == []
