// Small DOM helpers shared by the ES-module pages. Text goes in as text (never innerHTML).
export const $ = (id) => document.getElementById(id);

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function options(select, values, labelOf, selected) {
  select.replaceChildren(...values.map((v) => el("option", { value: v, text: labelOf(v), selected: v === selected })));
}

// RFC 3339 in UTC, whole seconds (what the API stores; an identical retry compares equal).
export function isoSeconds(date) { return date.toISOString().replace(/\.\d{3}Z$/, "Z"); }

export function uuid() { return crypto.randomUUID(); }
