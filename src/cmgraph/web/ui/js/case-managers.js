// The Clinical tab's writes: + Add, and the three dots' Edit, Change and Remove. Each form
// shows the dry run's findings before saving and puts a refusal on the field it concerns.

import { gql } from "./api.js";
import { openDialog } from "./dialog.js";
import { addDays, announce, credentials, dateText, h, isoDate } from "./dom.js";
import { field, findingsList, showErrors } from "./forms.js";

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Runs the latest dry run only: an answer to an older request is dropped.
function latestOnly(run) {
  let sequence = 0;
  return async (...args) => {
    sequence += 1;
    const mine = sequence;
    const result = await run(...args);
    return mine === sequence ? result : undefined;
  };
}

function buttons(...children) {
  return h("div", { class: "dialog-actions" }, children);
}

function dryRunPanel() {
  const list = h("div", { class: "dry-run-body" }, h("p", { class: "muted" }, "Fill in the required fields to see what the rules say."));
  const panel = h(
    "section",
    { class: "dry-run", "aria-live": "polite", "aria-label": "Check before saving" },
    h("h3", {}, "Check before saving"),
    list,
  );
  return {
    panel,
    busy() {
      list.replaceChildren(h("p", { class: "muted" }, "Checking…"));
    },
    show(findings) {
      list.replaceChildren(findingsList(findings, "No findings: the rules allow this."));
    },
    fail(message) {
      list.replaceChildren(h("p", { class: "error-text" }, message));
    },
  };
}

function providerOption(provider) {
  const inactive = provider.active === false ? " (inactive)" : "";
  return h("option", { value: provider.id }, `${provider.displayName} — ${credentials(provider)}${inactive}`);
}

export function openAdd({ client, serviceLines, line, returnFocus, reload }) {
  const ui = openDialog({ title: `Add a case manager for ${client.displayName}`, returnFocus, fallbackFocus: "add" });
  const lineSelect = h(
    "select",
    {},
    h("option", { value: "" }, "Choose a service line"),
    serviceLines.map((l) => h("option", { value: l.code, selected: l.code === line }, `${l.code} · ${l.name}`)),
  );
  const search = h("input", { type: "search", autocomplete: "off", placeholder: "Type part of a name" });
  const providerSelect = h("select", {}, h("option", { value: "" }, "Loading providers…"));
  const start = h("input", { type: "date", value: isoDate(new Date()) });
  const end = h("input", { type: "date" });
  const note = h("textarea", { rows: "2" });
  const message = h("div", { class: "form-message", role: "alert" });
  const dry = dryRunPanel();
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => ui.close() }, "Cancel");
  const form = h(
    "form",
    { novalidate: true },
    h("p", { class: "muted" }, "Client: ", h("strong", {}, client.displayName)),
    field({ name: "serviceLine", label: "Service line", control: lineSelect, required: true }).wrapper,
    field({ name: "providerSearch", label: "Find a provider", control: search, hint: "Narrows the provider list below." }).wrapper,
    field({ name: "providerId", label: "Provider", control: providerSelect, required: true }).wrapper,
    h(
      "div",
      { class: "row" },
      field({ name: "startDate", label: "Start date", control: start, required: true }).wrapper,
      field({ name: "endDate", label: "End date", control: end, hint: "Leave empty while they stay." }).wrapper,
    ),
    field({ name: "note", label: "Note", control: note }).wrapper,
    dry.panel,
    message,
    buttons(cancel, save),
  );
  ui.body.append(form);

  async function loadProviders() {
    const chosen = providerSelect.value;
    try {
      const data = await gql("Providers", { search: search.value.trim() || null });
      const providers = data.providers.edges.map((e) => e.node);
      providerSelect.replaceChildren(
        h("option", { value: "" }, providers.length ? "Choose a provider" : "No provider matches"),
        ...providers.map(providerOption),
      );
      if (providers.some((p) => p.id === chosen)) providerSelect.value = chosen;
    } catch (error) {
      message.textContent = error.message;
    }
  }

  function input() {
    return {
      clientId: client.id,
      serviceLine: lineSelect.value,
      providerId: providerSelect.value,
      startDate: start.value,
      endDate: end.value || null,
      note: note.value.trim() || null,
    };
  }

  const check = latestOnly((values) => gql("CheckCaseManager", { input: values }));
  const runDryRun = debounce(async () => {
    const values = input();
    if (!values.serviceLine || !values.providerId || !values.startDate) return;
    dry.busy();
    try {
      const data = await check(values);
      if (!data) return;
      dry.show(data.checkCaseManager);
      showErrors(form, data.checkCaseManager.filter((f) => f.severity === "ERROR"), message);
    } catch (error) {
      dry.fail(error.message);
    }
  }, 250);

  search.addEventListener("input", debounce(loadProviders, 250));
  for (const control of [lineSelect, providerSelect, start, end]) {
    control.addEventListener("change", runDryRun);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = input();
    const missing = [
      ["serviceLine", "Choose a service line."],
      ["providerId", "Choose a provider."],
      ["startDate", "Enter the start date."],
    ]
      .filter(([name]) => !values[name])
      .map(([name, text]) => ({ field: ["input", name], code: "REQUIRED", message: text }));
    if (missing.length) {
      showErrors(form, missing, message)?.focus();
      return;
    }
    save.disabled = true;
    try {
      const data = await gql("AddCaseManager", { input: values });
      const payload = data.addCaseManager;
      if (payload.userErrors.length) {
        dry.show([...payload.userErrors.map((e) => ({ ...e, severity: "ERROR" })), ...payload.warnings]);
        showErrors(form, payload.userErrors, message)?.focus();
        announce("Not saved: see the fields marked in error.");
        return;
      }
      await reload();
      announce(payload.warnings.length ? "Case manager added, with warnings." : "Case manager added.");
      ui.focusAfter(`current-${values.serviceLine}`, `line-${values.serviceLine}`, returnFocus);
      ui.close();
    } catch (error) {
      message.textContent = error.message;
    } finally {
      save.disabled = false;
    }
  });
  loadProviders();
  lineSelect.focus();
}

