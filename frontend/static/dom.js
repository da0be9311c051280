// Building DOM nodes from data without innerHTML, so text from the API can never become markup.

/**
 * h("li", {class: "book", dataset: {bookId: "b1"}, onclick: fn}, "text", childNode, [more, children])
 * Attributes: `class`, `dataset`, `on<event>` handlers, booleans (true = present, false/null = absent).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces every child of `element` with `children`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no element #${id}`);
  return element;
}

/** Says `message` to screen readers through the page's polite live region. */
export function announce(message) {
  const region = byId("announcer");
  region.textContent = "";
  // A fresh text node after a tick makes screen readers repeat an identical message.
  setTimeout(() => { region.textContent = message; }, 50);
}

const CURRENCY = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });

export function formatPrice(value) {
  const number = typeof value === "number" ? value : Number.parseFloat(value);
  return Number.isFinite(number) ? CURRENCY.format(number) : "—";
}

/** A time of day from a Date, an ISO string, or epoch seconds/milliseconds. */
export function formatTime(value) {
  let date;
  if (value instanceof Date) date = value;
  else if (typeof value === "number") date = new Date(value < 1e12 ? value * 1000 : value);
  else date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value ?? "") : date.toLocaleTimeString();
}
