// Form fields with their own error line, and the findings of a dry run or a refusal.

import { h, uid } from "./dom.js";

// One labelled field. The error line is tied to the control (aria-describedby), and a
// refused field is marked aria-invalid, so a screen reader hears why it was refused.
export function field({ name, label, control, hint, required }) {
  const id = uid(`f-${name}`);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  control.id = id;
  control.name = name;
  if (required) control.required = true;
  control.setAttribute("aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
  const error = h("p", { class: "field-error", id: errorId, "data-error-for": name });
  const wrapper = h(
    "div",
    { class: "field", "data-field": name },
    h("label", { for: id }, label, required ? h("span", { class: "required" }, " (required)") : null),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    error,
  );
  return { wrapper, control, error };
}

export function fieldName(path) {
  return path && path.length ? path[path.length - 1] : null;
}

// Messages keyed by the input field they concern; the rest go to the form's message box.
export function showErrors(form, problems, box) {
  for (const error of form.querySelectorAll(".field-error")) error.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
  }
  const general = [];
  let first = null;
  for (const problem of problems) {
    const name = fieldName(problem.field);
    const error = name && form.querySelector(`[data-error-for="${name}"]`);
    if (!error) {
      general.push(problem);
      continue;
    }
    const line = h("span", { class: "code" }, problem.code);
    error.append(error.childNodes.length ? " " : "", line, " ", problem.message);
    const control = form.querySelector(`[data-field="${name}"] input, [data-field="${name}"] select, [data-field="${name}"] textarea`);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      first = first || control;
    }
  }
  box.replaceChildren();
  if (general.length) {
    box.append(
      h("ul", { class: "form-errors" }, general.map((p) =>
        h("li", {}, h("span", { class: "code" }, p.code), " ", p.message))),
    );
  }
  return first;
}

const SEVERITY = { ERROR: "Blocks saving", WARNING: "Warning" };

export function findingsList(findings, emptyText) {
  if (!findings.length) return h("p", { class: "ok" }, emptyText);
  return h(
    "ul",
    { class: "findings" },
    findings.map((f) =>
      h(
        "li",
        { class: `finding ${f.severity.toLowerCase()}` },
        h("span", { class: `badge ${f.severity.toLowerCase()}` }, SEVERITY[f.severity] || f.severity),
        " ",
        h("span", { class: "code" }, f.code),
        f.date ? h("span", { class: "date" }, ` ${f.date}`) : null,
        h("span", { class: "message" }, f.message),
      ),
    ),
  );
}

export function input(attrs) {
  return h("input", attrs);
}