export function openEdit({ assignment, line, returnFocus, reload }) {
  const who = assignment.provider.displayName;
  const ui = openDialog({ title: `Edit ${who}'s assignment (${line})`, returnFocus, fallbackFocus: `line-${line}` });
  const start = h("input", { type: "date", value: assignment.startDate });
  const end = h("input", { type: "date", value: assignment.endDate || "" });
  const note = h("textarea", { rows: "3" }, assignment.note || "");
  const message = h("div", { class: "form-message", role: "alert" });
  const warnings = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h(
    "form",
    { novalidate: true },
    h(
      "div",
      { class: "row" },
      field({ name: "startDate", label: "Start date", control: start, required: true }).wrapper,
      field({ name: "endDate", label: "End date", control: end, hint: "The last day they are the case manager; empty: open-ended." }).wrapper,
    ),
    field({ name: "note", label: "Note", control: note }).wrapper,
    warnings,
    message,
    buttons(h("button", { type: "button", class: "secondary", onclick: () => ui.close() }, "Cancel"), save),
  );
  ui.body.append(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      const data = await gql("UpdateCaseManager", {
        input: {
          id: assignment.id,
          version: assignment.version,
          startDate: start.value || null,
          endDate: end.value || null,
          note: note.value,
        },
      });
      const payload = data.updateCaseManager;
      if (payload.userErrors.length) {
        warnings.replaceChildren(findingsList(payload.warnings, ""));
        showErrors(form, payload.userErrors, message)?.focus();
        return;
      }
      await reload();
      announce("Assignment saved.");
      ui.close();
    } catch (error) {
      message.textContent = error.message;
    } finally {
      save.disabled = false;
    }
  });
  end.focus();
}

export function openRemove({ assignment, line, returnFocus, reload }) {
  const who = assignment.provider.displayName;
  const ui = openDialog({ title: `Remove ${who}'s assignment?`, returnFocus, fallbackFocus: `line-${line}` });
  const outcome = h("div", { class: "form-message" });
  const remove = h("button", { type: "button", class: "danger" }, "Remove");
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => ui.close() }, "Keep it");
  ui.body.append(
    h(
      "p",
      {},
      `${who} as ${line} case manager from ${dateText(assignment.startDate)}`,
      assignment.endDate ? ` to ${dateText(assignment.endDate)}` : "",
      ".",
    ),
    h(
      "p",
      { class: "muted" },
      "Removing is only for an assignment entered by mistake: it erases it from the history. " +
        "To stop someone being the case manager, edit the end date or change the case manager.",
    ),
    outcome,
    buttons(cancel, remove),
  );
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      const data = await gql("RemoveCaseManager", { input: { id: assignment.id, version: assignment.version } });
      const errors = data.removeCaseManager.userErrors;
      if (errors.length) {
        outcome.replaceChildren(
          h(
            "div",
            { class: "refusal", role: "alert" },
            errors.map((e) =>
              e.code === "ASSIGNMENT_IN_USE"
                ? h(
                    "div",
                    {},
                    h("p", {}, h("strong", {}, "Not removed: this assignment is in use. ")),
                    h(
                      "p",
                      {},
                      `Completed sessions fall within its period, and their claims name ${who} as the ` +
                        "rendering provider, so the record must stay. To end it, edit its end date " +
                        "or change the case manager instead.",
                    ),
                    h("p", { class: "muted" }, h("span", { class: "code" }, e.code), " ", e.message),
                  )
                : h("p", {}, h("span", { class: "code" }, e.code), " ", e.message),
            ),
          ),
        );
        // Trying again cannot succeed while those sessions exist: only Close is left.
        remove.hidden = true;
        cancel.textContent = "Close";
        cancel.focus();
        return;
      }
      await reload();
      announce(`${who}'s assignment removed.`);
      ui.focusAfter(`line-${line}`);
      ui.close();
    } catch (error) {
      outcome.replaceChildren(h("p", { class: "error-text", role: "alert" }, error.message));
    } finally {
      remove.disabled = false;
    }
  });
  cancel.focus();
}

