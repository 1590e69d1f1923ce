"""The reference UI and GraphiQL in a real browser (Chromium), against `cmgraph serve` on the
demo practice: what a billing coordinator does on the Clients screen and the Clinical tab."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cmgraph.demo import catalog
from tests.ui.served_practice import Practice

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page: Any, practice: Practice) -> None:
    page.goto(f"{practice.url}/app")
    page.get_by_label("API token or sign-in token (JWT)").fill(practice.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Clients")).to_be_visible()


def open_client(page: Any, name: str) -> None:
    page.get_by_label("Search clients by name").fill(name.split()[-1])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=name).click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("tab", name="Clinical")).to_have_attribute("aria-selected", "true")


def line_card(page: Any, code: str) -> Any:
    return page.get_by_role("region", name=re.compile(rf"^{code} · "))


def open_menu_item(page: Any, code: str, item: str) -> None:
    card = line_card(page, code)
    card.get_by_role("button", name=re.compile("^Actions for")).first.click()
    card.get_by_role("menuitem", name=item).click()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    page.evaluate(AXE)  # evaluated by the driver: the page's CSP still forbids inline scripts
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def assert_nothing_kept(page: Any, practice: Practice) -> None:
    """Nothing about a client in the URL or in the browser's storage, nothing from outside."""
    assert page.url == f"{practice.url}/app"
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.length") == 0
    assert page.offline.outside == []
    assert page.offline.console == []


def ids(practice: Practice, client: str, provider: str | None = None) -> tuple[str, str | None]:
    data = practice.gql(
        "query($c: String!, $p: String) { clients(search: $c) { edges { node { id } } } "
        "providers(search: $p) { edges { node { id } } } }",
        {"c": client, "p": provider or "nobody-at-all"},
    )
    provider_edges = data["providers"]["edges"]
    return data["clients"]["edges"][0]["node"]["id"], (
        provider_edges[0]["node"]["id"] if provider else None
    )


def first_date(practice: Practice, ok: Any) -> str:
    """The first date from today (the practice's) for which ok(date) holds."""
    today = date.fromisoformat(_today())
    for offset in range(21):
        day = (today + timedelta(days=offset)).isoformat()
        if ok(day):
            return day
    raise AssertionError("no date in three weeks suits the scenario")


def _today() -> str:
    """Today in the demo practice's zone: the demo is built around it."""
    return datetime.now(ZoneInfo(catalog.TIMEZONE)).date().isoformat()


def test_graphiql_runs_a_query_without_the_internet(page: Any, practice: Practice) -> None:
    page.goto(f"{practice.url}/graphql#token={practice.token}")
    expect(page.locator(".graphiql-container")).to_be_visible(timeout=30_000)
    assert "token" not in page.url  # dropped from the address bar at once
    headers = page.locator(".graphiql-editor-tool .graphiql-editor").last
    expect(headers).to_contain_text(f"Bearer {practice.token}")
    expect(page.get_by_role("tab", name=re.compile("ClinicalTab"))).to_be_visible()
    page.locator(".graphiql-execute-button").click()
    expect(page.locator(".result-window")).to_contain_text('"totalCount": 1', timeout=30_000)
    expect(page.locator(".result-window")).to_contain_text("Adrian Aguilar")
    assert page.offline.outside == []
    assert page.offline.console == []
    assert page.evaluate("localStorage.length") == 0


def test_search_and_the_clinical_tab(page: Any, practice: Practice, shot: Any) -> None:
    sign_in(page, practice)
    page.get_by_label("Search clients by name").fill("bennett")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("table")).to_contain_text("1\u20131 of 1 client")
    page.get_by_role("button", name="Noah Bennett").click()
    st = line_card(page, "ST")
    expect(st).to_contain_text("Current case manager")
    expect(st).to_contain_text("Emily Hartley")
    expect(st.get_by_role("region", name="ST open findings")).to_contain_text("NOT_CREDENTIALED")
    expect(st.get_by_role("table")).to_contain_text("Emily Hartley")
    expect(line_card(page, "OT")).to_contain_text("Rosa Castillo")
    shot("clinical-tab", full_page=True)
    assert serious_violations(page) == []
    # Back to the list, to the same client, and through its pages.
    page.get_by_role("button", name="← Clients").click()
    expect(page.get_by_role("button", name="Noah Bennett")).to_be_focused()
    page.get_by_label("Search clients by name").fill("")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("table")).to_contain_text("1\u201320 of 50 clients")
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_role("table")).to_contain_text("21\u201340 of 50 clients")
    assert serious_violations(page) == []
    assert_nothing_kept(page, practice)


