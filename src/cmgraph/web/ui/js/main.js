// The reference UI: sign in, the Clients screen, a client's Clinical tab. State lives in
// memory: the URL stays /app, so nothing about a client ends up in history, logs or
// referrers, and nothing is written to localStorage or sessionStorage.

import { AuthError, gql, signIn, signOut, signedIn } from "./api.js";
import { openAdd, openChange, openEdit, openRemove } from "./case-managers.js";
import { focusByKey } from "./dialog.js";
import { announce, credentials, dateText, h, time, uid } from "./dom.js";
import { actionsMenu } from "./menu.js";

const PAGE_SIZE = 20;
const FINDINGS_SHOWN = 5;
const main = document.getElementById("main");
const state = { serviceLines: [], search: "", cursors: [null], page: 0, tab: "clinical" };

function show(...children) {
  main.replaceChildren(...children);
}

function failure(error) {
  if (error instanceof AuthError) {
    signOut();
    renderSignIn(error.message);
    return;
  }
  announce(error.message);
  return h("p", { class: "error-text", role: "alert" }, error.message);
}

// --- sign-in ------------------------------------------------------------------------------

function renderSignIn(problem) {
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  const tokenInput = h("input", { type: "password", id: "token", autocomplete: "off", spellcheck: "false", required: true });
  const error = h("p", { class: "field-error", id: "token-error" }, problem || "");
  tokenInput.setAttribute("aria-describedby", "token-hint token-error");
  if (problem) tokenInput.setAttribute("aria-invalid", "true");
  const form = h(
    "form",
    { class: "card sign-in", novalidate: true },
    h("h1", {}, "Sign in"),
    h(
      "div",
      { class: "field" },
      h("label", { for: "token" }, "API token or sign-in token (JWT)"),
      tokenInput,
      h(
        "p",
        { class: "hint", id: "token-hint" },
        "An API token from your administrator (cmgraph token create), or the JWT your practice's identity provider issued. It is kept in this tab's memory only: reloading signs you out.",
      ),
      error,
    ),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = tokenInput.value.trim();
    if (!value) {
      error.textContent = "Paste your token.";
      tokenInput.setAttribute("aria-invalid", "true");
      tokenInput.focus();
      return;
    }
    await start(value, (message) => {
      error.textContent = message;
      tokenInput.setAttribute("aria-invalid", "true");
      tokenInput.focus();
    });
  });
  show(form);
  tokenInput.focus();
}