export function openChange({ client, line, current, returnFocus, reload }) {
  const who = current.provider.displayName;
  const ui = openDialog({
    title: `Change the ${line} case manager of ${client.displayName}`,
    returnFocus,
    fallbackFocus: `line-${line}`,
    className: "wide",
  });
  const start = h("input", { type: "date", value: addDays(isoDate(new Date()), 1) });
  const ending = h("p", { class: "ending", "aria-live": "polite" });
  const candidates = h("div", { class: "candidates" });
  const fieldset = h(
    "fieldset",
    { class: "field", "data-field": "providerId" },
    h("legend", {}, "New case manager ", h("span", { class: "required" }, "(required)")),
    h("p", { class: "hint" }, "Qualified, credentialed providers, the most familiar with the client first."),
    candidates,
    h("p", { class: "field-error", "data-error-for": "providerId" }),
  );
  const message = h("div", { class: "form-message", role: "alert" });
  const dry = dryRunPanel();
  const save = h("button", { type: "submit", class: "primary" }, "Change case manager");
  const form = h(
    "form",
    { novalidate: true },
    h("p", {}, "Current case manager: ", h("strong", {}, who), ` (${credentials(current.provider)}), since ${dateText(current.startDate)}.`),
    field({ name: "startDate", label: "New case manager starts on", control: start, required: true }).wrapper,
    ending,
    fieldset,
    dry.panel,
    message,
    buttons(h("button", { type: "button", class: "secondary", onclick: () => ui.close() }, "Cancel"), save),
  );
  ui.body.append(form);

  const chosen = () => form.querySelector('input[name="providerId"]:checked')?.value || "";
  const values = () => ({ clientId: client.id, serviceLine: line, providerId: chosen(), startDate: start.value });

  function showEnding() {
    ending.textContent = start.value
      ? `${who}'s assignment will end on ${dateText(addDays(start.value, -1))}, the day before; it stays in the history.`
      : "";
  }

  const suggest = latestOnly((date) => gql("SuggestCaseManagers", { clientId: client.id, serviceLine: line, startDate: date }));
  async function loadSuggestions() {
    showEnding();
    if (!start.value) return;
    candidates.replaceChildren(h("p", { class: "muted" }, "Finding candidates…"));
    try {
      const data = await suggest(start.value);
      if (!data) return;
      const list = data.suggestCaseManagers;
      if (!list.length) {
        candidates.replaceChildren(
          h("p", {}, "No provider can take over on this date without a blocking finding. Try another start date."),
        );
        return;
      }
      candidates.replaceChildren(
        h(
          "ul",
          { class: "candidate-list" },
          list.map((candidate, index) => {
            const id = `candidate-${index}`;
            const sessions = candidate.sessionsLast30Days;
            const radio = h("input", { type: "radio", name: "providerId", id, value: candidate.provider.id });
            radio.addEventListener("change", runDryRun);
            return h(
              "li",
              {},
              radio,
              h(
                "label",
                { for: id },
                h("strong", {}, candidate.provider.displayName),
                ` (${credentials(candidate.provider)}) · ${sessions} session${sessions === 1 ? "" : "s"} with ${client.displayName} in the 30 days before`,
                candidate.findings.length
                  ? h("span", { class: "badge warning" }, candidate.findings.map((f) => f.code).join(", "))
                  : null,
              ),
            );
          }),
        ),
      );
    } catch (error) {
      candidates.replaceChildren(h("p", { class: "error-text" }, error.message));
    }
  }

  const check = latestOnly((input) => gql("CheckChangeCaseManager", { input }));
  async function runDryRun() {
    const input = values();
    if (!input.providerId || !input.startDate) return;
    dry.busy();
    try {
      const data = await check(input);
      if (!data) return;
      dry.show(data.checkChangeCaseManager);
      showErrors(form, data.checkChangeCaseManager.filter((f) => f.severity === "ERROR"), message);
    } catch (error) {
      dry.fail(error.message);
    }
  }

  start.addEventListener("change", debounce(async () => {
    await loadSuggestions();
    dry.show([]);
  }, 250));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = values();
    if (!input.providerId || !input.startDate) {
      const missing = [];
      if (!input.startDate) missing.push({ field: ["input", "startDate"], code: "REQUIRED", message: "Enter the start date." });
      if (!input.providerId) missing.push({ field: ["input", "providerId"], code: "REQUIRED", message: "Choose the new case manager." });
      showErrors(form, missing, message)?.focus();
      return;
    }
    save.disabled = true;
    try {
      const data = await gql("ChangeCaseManager", { input });
      const payload = data.changeCaseManager;
      if (payload.userErrors.length) {
        dry.show([...payload.userErrors.map((e) => ({ ...e, severity: "ERROR" })), ...payload.warnings]);
        showErrors(form, payload.userErrors, message)?.focus();
        return;
      }
      await reload();
      announce(`Case manager changed. ${who}'s assignment ended on ${dateText(payload.ended?.endDate)}.`);
      ui.close();
    } catch (error) {
      message.textContent = error.message;
    } finally {
      save.disabled = false;
    }
  });
  loadSuggestions();
  start.focus();
}
