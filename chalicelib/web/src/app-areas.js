// The residents' app: sign-up (Web Push or inbox only, the door QR's area) and the areas a
// resident follows (named areas and a circle), chosen with checkboxes or on the map panel's layers
// (the map itself is made by app.js: the nearby view uses it too).
import {
  $, api, ctx, el, failed, kv, loadNamedAreas, PRESELECTED, say, state, t, TOKEN_KEY, VIA_TEAM,
} from "./app-core.js";
import { nearby } from "./app-inbox.js";

const MAX_AREAS = 10;

// --- the map's layers -------------------------------------------------------------------------

export function drawAreas() {
  if (!state.map) return;
  const L = window.L;
  for (const layer of state.areaLayers.values()) layer.remove();
  state.areaLayers.clear();
  const bounds = [];
  for (const area of state.areas) {
    const layer = L.geoJSON(area.geometry, { style: () => areaStyle(area.id) });
    layer.on("click", (e) => {
      if (state.view === "areas") {
        L.DomEvent.stopPropagation(e);
        toggleArea(area.id);
      }
    });
    layer.bindTooltip(el("span", { text: area.name })); // a node: Leaflet sets a string as innerHTML
    layer.addTo(state.map);
    state.areaLayers.set(area.id, layer);
    bounds.push(layer.getBounds());
  }
  if (bounds.length) state.map.fitBounds(bounds.reduce((a, b) => a.extend(b), L.latLngBounds(bounds[0].getSouthWest(), bounds[0].getNorthEast())), { maxZoom: 14 });
}

function areaStyle(id) {
  const on = state.selected.has(id);
  return { color: on ? "#b3261e" : "#0b3d6e", weight: on ? 3 : 2, fillOpacity: on ? 0.35 : 0.1, className: "area area-" + id + (on ? " area-selected" : "") };
}

function toggleArea(id, on) {
  const want = on === undefined ? !state.selected.has(id) : on;
  if (want && state.selected.size + (state.point && $("circle-on").checked ? 1 : 0) >= MAX_AREAS) {
    say(t("too_many"), true);
  } else if (want) {
    state.selected.add(id);
  } else {
    state.selected.delete(id);
  }
  const box = document.querySelector('#area-choices input[value="' + CSS.escape(id) + '"]');
  if (box) box.checked = state.selected.has(id);
  restyle(id);
}

function restyle(id) {
  const layer = state.areaLayers.get(id);
  if (!layer) return;
  const style = areaStyle(id);
  layer.setStyle(style);
  layer.eachLayer((part) => {
    const path = part.getElement && part.getElement();
    if (path) path.setAttribute("class", style.className + " leaflet-interactive");
  });
}

export function choosePoint(lat, lon) {
  if (!isFinite(lat) || !isFinite(lon)) return;
  state.point = { lat: Math.round(lat * 1e5) / 1e5, lon: Math.round(lon * 1e5) / 1e5 };
  $("lat").value = state.point.lat;
  $("lon").value = state.point.lon;
  if (state.view === "nearby") nearby().catch(failed);
  if (state.view === "areas") $("circle-on").checked = true;
  drawPoint();
  if (state.circleLayer) state.map.fitBounds(state.circleLayer.getBounds(), { maxZoom: 15 });
  else if (state.map && !state.map.getBounds().contains([state.point.lat, state.point.lon])) state.map.panTo([state.point.lat, state.point.lon]);
}

export function drawPoint() {
  const L = window.L;
  if (state.pointLayer) state.pointLayer.remove();
  if (state.circleLayer) state.circleLayer.remove();
  state.pointLayer = state.circleLayer = null;
  if (!state.point || !state.map) return;
  const at = [state.point.lat, state.point.lon];
  state.pointLayer = L.circleMarker(at, { radius: 6, color: "#0b0c0c", fillOpacity: 1, className: "chosen-point" }).addTo(state.map);
  if (state.view === "areas" && $("circle-on").checked) {
    state.circleLayer = L.circle(at, { radius: Number($("radius").value), color: "#b3261e", className: "chosen-circle" }).addTo(state.map);
  }
}

// --- sign-up ----------------------------------------------------------------------------------

class PushTimeout extends Error {}

