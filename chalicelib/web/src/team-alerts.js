// Alerts: draft one with a map (a named neighbourhood, a circle, or a polygon drawn with the Geoman
// plugin), optional Welsh text, a preview of what residents see, submit. The team's alerts with
// their delivery figures. Supervisors: drafts and update proposals by others, to approve or cancel.
import { $, el, isoSeconds, options } from "./dom.js";
import { problemText } from "./api.js";
import { CATEGORIES, CERTAINTIES, SEVERITIES, URGENCIES } from "./lists.js";
import { createMap, outline, pin, withDrawing } from "./map.js";

const state = { areas: [], map: null, L: null, layers: null, polygon: null, centre: null, circle: null, shapeLayer: null };

function areaKind() { return document.querySelector('input[name="area-kind"]:checked').value; }

async function fill(ctx) {
  const keep = (id, fallback) => $(id).value || fallback;
  options($("al-category"), CATEGORIES, (v) => ctx.i18n.value("category", v), keep("al-category", "Safety"));
  options($("al-severity"), SEVERITIES, (v) => ctx.i18n.value("severity", v), keep("al-severity", "Moderate"));
  options($("al-urgency"), URGENCIES, (v) => ctx.i18n.value("urgency", v), keep("al-urgency", "Expected"));
  options($("al-certainty"), CERTAINTIES, (v) => ctx.i18n.value("certainty", v), keep("al-certainty", "Likely"));
  const all = await ctx.areas();
  state.areas = all.filter((a) => a.team === ctx.claims.team);
  options($("al-area"), state.areas.map((a) => a.id), (id) => state.areas.find((a) => a.id === id).name, $("al-area").value);
}

function centreOf(areas) {
  const first = areas[0];
  const ring = first && first.geometry && (first.geometry.type === "Polygon" ? first.geometry.coordinates[0] : first.geometry.coordinates[0][0]);
  if (!ring) return { lat: 51.5, lon: -0.12 };
  const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
  const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
  return { lat, lon };
}

async function ensureMap(ctx) {
  if (state.map) return state.map.invalidateSize();
  const L = await withDrawing();
  if (state.map) return state.map.invalidateSize(); // made by a concurrent call meanwhile
  state.L = L;
  state.map = createMap(L, $("al-map"), centreOf(state.areas), 14);
  state.layers = L.layerGroup().addTo(state.map);
  for (const area of state.areas) outline(L, area.geometry, "area-outline").addTo(state.layers);
  state.map.on("click", (e) => { if (areaKind() === "circle" && !state.map.pm.globalDrawModeEnabled()) setCentre(e.latlng.lat, e.latlng.lng); });
  state.map.on("pm:create", (e) => {
    clearShape();
    state.shapeLayer = e.layer;
    state.polygon = e.layer.toGeoJSON().geometry;
    $("al-shape").textContent = ctx.t("shape_drawn", { n: state.polygon.coordinates[0].length - 1 });
  });
}

function clearShape() {
  if (state.shapeLayer) state.shapeLayer.remove();
  state.shapeLayer = null;
  state.polygon = null;
  $("al-shape").textContent = "";
}

function setCentre(lat, lon) {
  $("al-lat").value = lat.toFixed(6);
  $("al-lon").value = lon.toFixed(6);
  drawCircle();
}

function drawCircle() {
  const lat = Number($("al-lat").value), lon = Number($("al-lon").value), radius = Number($("al-radius").value);
  if (!state.map || !$("al-lat").value || !$("al-lon").value) return;
  if (!state.circle) {
    state.centre = pin(state.L, { lat, lon }).addTo(state.map);
    state.centre.on("dragend", () => { const p = state.centre.getLatLng(); setCentre(p.lat, p.lng); });
    state.circle = state.L.circle([lat, lon], { radius, color: "#b3261e", interactive: false }).addTo(state.map);
  }
  state.centre.setLatLng([lat, lon]);
  state.circle.setLatLng([lat, lon]).setRadius(radius || 0);
}

