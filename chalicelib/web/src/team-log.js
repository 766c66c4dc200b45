// Log a contact in seconds, offline too: the contact gets its client id at once and goes to the
// outbox (IndexedDB); the outbox syncs through POST /v1/contacts/batch. Items the server refused
// (400, 409) are listed with the reasons, to fix or discard.
import { $, el, isoSeconds, options, uuid } from "./dom.js";
import { OUTCOMES, PLATFORMS, SETTINGS, TOPICS } from "./lists.js";
import { createMap, leaflet, pin } from "./map.js";

const state = { location: null, map: null, pin: null, editing: null };

function kind() { return document.querySelector('input[name="kind"]:checked').value; }

function fill(ctx) {
  const { value } = ctx.i18n;
  const keep = (id) => $(id).value;
  options($("log-topic"), TOPICS, (v) => value("topic", v), keep("log-topic"));
  options($("log-outcome"), OUTCOMES, (v) => value("outcome", v), keep("log-outcome") || "advice_given");
  options($("log-setting"), SETTINGS, (v) => value("setting", v), keep("log-setting") || "patrol");
  options($("log-platform"), PLATFORMS, (v) => value("platform", v), keep("log-platform"));
  showLocation(ctx);
}

function showLocation(ctx) {
  const at = state.location;
  $("log-location").textContent = at
    ? ctx.t("location_at", { lat: at.lat.toFixed(5), lon: at.lon.toFixed(5) })
    : ctx.t("location_none");
}

function setLocation(ctx, at) {
  state.location = { lat: Number(at.lat.toFixed(6)), lon: Number(at.lon.toFixed(6)) };
  if (state.pin) state.pin.setLatLng([state.location.lat, state.location.lon]);
  showLocation(ctx);
}

function locate(ctx, quiet) {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    (p) => setLocation(ctx, { lat: p.coords.latitude, lon: p.coords.longitude }),
    (e) => { if (!quiet) ctx.say(ctx.t("location_failed") + e.message, true); },
    { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
}

async function toggleMap(ctx) {
  const box = $("log-map");
  box.hidden = !box.hidden;
  if (box.hidden || state.map) return state.map && state.map.invalidateSize();
  const L = await leaflet();
  const at = state.location || { lat: 51.5, lon: -0.12 };
  state.map = createMap(L, box, at, 16);
  state.pin = pin(L, at).addTo(state.map);
  state.pin.on("dragend", () => { const p = state.pin.getLatLng(); setLocation(ctx, { lat: p.lat, lon: p.lng }); });
  state.map.on("click", (e) => setLocation(ctx, { lat: e.latlng.lat, lon: e.latlng.lng }));
  if (!state.location) setLocation(ctx, at);
}

function showKind() {
  const street = kind() === "street";
  $("street-fields").hidden = !street;
  $("online-fields").hidden = street;
}

export function tagsOf(text) {
  return [...new Set(String(text).split(",").map((t) => t.trim().toLowerCase().replace(/\s+/g, "-")).filter(Boolean))];
}

function contactFromForm(ctx) {
  const when = $("log-when").value ? new Date($("log-when").value) : new Date();
  const contact = {
    id: state.editing || uuid(), kind: kind(), occurred_at: isoSeconds(when),
    topic: $("log-topic").value, outcome: $("log-outcome").value, tags: tagsOf($("log-tags").value),
  };
  const notes = $("log-notes").value.trim();
  if (notes) contact.notes = notes;
  if (contact.kind === "street") {
    if (!state.location) throw new Error(ctx.t("location_needed"));
    contact.location = { ...state.location };
    contact.setting = $("log-setting").value;
  } else {
    contact.platform = $("log-platform").value;
    contact.direction = document.querySelector('input[name="direction"]:checked').value;
  }
  return contact;
}

async function submit(ctx, event) {
  event.preventDefault();
  $("log-error").textContent = "";
  let contact;
  try {
    contact = contactFromForm(ctx);
  } catch (error) {
    $("log-error").textContent = error.message;
    return;
  }
  await ctx.outbox.add(contact);
  state.editing = null;
  $("log-notes").value = "";
  $("log-tags").value = "";
  $("log-when").value = "";
  $("log-more").open = false;
  ctx.say(ctx.t(navigator.onLine ? "logged" : "logged_offline"));
  await ctx.renderSync();
  ctx.syncNow();
}

function reasonOf(ctx, item) {
  if (item.status === 409) return ctx.t("problem_409");
  const fields = (item.errors || []).map((e) => (e.field ? e.field + ": " : "") + (e.message || "")).join("; ");
  return ctx.t("problem_400") + (fields ? " " + fields : "");
}

function edit(ctx, item) {
  const c = item.record;
  state.editing = c.id;
  document.querySelector('input[name="kind"][value="' + c.kind + '"]').checked = true;
  showKind();
  $("log-topic").value = c.topic;
  $("log-outcome").value = c.outcome;
  $("log-notes").value = c.notes || "";
  $("log-tags").value = (c.tags || []).join(", ");
  if (c.location) setLocation(ctx, c.location);
  if (c.setting) $("log-setting").value = c.setting;
  if (c.platform) $("log-platform").value = c.platform;
  if (c.direction) document.querySelector('input[name="direction"][value="' + c.direction + '"]').checked = true;
  $("log-more").open = true;
  $("log-topic").focus();
  ctx.say(ctx.t("fixing"));
}

async function sendAsNew(ctx, item) {
  await ctx.outbox.remove([item.id]);
  await ctx.outbox.add({ ...item.record, id: uuid() });
  await ctx.renderSync();
  ctx.syncNow();
}

export async function renderProblems(ctx) {
  if (!ctx.outbox) return;
  const problems = (await ctx.outbox.items()).filter((i) => i.state === "error");
  $("outbox-problems").hidden = !problems.length;
  $("outbox-list").replaceChildren(...problems.map((item) => {
    const c = item.record;
    const title = ctx.i18n.value("kind", c.kind) + ": " + ctx.i18n.value("topic", c.topic) + " (" + c.occurred_at.slice(0, 16).replace("T", " ") + ")";
    const fix = el("button", { type: "button", text: item.status === 409 ? ctx.t("send_as_new") : ctx.t("fix") });
    fix.addEventListener("click", () => (item.status === 409 ? sendAsNew(ctx, item) : edit(ctx, item)).catch(ctx.failed));
    const drop = el("button", { type: "button", class: "secondary", text: ctx.t("discard") });
    drop.addEventListener("click", () => ctx.outbox.remove([item.id]).then(() => ctx.renderSync()).catch(ctx.failed));
    return el("li", { class: "card problem" }, el("h4", { text: title }), el("p", { text: reasonOf(ctx, item) }),
      el("div", { class: "row" }, fix, drop));
  }));
}

export function init(ctx) {
  $("log-form").addEventListener("submit", (e) => submit(ctx, e).catch(ctx.failed));
  for (const radio of document.querySelectorAll('input[name="kind"]')) radio.addEventListener("change", showKind);
  $("log-locate").addEventListener("click", () => locate(ctx, false));
  $("log-map-toggle").addEventListener("click", () => toggleMap(ctx).catch(ctx.failed));
}

export async function show(ctx) {
  fill(ctx);
  showKind();
  if (!state.location) locate(ctx, true);
  await renderProblems(ctx);
}