async function start(token, onError) {
  signIn(token);
  try {
    const data = await gql("SignIn");
    state.serviceLines = data.serviceLines;
  } catch (error) {
    signOut();
    onError(error.message);
    return;
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("sign-out").hidden = false;
  announce("Signed in.");
  await renderClients();
}

// --- the Clients screen -------------------------------------------------------------------

async function renderClients(focusKey) {
  const search = h("input", { type: "search", id: "client-search", value: state.search, autocomplete: "off" });
  const form = h(
    "form",
    { class: "search", role: "search" },
    h("label", { for: "client-search" }, "Search clients by name"),
    h("div", { class: "search-row" }, search, h("button", { type: "submit", class: "primary" }, "Search")),
  );
  const results = h("div", { class: "results", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.search = search.value.trim();
    state.cursors = [null];
    state.page = 0;
    loadPage(results);
  });
  show(h("h1", {}, "Clients"), form, results);
  await loadPage(results);
  if (focusKey) focusByKey(focusKey);
  else search.focus();
}

let pageRequests = 0;

async function loadPage(results) {
  // Only the latest search may fill the list: a slower, older answer is dropped.
  pageRequests += 1;
  const mine = pageRequests;
  let data;
  try {
    data = await gql("Clients", { search: state.search || null, first: PAGE_SIZE, after: state.cursors[state.page] });
  } catch (error) {
    if (mine === pageRequests) results.replaceChildren(failure(error) || "");
    return;
  }
  if (mine !== pageRequests) return;
  const { edges, totalCount, pageInfo } = data.clients;
  state.cursors[state.page + 1] = pageInfo.endCursor;
  if (!edges.length) {
    results.replaceChildren(h("p", {}, state.search ? `No client matches “${state.search}”.` : "No clients yet."));
    return;
  }
  const first = state.page * PAGE_SIZE + 1;
  const summary = `${first}–${first + edges.length - 1} of ${totalCount} client${totalCount === 1 ? "" : "s"}`;
  const previous = h("button", { type: "button", class: "secondary", disabled: state.page === 0 }, "Previous page");
  const next = h("button", { type: "button", class: "secondary", disabled: !pageInfo.hasNextPage }, "Next page");
  previous.addEventListener("click", async () => {
    state.page -= 1;
    await loadPage(results);
    results.querySelector("table")?.focus();
  });
  next.addEventListener("click", async () => {
    state.page += 1;
    await loadPage(results);
    results.querySelector("table")?.focus();
  });
  results.replaceChildren(
    h(
      "table",
      { class: "clients", tabindex: "-1" },
      h("caption", {}, summary),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Client"), h("th", { scope: "col" }, "Record"), h("th", { scope: "col" }, "Born"), h("th", { scope: "col" }, "Case managers"))),
      h(
        "tbody",
        {},
        edges.map(({ node }) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("button", { type: "button", class: "link", "data-focus-key": `client-${node.id}`, onclick: () => renderClient(node.id) }, node.displayName)),
            h("td", {}, node.externalId || "—"),
            h("td", {}, time(node.dateOfBirth)),
            h(
              "td",
              {},
              node.serviceLines.length
                ? h("ul", { class: "inline" }, node.serviceLines.map((l) =>
                    h("li", {}, h("span", { class: "line-code" }, l.serviceLine.code), " ", l.currentCaseManager ? l.currentCaseManager.provider.displayName : h("span", { class: "missing" }, "none"))))
                : "—",
            ),
          ),
        ),
      ),
    ),
    h("nav", { class: "pager", "aria-label": "Pages of clients" }, previous, h("span", {}, `Page ${state.page + 1}`), next),
  );
}

// --- a client -----------------------------------------------------------------------------

async function renderClient(clientId, focusKey) {
  show(h("p", { class: "muted" }, "Loading…"));
  let client;
  try {
    client = (await gql("Client", { id: clientId })).client;
  } catch (error) {
    show(failure(error) || "");
    return;
  }
  if (!client) {
    show(h("p", { role: "alert" }, "This client is not available to you."), backButton(clientId));
    return;
  }
  const reload = () => renderClient(clientId);
  const tabs = [
    ["clinical", "Clinical", () => clinicalTab(client, reload)],
    ["coverage", "Coverage", () => coverageTab(client)],
  ];
  const tabList = h("div", { role: "tablist", "aria-label": client.displayName, class: "tabs" });
  const panel = h("div", { role: "tabpanel", class: "tab-panel", tabindex: "-1" });
  const tabButtons = tabs.map(([key, label, render], index) => {
    const id = `tab-${key}`;
    const button = h("button", { type: "button", role: "tab", id, "aria-selected": String(state.tab === key), tabindex: state.tab === key ? "0" : "-1" }, label);
    button.addEventListener("click", () => select(index, false));
    button.addEventListener("keydown", (event) => {
      const move = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (move) {
        event.preventDefault();
        select((index + move + tabs.length) % tabs.length, true);
      }
    });
    return button;
  });
  function select(index, focus) {
    state.tab = tabs[index][0];
    tabButtons.forEach((button, i) => {
      button.setAttribute("aria-selected", String(i === index));
      button.tabIndex = i === index ? 0 : -1;
    });
    panel.setAttribute("aria-labelledby", tabButtons[index].id);
    panel.replaceChildren(tabs[index][2]());
    if (focus) tabButtons[index].focus();
  }
  tabList.append(...tabButtons);
  const facts = [client.externalId, client.dateOfBirth ? `born ${dateText(client.dateOfBirth)}` : null].filter(Boolean).join(" · ");
  show(
    backButton(clientId),
    h("h1", { tabindex: "-1", "data-focus-key": "client-heading" }, client.displayName),
    facts ? h("p", { class: "muted" }, facts) : null,
    tabList,
    panel,
  );
  select(Math.max(0, tabs.findIndex(([key]) => key === state.tab)), false);
  if (focusKey) focusByKey(focusKey);
}

