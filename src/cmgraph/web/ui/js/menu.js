// The three-dots menu (the ARIA menu button pattern): Enter, Space or ArrowDown open it on
// the first item, arrows move, Escape closes it and returns to the button.

import { h, uid } from "./dom.js";

let openMenu = null;

function closeOpen(focusButton) {
  if (!openMenu) return;
  const { button, list } = openMenu;
  list.hidden = true;
  button.setAttribute("aria-expanded", "false");
  openMenu = null;
  if (focusButton) button.focus();
}

document.addEventListener("click", (event) => {
  if (openMenu && !openMenu.root.contains(event.target)) closeOpen(false);
});

export function actionsMenu({ label, focusKey, items }) {
  const menuId = uid("menu");
  const button = h(
    "button",
    {
      type: "button",
      class: "icon dots",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": menuId,
      "aria-label": label,
      "data-focus-key": focusKey,
    },
    h("span", { "aria-hidden": "true" }, "⋯"),
  );
  const entries = items.map((item) =>
    h("button", { type: "button", role: "menuitem", tabindex: "-1", "data-action": item.action }, item.label),
  );
  const list = h("div", { role: "menu", id: menuId, class: "menu", hidden: true, "aria-label": label }, entries);
  const root = h("div", { class: "menu-wrap" }, button, list);

  function open(index) {
    closeOpen(false);
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    openMenu = { root, button, list };
    entries[index].focus();
  }

  button.addEventListener("click", () => (list.hidden ? open(0) : closeOpen(true)));
  button.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      open(0);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      open(entries.length - 1);
    }
  });
  entries.forEach((entry, index) => {
    entry.addEventListener("keydown", (event) => {
      const move = { ArrowDown: 1, ArrowUp: -1 }[event.key];
      if (move) {
        event.preventDefault();
        entries[(index + move + entries.length) % entries.length].focus();
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        entries[event.key === "Home" ? 0 : entries.length - 1].focus();
      } else if (event.key === "Escape" || event.key === "Tab") {
        event.preventDefault();
        closeOpen(true);
      }
    });
    entry.addEventListener("click", () => {
      closeOpen(false);
      items[index].run();
    });
  });
  return root;
}
