// Small DOM helpers. Text always goes in as text (never innerHTML), so names and messages
// from the API cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "class") element.className = value;
    else if (name === "text") element.textContent = value;
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function announce(message) {
  const status = document.getElementById("status");
  status.textContent = "";
  // A new text node after a tick, so screen readers read a repeated message again.
  setTimeout(() => {
    status.textContent = message;
  }, 30);
}

export function isoDate(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

export function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return date.toISOString().slice(0, 10);
}

const formatter = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});

// A date as people read it; the ISO value stays in a <time> element.
export function dateText(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  return formatter.format(new Date(Date.UTC(y, m - 1, d)));
}

export function time(iso) {
  return iso ? h("time", { datetime: iso }, dateText(iso)) : h("span", {}, "—");
}

export function credentials(provider) {
  const types = (provider.credentials || []).map((c) => c.type);
  return types.length ? types.join(", ") : "no credential";
}