function showAreaKind() {
  const kind = areaKind();
  $("al-named-box").hidden = kind !== "named";
  $("al-circle-box").hidden = kind !== "circle";
  $("al-polygon-box").hidden = kind !== "polygon";
  if (state.circle) { state.circle.setStyle({ opacity: kind === "circle" ? 1 : 0, fillOpacity: kind === "circle" ? 0.2 : 0 }); }
}

function areaOf(ctx) {
  const kind = areaKind();
  if (kind === "named") {
    if (!$("al-area").value) throw new Error(ctx.t("area_missing"));
    return { area_id: $("al-area").value };
  }
  if (kind === "circle") {
    if (!$("al-lat").value || !$("al-lon").value) throw new Error(ctx.t("centre_missing"));
    return { type: "Circle", center: { lat: Number($("al-lat").value), lon: Number($("al-lon").value) }, radius_m: Number($("al-radius").value) };
  }
  if (!state.polygon) throw new Error(ctx.t("shape_missing"));
  return state.polygon;
}

function draft(ctx) {
  const text = (id) => $(id).value.trim();
  const body = {
    headline: text("al-headline"), description: text("al-description"), category: $("al-category").value,
    severity: $("al-severity").value, urgency: $("al-urgency").value, certainty: $("al-certainty").value,
    expires_at: isoSeconds(new Date(Date.now() + Number($("al-hours").value || 24) * 3600000)), language: "en-GB", area: areaOf(ctx),
  };
  if (!body.headline || !body.description) throw new Error(ctx.t("text_missing"));
  if (text("al-instruction")) body.instruction = text("al-instruction");
  if (text("al-cy-headline") || text("al-cy-description")) {
    if (!text("al-cy-headline") || !text("al-cy-description")) throw new Error(ctx.t("welsh_incomplete"));
    body.translations = { cy: { headline: text("al-cy-headline"), description: text("al-cy-description") } };
    if (text("al-cy-instruction")) body.translations.cy.instruction = text("al-cy-instruction");
  }
  return body;
}

// What a resident's app shows: the headline, severity, description and instruction, per language.
function residentCard(ctx, lang, content, alert) {
  return el("article", { class: "card sev-" + alert.severity, lang },
    el("h4", { text: content.headline }),
    el("p", { class: "meta", text: ctx.i18n.value("severity", alert.severity) + " · " + ctx.i18n.value("category", alert.category) }),
    el("p", { text: content.description }),
    content.instruction ? el("p", { class: "instruction", text: content.instruction }) : null);
}

function preview(ctx) {
  $("alert-error").textContent = "";
  let body;
  try { body = draft(ctx); } catch (error) { $("alert-error").textContent = error.message; return; }
  const cards = [residentCard(ctx, "en", body, body)];
  if (body.translations) cards.push(residentCard(ctx, "cy", body.translations.cy, body));
  $("al-preview-cards").replaceChildren(...cards);
  $("al-preview-box").hidden = false;
}

async function submit(ctx, event) {
  event.preventDefault();
  $("alert-error").textContent = "";
  let body;
  try { body = draft(ctx); } catch (error) { $("alert-error").textContent = error.message; return; }
  try {
    const created = await ctx.api.post("/v1/alerts", body);
    ctx.say(ctx.t("alert_drafted", { headline: created.headline }));
  } catch (error) {
    $("alert-error").textContent = ctx.t("error_prefix") + problemText(error);
    return;
  }
  $("alert-form").reset();
  clearShape();
  $("al-preview-box").hidden = true;
  showAreaKind();
  await loadAlerts(ctx);
}

function figures(ctx, d) {
  if (!d) return null;
  return el("p", { class: "meta", text: ["targeted", "sent", "failed", "read", "responses"].map((k) => ctx.t("fig_" + k) + " " + (d[k] || 0)).join(" · ") });
}

async function alertsOf(ctx, status) {
  const query = new URLSearchParams({ limit: "50", ...(status ? { status } : {}) });
  return (await ctx.api.get("/v1/alerts?" + query)).items;
}