def test_add_shows_not_familiar_and_refuses_another_discipline_on_the_provider_field(
    page: Any, practice: Practice, shot: Any
) -> None:
    ava, emily = ids(practice, "Ava Thompson", "Emily Hartley")
    check = "query($i: AddCaseManagerInput!) { checkCaseManager(input: $i) { code } }"

    def only_not_familiar(day: str) -> bool:
        found = practice.gql(
            check,
            {"i": {"clientId": ava, "serviceLine": "ST", "providerId": emily, "startDate": day}},
        )
        return [f["code"] for f in found["checkCaseManager"]] == ["NOT_FAMILIAR"]

    start = first_date(practice, only_not_familiar)
    sign_in(page, practice)
    open_client(page, "Ava Thompson")
    page.get_by_role("button", name="+ Add an ST case manager").click()
    dialog = page.get_by_role("dialog", name="Add a case manager for Ava Thompson")
    expect(dialog.get_by_role("combobox", name="Service line (required)")).to_have_value("ST")
    provider = dialog.get_by_role("combobox", name="Provider (required)")
    dialog.get_by_label("Start date").fill(start)

    # Another discipline: the dry run, then the refusal, on the provider field.
    provider.select_option(label="Ben Sullivan \u2014 PT")
    dry_run = dialog.get_by_role("region", name="Check before saving")
    expect(dry_run).to_contain_text("DISCIPLINE_MISMATCH")
    dialog.get_by_role("button", name="Save").click()
    expect(provider).to_have_attribute("aria-invalid", "true")
    expect(provider).to_have_accessible_description(re.compile("DISCIPLINE_MISMATCH"))
    expect(provider).to_be_focused()
    shot("add-discipline-mismatch")
    assert serious_violations(page) == []

    # The SLP who never saw Ava: allowed, with NOT_FAMILIAR before saving.
    provider.select_option(label="Emily Hartley \u2014 SLP")
    expect(dry_run).to_contain_text("NOT_FAMILIAR")
    expect(dry_run).not_to_contain_text("DISCIPLINE_MISMATCH")
    expect(provider).not_to_have_attribute("aria-invalid", "true")
    shot("add-not-familiar")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    st = line_card(page, "ST")
    expect(st).to_contain_text("Emily Hartley")
    # Focus after the dialog: on the new CM's actions, not lost on the page.
    expect(st.get_by_role("button", name=re.compile("^Actions for Emily Hartley"))).to_be_focused()

    # The three dots edit it: a note (and the end date field is there to end it).
    open_menu_item(page, "ST", "Edit")
    edit = page.get_by_role("dialog", name=re.compile("^Edit Emily Hartley"))
    expect(edit.get_by_label("End date")).to_be_focused()
    edit.get_by_label("Note").fill("Covers while Carlos is full")
    edit.get_by_role("button", name="Save").click()
    expect(edit).to_be_hidden()
    expect(line_card(page, "ST")).to_contain_text("Covers while Carlos is full")
    assert_nothing_kept(page, practice)


def test_change_from_a_suggestion(page: Any, practice: Practice, shot: Any) -> None:
    noah, _ = ids(practice, "Noah Bennett")
    suggest = (
        'query($c: ID!, $d: Date!) { suggestCaseManagers(clientId: $c, serviceLine: "ST", '
        "startDate: $d) { provider { displayName } } }"
    )

    def carlos_first(day: str) -> bool:
        found = practice.gql(suggest, {"c": noah, "d": day})["suggestCaseManagers"]
        return bool(found) and found[0]["provider"]["displayName"] == "Carlos Ramirez"

    start = first_date(practice, lambda day: day > _today() and carlos_first(day))
    sign_in(page, practice)
    open_client(page, "Noah Bennett")
    open_menu_item(page, "ST", "Change case manager")
    dialog = page.get_by_role("dialog", name="Change the ST case manager of Noah Bennett")
    dialog.get_by_label("New case manager starts on").fill(start)
    day_before = date.fromisoformat(start) - timedelta(days=1)
    expect(dialog).to_contain_text("Emily Hartley's assignment will end on")
    candidates = dialog.get_by_role("radio")
    expect(candidates.first).to_have_accessible_name(re.compile("^Carlos Ramirez"))
    candidates.first.check()
    expect(dialog.get_by_role("region", name="Check before saving")).not_to_contain_text("Checking")
    shot("change-suggestions")
    assert serious_violations(page) == []
    dialog.get_by_role("button", name="Change case manager").click()
    expect(dialog).to_be_hidden()

    history = practice.gql(
        'query($c: ID!) { client(id: $c) { caseManagers(serviceLine: "ST") '
        "{ provider { displayName } startDate endDate } } }",
        {"c": noah},
    )["client"]["caseManagers"]
    ends = {a["provider"]["displayName"]: (a["startDate"], a["endDate"]) for a in history}
    assert ends["Emily Hartley"][1] == day_before.isoformat()  # the day before, kept
    assert ends["Carlos Ramirez"] == (start, None)
    table = line_card(page, "ST").get_by_role("table")
    expect(table).to_contain_text("Carlos Ramirez")
    expect(table).to_contain_text("Emily Hartley")
    assert_nothing_kept(page, practice)


def test_removing_a_cm_who_covers_a_completed_session_is_refused_in_words(
    page: Any, practice: Practice, shot: Any
) -> None:
    sign_in(page, practice)
    open_client(page, "Liam Carter")
    open_menu_item(page, "ABA", "Remove")
    dialog = page.get_by_role("dialog", name="Remove Marcus Reed's assignment?")
    dialog.get_by_role("button", name="Remove").click()
    refusal = dialog.get_by_role("alert")
    expect(refusal).to_contain_text("Not removed: this assignment is in use.")
    expect(refusal).to_contain_text("Completed sessions fall within its period")
    expect(refusal).to_contain_text("ASSIGNMENT_IN_USE")
    expect(dialog.get_by_role("button", name="Remove")).to_be_hidden()
    expect(dialog.get_by_role("button", name="Close", exact=True)).to_be_focused()
    shot("remove-in-use")
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    aba = line_card(page, "ABA")
    expect(aba).to_contain_text("Marcus Reed")
    expect(aba.get_by_role("button", name=re.compile("^Actions for Marcus Reed"))).to_be_focused()
    assert_nothing_kept(page, practice)
