// Modal dialogs (<dialog> with showModal: the browser traps focus and Escape cancels) and
// the focus rule after one closes: back to the control that opened it, found again by its
// data-focus-key because saving re-renders the screen; else to a fallback, never to <body>.

import { h, uid } from "./dom.js";

export function focusByKey(...keys) {
  for (const key of keys) {
    if (!key) continue;
    const target = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (target) {
      target.focus();
      return true;
    }
  }
  document.getElementById("main").focus();
  return false;
}

export function openDialog({ title, returnFocus, fallbackFocus, className }) {
  const titleId = uid("dialog-title");
  const body = h("div", { class: "dialog-body" });
  const closeButton = h("button", { type: "button", class: "icon", "aria-label": "Close dialog" }, "×");
  const dialog = h(
    "dialog",
    { class: `dialog ${className || ""}`, "aria-labelledby": titleId },
    h("div", { class: "dialog-head" }, h("h2", { id: titleId }, title), closeButton),
    body,
  );
  let keys = [returnFocus, fallbackFocus];
  const api = {
    dialog,
    body,
    // Where focus goes on close, when the default (the opener) is not the right place.
    focusAfter(...next) {
      keys = next;
    },
    close() {
      dialog.close();
    },
  };
  closeButton.addEventListener("click", () => api.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    focusByKey(...keys);
  });
  document.body.append(dialog);
  dialog.showModal();
  return api;
}