async function loadAlerts(ctx) {
  const items = await alertsOf(ctx);
  $("alerts-list").replaceChildren(...items.map((a) => el("li", { class: "card sev-" + a.severity, "data-id": a.id },
    el("h3", { text: a.headline }),
    el("p", { class: "meta", text: ctx.i18n.value("status", a.status) + (a.pending_update ? " · " + ctx.t("update_pending") : "") }),
    figures(ctx, a.delivery))));
  if (!items.length) $("alerts-list").append(el("li", { text: ctx.t("alerts_none") }));
}

async function act(ctx, alert, action, proposal) {
  const query = proposal ? "?" + new URLSearchParams({ proposal }) : "";
  await ctx.api.post("/v1/alerts/" + encodeURIComponent(alert.id) + "/" + action + query, {});
  ctx.say(ctx.t(action === "approve" ? "approved" : "cancelled", { headline: alert.headline }));
  await showApprovals(ctx);
}

function approvalCard(ctx, alert, update) {
  const content = update || alert;
  const approve = el("button", { type: "button", text: ctx.t(update ? "approve_update" : "approve") });
  approve.setAttribute("aria-label", ctx.t(update ? "approve_update" : "approve") + ": " + content.headline);
  approve.addEventListener("click", () => act(ctx, alert, "approve", update && update.id).catch(ctx.failed));
  const cancel = el("button", { type: "button", class: "danger", text: ctx.t("cancel_alert") });
  cancel.setAttribute("aria-label", ctx.t("cancel_alert") + ": " + content.headline);
  cancel.addEventListener("click", () => {
    if (window.confirm(ctx.t("cancel_confirm"))) act(ctx, alert, "cancel").catch(ctx.failed);
  });
  const by = update ? update.proposed_by : alert.author;
  const cards = [residentCard(ctx, "en", content, content)];
  if (content.translations && content.translations.cy) cards.push(residentCard(ctx, "cy", content.translations.cy, content));
  return el("li", { class: "card", "data-id": alert.id },
    el("h3", { text: (update ? ctx.t("kind_update") : ctx.t("kind_draft")) + ": " + content.headline }),
    el("p", { class: "meta", text: ctx.t("drafted_by", { who: by }) }), ...cards, el("div", { class: "row" }, approve, cancel));
}

export async function showApprovals(ctx) {
  const me = ctx.claims.sub;
  const [drafts, published] = await Promise.all([alertsOf(ctx, "draft"), alertsOf(ctx, "published")]);
  const cards = [
    ...drafts.filter((a) => a.author !== me).map((a) => approvalCard(ctx, a, null)),
    ...published.filter((a) => a.pending_update && a.pending_update.proposed_by !== me).map((a) => approvalCard(ctx, a, a.pending_update)),
  ];
  $("approvals-list").replaceChildren(...cards);
  if (!cards.length) $("approvals-list").append(el("li", { text: ctx.t("approvals_none") }));
}

export function init(ctx) {
  $("alert-form").addEventListener("submit", (e) => submit(ctx, e).catch(ctx.failed));
  $("al-preview").addEventListener("click", () => preview(ctx));
  $("alerts-refresh").addEventListener("click", () => loadAlerts(ctx).catch(ctx.failed));
  $("approvals-refresh").addEventListener("click", () => showApprovals(ctx).catch(ctx.failed));
  for (const radio of document.querySelectorAll('input[name="area-kind"]')) radio.addEventListener("change", showAreaKind);
  for (const id of ["al-lat", "al-lon", "al-radius"]) $(id).addEventListener("input", drawCircle);
  $("al-draw").addEventListener("click", async () => {
    await ensureMap(ctx).catch(ctx.failed); // the view may still be loading the map code
    if (!state.map) return;
    state.map.pm.enableDraw("Polygon", { snappable: false, allowSelfIntersection: false, templineStyle: { color: "#b3261e" }, pathOptions: { color: "#b3261e" } });
    ctx.say(ctx.t("drawing"));
  });
  $("al-clear").addEventListener("click", () => { if (state.map) state.map.pm.disableDraw(); clearShape(); });
}

export async function show(ctx) {
  await fill(ctx);
  showAreaKind();
  await Promise.all([ensureMap(ctx), loadAlerts(ctx)]);
}
