// My contacts: newest first, open one, amend it with the version read (a 409 says someone changed
// it meanwhile: the latest version is shown and the officer's changes can be applied on top of it),
// and the officer's own figures for this week and month.
import { $, el, options } from "./dom.js";
import { ApiError, problemText } from "./api.js";
import { OUTCOMES, TOPICS } from "./lists.js";
import { tagsOf } from "./team-log.js";

const state = { cursor: null, contact: null, pending: null };
const FIELDS = ["topic", "outcome", "notes", "tags"];

function card(ctx, c) {
  const open = el("button", { type: "button", class: "link-button",
    text: ctx.i18n.value("topic", c.topic) + ": " + ctx.i18n.value("outcome", c.outcome) });
  open.addEventListener("click", () => openContact(ctx, c.id).catch(ctx.failed));
  const where = c.kind === "street" ? ctx.i18n.value("setting", c.setting) : ctx.i18n.value("platform", c.platform) + ", " + ctx.i18n.value("direction", c.direction);
  return el("li", { class: "card", "data-id": c.id }, el("h3", {}, open),
    el("p", { class: "meta", text: ctx.i18n.value("kind", c.kind) + " · " + where + " · " + new Date(c.occurred_at).toLocaleString(ctx.i18n.language === "cy" ? "cy-GB" : "en-GB") }),
    c.notes ? el("p", { text: c.notes }) : null);
}

async function loadPage(ctx, more) {
  const query = new URLSearchParams({ limit: "25" });
  if (more && state.cursor) query.set("cursor", state.cursor);
  const page = await ctx.api.get("/v1/contacts?" + query);
  const cards = page.items.map((c) => card(ctx, c));
  if (more) $("mine-list").append(...cards);
  else $("mine-list").replaceChildren(...cards);
  if (!more && !page.items.length) $("mine-list").append(el("li", { text: ctx.t("mine_none") }));
  state.cursor = page.next_cursor;
  $("mine-more").hidden = !state.cursor;
}

function fillForm(ctx, c, values) {
  const v = values || c;
  options($("amend-topic"), TOPICS, (x) => ctx.i18n.value("topic", x), v.topic);
  options($("amend-outcome"), OUTCOMES, (x) => ctx.i18n.value("outcome", x), v.outcome);
  $("amend-notes").value = v.notes || "";
  $("amend-tags").value = (v.tags || []).join(", ");
  $("detail-meta").textContent = ctx.t("version_is", { version: c.version, at: c.updated_at });
}

async function openContact(ctx, id) {
  state.contact = await ctx.api.get("/v1/contacts/" + encodeURIComponent(id));
  state.pending = null;
  $("amend-conflict").hidden = true;
  $("amend-error").textContent = "";
  fillForm(ctx, state.contact);
  $("contact-detail").hidden = false;
  $("detail-title").focus();
}

function wanted() {
  const notes = $("amend-notes").value.trim();
  return { topic: $("amend-topic").value, outcome: $("amend-outcome").value, notes: notes || null, tags: tagsOf($("amend-tags").value) };
}

function fieldsOf(c) {
  return { topic: c.topic, outcome: c.outcome, notes: c.notes || null, tags: c.tags || [] };
}

function changesFrom(base, values) {
  const changes = {};
  for (const field of FIELDS) {
    const before = field === "notes" ? base.notes || null : base[field];
    if (JSON.stringify(before) !== JSON.stringify(values[field])) changes[field] = values[field];
  }
  return changes;
}

async function save(ctx, values) {
  const changes = changesFrom(state.contact, values);
  if (!Object.keys(changes).length) return ctx.say(ctx.t("no_changes"));
  try {
    state.contact = await ctx.api.patch("/v1/contacts/" + encodeURIComponent(state.contact.id), { version: state.contact.version, ...changes });
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return conflict(ctx, changes);
    $("amend-error").textContent = problemText(error);
    return null;
  }
  state.pending = null;
  $("amend-conflict").hidden = true;
  fillForm(ctx, state.contact);
  ctx.say(ctx.t("amended", { version: state.contact.version }));
  return loadPage(ctx, false);
}

// Someone (a supervisor, or this officer on another device) amended it since it was read: keep
// only what this officer changed, to apply on top of the latest version if they choose to.
async function conflict(ctx, changes) {
  const latest = await ctx.api.get("/v1/contacts/" + encodeURIComponent(state.contact.id));
  const theirs = Object.keys(changesFrom(state.contact, latest)).map((f) => ctx.t("field_" + f)).join(", ");
  state.contact = latest;
  state.pending = changes;
  fillForm(ctx, latest);
  $("amend-conflict-text").textContent = ctx.t("conflict", { version: latest.version, fields: theirs || "-" });
  $("amend-conflict").hidden = false;
  $("amend-reapply").focus();
}

function figureRows(ctx, figures, prefix = "") {
  const rows = [];
  for (const [key, value] of Object.entries(figures || {})) {
    if (["period", "from", "to", "complete"].includes(key)) continue;
    const name = prefix ? prefix + " · " + ctx.i18n.value("figure", key) : ctx.i18n.value("figure", key);
    if (value && typeof value === "object") rows.push(...figureRows(ctx, value, name));
    else if (typeof value === "number") rows.push([name, value]);
  }
  return rows;
}

async function loadFigures(ctx) {
  const box = $("figures");
  if (!ctx.routes("GET", "/v1/staff/me/figures")) return box.replaceChildren();
  const figures = await ctx.api.get("/v1/staff/me/figures");
  const rows = figureRows(ctx, figures).slice(0, 40);
  box.replaceChildren(el("table", {}, el("caption", { text: ctx.t("figures_title") }),
    el("tbody", {}, rows.map(([name, n]) => el("tr", {}, el("th", { scope: "row", text: name }), el("td", { text: n }))))));
}

export function init(ctx) {
  $("mine-more").addEventListener("click", () => loadPage(ctx, true).catch(ctx.failed));
  $("amend-form").addEventListener("submit", (e) => { e.preventDefault(); save(ctx, wanted()).catch(ctx.failed); });
  $("amend-reapply").addEventListener("click", () => save(ctx, { ...fieldsOf(state.contact), ...(state.pending || {}) }).catch(ctx.failed));
  $("amend-discard").addEventListener("click", () => { state.pending = null; $("amend-conflict").hidden = true; fillForm(ctx, state.contact); });
  $("amend-close").addEventListener("click", () => { $("contact-detail").hidden = true; });
}

export async function show(ctx) {
  $("contact-detail").hidden = true;
  await Promise.all([loadPage(ctx, false), loadFigures(ctx).catch(() => $("figures").replaceChildren())]);
}