function withinTime(promise, ms) {
  let timer = null;
  const timeout = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new PushTimeout()), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function webPushChannel() {
  if (!("PushManager" in window) || (await Notification.requestPermission()) !== "granted") return null;
  const subscribe = async () => {
    const key = await api("GET", "/v1/public/webpush-key");
    const registration = await navigator.serviceWorker.ready;
    return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.application_server_key });
  };
  const subscription = await withinTime(subscribe(), state.pushTimeoutMs);
  const json = subscription.toJSON();
  return { type: "webpush", subscription: { endpoint: json.endpoint, keys: json.keys } };
}

function offerInboxOnly() {
  $("ch-inbox").checked = true;
  say(t("push_timeout"), true);
  $("ch-inbox").focus();
}

export async function signUp(event) {
  event.preventDefault();
  const button = $("signup-submit");
  button.disabled = true;
  try {
    await register();
  } finally {
    button.disabled = false;
  }
}

async function register() {
  const wantsPush = document.querySelector('input[name="channel"]:checked').value === "webpush";
  let channel = null;
  if (wantsPush) {
    try {
      channel = await webPushChannel();
    } catch (error) {
      if (error instanceof PushTimeout) return offerInboxOnly(); // nothing registered: the resident chooses
      channel = null;
    }
  }
  const refused = wantsPush && !channel;
  channel = channel || { type: "inbox" };
  const door = await doorSignup();
  const registered = await api("POST", "/v1/subscribers", { channel, language: state.lang === "cy" ? "cy" : "en-GB", ...door });
  state.token = registered.token;
  await kv.set(TOKEN_KEY, registered.token);
  ctx.signedIn(true);
  await ctx.show("areas"); // clears the status line: say what happened after it
  say(t(refused ? "push_refused" : "signed_up"), refused);
}

async function doorSignup() {
  // The named areas may still be loading when a quick resident signs up: wait for them, so the
  // sign-up is counted for the team whatever the timing.
  if (PRESELECTED && VIA_TEAM && !state.areas.length) await (state.areasLoading || loadNamedAreas()).catch(() => null);
  const known = state.areas.some((a) => a.id === PRESELECTED);
  return PRESELECTED && VIA_TEAM && known ? { signup: { via: "team", area_id: PRESELECTED } } : {};
}

// --- the areas view ---------------------------------------------------------------------------

// The named areas as checkboxes (and as the conversation form's choices), and on the map.
export function showNamedAreas(found) {
  const choices = $("area-choices");
  choices.replaceChildren(...found.map((a) => {
    const id = "area-" + a.id;
    const box = el("input", { type: "checkbox", id, value: a.id });
    box.checked = state.selected.has(a.id);
    box.addEventListener("change", () => toggleArea(a.id, box.checked));
    return el("div", { class: "row" }, box, el("label", { for: id, text: a.name }));
  }));
  if (!found.length) choices.append(el("p", { text: t("no_areas") }));
  $("conv-area").replaceChildren(...found.map((a) => el("option", { value: a.id, text: a.name })));
  drawAreas();
}

export async function loadAreasView() {
  state.me = await api("GET", "/v1/subscribers/me");
  state.selected = new Set(state.me.areas.filter((a) => a.area_id).map((a) => a.area_id));
  if (PRESELECTED && !state.me.areas.length && (!state.areas.length || state.areas.some((a) => a.id === PRESELECTED))) state.selected.add(PRESELECTED);
  const circle = state.me.areas.find((a) => !a.area_id && a.shape.type === "Circle");
  if (circle) {
    state.point = { lat: circle.shape.center.lat, lon: circle.shape.center.lon };
    $("radius").value = circle.shape.radius_m;
    $("circle-on").checked = true;
  }
  showRadius();
  for (const box of document.querySelectorAll("#area-choices input")) box.checked = state.selected.has(box.value);
  for (const id of state.areaLayers.keys()) restyle(id);
  drawPoint();
}

export function showRadius() {
  const metres = Number($("radius").value);
  $("radius-out").textContent = metres >= 1000 ? (metres / 1000).toFixed(metres % 1000 ? 2 : 0) + " km" : metres + " m";
}

export async function saveAreas(event) {
  event.preventDefault();
  const areas = [...state.selected].map((id) => ({ area_id: id }));
  if ($("circle-on").checked) {
    if (!state.point) return say(t("pick_point"), true);
    areas.push({ type: "Circle", center: { lat: state.point.lat, lon: state.point.lon }, radius_m: Number($("radius").value) });
  }
  state.me = await api("PUT", "/v1/subscribers/me/areas", { areas });
  say(t("areas_saved"));
}