function backButton(clientId) {
  return h("button", { type: "button", class: "link back", onclick: () => renderClients(`client-${clientId}`) }, "← Clients");
}

function clinicalTab(client, reload) {
  const add = h("button", { type: "button", class: "primary", "data-focus-key": "add" }, "+ Add");
  add.addEventListener("click", () =>
    openAdd({ client, serviceLines: state.serviceLines, line: null, returnFocus: "add", reload }),
  );
  const lines = client.serviceLines.length
    ? client.serviceLines.map((line) => serviceLineCard(client, line, reload))
    : [h("p", {}, "No service line yet: add a case manager, or schedule a session.")];
  return h("div", { class: "clinical" }, h("div", { class: "toolbar" }, h("h2", { class: "visually-hidden" }, "Clinical"), add), lines);
}

function serviceLineCard(client, line, reload) {
  const code = line.serviceLine.code;
  const current = line.currentCaseManager;
  const headingId = uid("line");
  const assignmentMenu = (assignment, isCurrent) =>
    actionsMenu({
      label: `Actions for ${assignment.provider.displayName}, ${code} from ${dateText(assignment.startDate)}`,
      focusKey: isCurrent ? `current-${code}` : `menu-${assignment.id}`,
      items: [
        { action: "edit", label: "Edit", run: () => openEdit({ assignment, line: code, returnFocus: isCurrent ? `current-${code}` : `menu-${assignment.id}`, reload }) },
        ...(isCurrent
          ? [{ action: "change", label: "Change case manager", run: () => openChange({ client, line: code, current: assignment, returnFocus: `current-${code}`, reload }) }]
          : []),
        { action: "remove", label: "Remove", run: () => openRemove({ assignment, line: code, returnFocus: isCurrent ? `current-${code}` : `menu-${assignment.id}`, reload }) },
      ],
    });

  let currentBlock;
  if (current) {
    currentBlock = h(
      "div",
      { class: "current" },
      h(
        "div",
        {},
        h("p", { class: "label" }, "Current case manager"),
        h("p", { class: "cm-name" }, current.provider.displayName, h("span", { class: "muted" }, ` ${credentials(current.provider)}`)),
        h("p", {}, "Since ", time(current.startDate), current.endDate ? [" · until ", time(current.endDate)] : null),
        current.note ? h("p", { class: "muted" }, current.note) : null,
      ),
      assignmentMenu(current, true),
    );
  } else {
    const article = /^[AEFHILMNORSX]/.test(code) ? "an" : "a"; // as the letter is said: an ABA, an MH
    const addHere = h("button", { type: "button", class: "secondary", "data-focus-key": `add-${code}` }, `+ Add ${article} ${code} case manager`);
    addHere.addEventListener("click", () =>
      openAdd({ client, serviceLines: state.serviceLines, line: code, returnFocus: `add-${code}`, reload }),
    );
    // An assignment that starts later is not "no case manager": say who and from when.
    const today = new Date().toISOString().slice(0, 10);
    const next = line.history
      .filter((a) => a.startDate > today)
      .sort((a, b) => (a.startDate < b.startDate ? -1 : 1))[0];
    const said = next
      ? h("p", {}, h("strong", {}, "No current case manager: "), next.provider.displayName, " starts ", time(next.startDate), ".")
      : h("p", {}, h("strong", {}, "No current case manager."));
    currentBlock = h("div", { class: "current none" }, said, addHere);
  }

  const findings = line.findings;
  const findingItems = (all) =>
    h(
      "ul",
      { class: "findings" },
      (all ? findings : findings.slice(0, FINDINGS_SHOWN)).map((f) =>
        h(
          "li",
          { class: `finding ${f.severity.toLowerCase()}` },
          h("span", { class: `badge ${f.severity.toLowerCase()}` }, f.severity === "ERROR" ? "Error" : "Warning"),
          " ",
          h("span", { class: "code" }, f.code),
          f.date ? [" ", time(f.date)] : null,
          h("span", { class: "message" }, f.message),
        ),
      ),
    );
  const findingsBlock = h("section", { class: "line-findings", "aria-label": `${code} open findings` });
  if (findings.length) {
    const list = findingItems(false);
    findingsBlock.append(h("h3", {}, `Open findings (${findings.length})`), list);
    if (findings.length > FINDINGS_SHOWN) {
      const more = h("button", { type: "button", class: "link" }, `Show all ${findings.length}`);
      more.addEventListener("click", () => {
        list.replaceWith(findingItems(true));
        more.remove();
      });
      findingsBlock.append(more);
    }
  } else {
    findingsBlock.append(h("h3", {}, "Open findings"), h("p", { class: "ok" }, "None."));
  }

  const history = h(
    "table",
    { class: "history" },
    h("caption", {}, `${code} case manager history, latest first`),
    h("thead", {}, h("tr", {}, ["Case manager", "Start", "End", "Note", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      line.history.map((a) =>
        h(
          "tr",
          { class: current && a.id === current.id ? "is-current" : "" },
          h("td", {}, a.provider.displayName, current && a.id === current.id ? h("span", { class: "badge current-badge" }, "current") : null),
          h("td", {}, time(a.startDate)),
          h("td", {}, a.endDate ? time(a.endDate) : "open"),
          h("td", {}, a.note || ""),
          h("td", {}, current && a.id === current.id ? "" : assignmentMenu(a, false)),
        ),
      ),
    ),
  );

  return h(
    "section",
    { class: "card line", "aria-labelledby": headingId },
    h("h2", { id: headingId, tabindex: "-1", "data-focus-key": `line-${code}` }, `${code} · ${line.serviceLine.name}`),
    currentBlock,
    findingsBlock,
    line.history.length ? history : null,
  );
}

function coverageTab(client) {
  if (!client.coverages.length) return h("p", {}, "No coverage on file.");
  return h(
    "table",
    { class: "history" },
    h("caption", {}, "Coverage, primary first"),
    h("thead", {}, h("tr", {}, ["Payor", "Priority", "Member id", "From", "To"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      [...client.coverages]
        .sort((a, b) => a.priority - b.priority)
        .map((c) =>
          h("tr", {}, h("td", {}, c.payor.name), h("td", {}, c.priority === 1 ? "primary" : String(c.priority)), h("td", {}, c.memberId || "—"), h("td", {}, time(c.effectiveFrom)), h("td", {}, c.effectiveTo ? time(c.effectiveTo) : "open")),
        ),
    ),
  );
}

// --- start --------------------------------------------------------------------------------

document.getElementById("nav-clients").addEventListener("click", () => renderClients());
document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  state.search = "";
  state.cursors = [null];
  state.page = 0;
  renderSignIn();
  announce("Signed out.");
});

// A sign-in page (the identity provider's return, or the demo's link) may hand the token
// over in the URL fragment, which never reaches a server; it is dropped from the address
// bar at once.
const handed = new URLSearchParams(window.location.hash.slice(1)).get("token");
if (handed) {
  history.replaceState(null, "", window.location.pathname);
  start(handed, (message) => renderSignIn(message));
} else if (!signedIn()) {
  renderSignIn();
}
