// The residents' web app (/app/): entry module. Alerts near a place without signing up; sign-up
// with Web Push or inbox only; areas on a Leaflet map (named areas and a circle, drawn in SVG, tiles
// optional); the inbox (read receipts, replies); conversations with the team (when the API offers
// them, read from /v1/openapi.json); the neighbourhood; settings; erasure. The resident token is the
// only credential: it lives in IndexedDB (idb-keyval), is sent to this origin only (every call is a
// same-origin path) and is deleted on erasure together with the cached inbox and the push
// subscription. This module switches views, makes the map panel (shared by the nearby and areas
// views) and starts the page; the views live in app-*.js (docs/architecture.md, "Front end").
import {
  $, BASE, ctx, el, EMERGENCY, failed, i18n, kv, languageOf, loadNamedAreas, NON_EMERGENCY, PRESELECTED, READ_KEY,
  say, state, t, TILE_ATTRIBUTION, TILES, TOKEN_KEY, UI_LANG_KEY,
} from "./app-core.js";
import { choosePoint, drawAreas, drawPoint, loadAreasView, saveAreas, showNamedAreas, showRadius, signUp } from "./app-areas.js";
import { loadInbox, renderInbox } from "./app-inbox.js";
import { loadConversations, openConversation, replyConversation, showTitle, startConversation } from "./app-conversations.js";
import { loadNeighbourhood, renderNeighbourhood } from "./app-neighbourhood.js";
import { renderContacts, wireContacts } from "./app-contacts.js";
import { erase, fillCategories, forget, loadPrefs, savePrefs } from "./app-prefs.js";

const VIEWS = ["nearby", "signup", "inbox", "neighbourhood", "areas", "conversations", "prefs"];
const LOADERS = { inbox: loadInbox, neighbourhood: loadNeighbourhood, areas: loadAreasView, conversations: loadConversations, prefs: loadPrefs };

// --- language ---------------------------------------------------------------------------------

function applyLanguage(lang) {
  state.lang = i18n.use(lang); // <html lang> and every data-i18n element
  $("ui-lang").value = state.lang;
  const guidance = t("guidance", { emergency: EMERGENCY, non_emergency: NON_EMERGENCY });
  for (const node of document.querySelectorAll("[data-guidance]")) node.textContent = guidance;
  fillCategories();
  if (state.view === "inbox") renderInbox(state.inbox);
  if (state.view === "neighbourhood") renderNeighbourhood();
  if (state.view === "prefs") renderContacts();
  if (state.view === "conversations" && state.token) loadConversations().then(() => state.conversation && showTitle()).catch(failed);
}

async function chooseUiLanguage(lang) {
  applyLanguage(lang);
  await kv.set(UI_LANG_KEY, state.lang);
}

// --- views ------------------------------------------------------------------------------------

async function show(view) {
  state.view = view;
  say("");
  for (const name of VIEWS) $("view-" + name).hidden = name !== view;
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  const withMap = view === "nearby" || view === "areas";
  $("map-panel").hidden = !withMap;
  $("nearby-results").hidden = view !== "nearby";
  $("areas-form").hidden = view !== "areas";
  if (withMap) {
    $("view-" + view).after($("map-panel"));
    ensureMap();
    state.map.invalidateSize();
  }
  delete document.body.dataset.view;
  if (LOADERS[view]) await LOADERS[view]().catch(failed);
  // Loaded (the tests wait for it before using the form), unless the resident has moved on to
  // another view meanwhile: a slow load finishing late must not claim the page.
  if (state.view === view) document.body.dataset.view = view;
}

function signedIn(yes) {
  for (const b of document.querySelectorAll("#nav [data-in]")) b.hidden = !yes;
  for (const b of document.querySelectorAll("#nav [data-out]")) b.hidden = yes;
}

// --- the map panel (the nearby and areas views) -----------------------------------------------

function ensureMap() {
  if (state.map) return;
  const L = window.L;
  // Leaflet's own attribution control sets innerHTML: ours shows the setting as text.
  state.map = L.map("map", { zoomControl: true, attributionControl: false }).setView([52.4, -3.5], 7);
  if (TILES) {
    L.tileLayer(TILES, { maxZoom: 19, crossOrigin: false }).addTo(state.map);
    if (TILE_ATTRIBUTION) {
      const Attribution = L.Control.extend({ onAdd: () => el("div", { class: "leaflet-control-attribution leaflet-control", text: TILE_ATTRIBUTION }) });
      new Attribution({ position: "bottomright" }).addTo(state.map);
    }
  }
  state.map.on("click", (e) => choosePoint(e.latlng.lat, e.latlng.lng));
  drawAreas();
}

// --- start ------------------------------------------------------------------------------------

Object.assign(ctx, { show, signedIn, chooseUiLanguage, forget, areasLoaded: showNamedAreas });

function wire() {
  for (const button of document.querySelectorAll("#nav button")) button.addEventListener("click", () => show(button.dataset.view));
  $("ui-lang").addEventListener("change", () => chooseUiLanguage($("ui-lang").value));
  $("signup-form").addEventListener("submit", (e) => signUp(e).catch(failed));
  $("areas-form").addEventListener("submit", (e) => saveAreas(e).catch(failed));
  $("radius").addEventListener("input", () => { showRadius(); drawPoint(); });
  $("circle-on").addEventListener("change", drawPoint);
  $("use-point").addEventListener("click", () => choosePoint(Number($("lat").value), Number($("lon").value)));
  $("locate").addEventListener("click", () => navigator.geolocation.getCurrentPosition(
    (p) => choosePoint(p.coords.latitude, p.coords.longitude), (e) => say(t("error") + e.message, true)));
  $("inbox-refresh").addEventListener("click", () => loadInbox().catch(failed));
  $("conv-start").addEventListener("submit", (e) => startConversation(e).catch(failed));
  $("conv-reply").addEventListener("submit", (e) => replyConversation(e).catch(failed));
  $("prefs-form").addEventListener("submit", (e) => savePrefs(e).catch(failed));
  $("erase").addEventListener("click", () => erase().catch(failed));
  wireContacts();
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener("message", onWorkerMessage);
}

function onWorkerMessage(event) {
  const data = event.data || {};
  if (data.type === "open-alert" && state.token) show("inbox");
  if (data.type === "open-conversation" && state.token) show("conversations").then(() => openConversation(data.id)).catch(failed);
  // A push was shown: the inbox, when on screen, is reloaded in the background (the pushed item appears, unread).
  if (data.type === "shown" && state.token && state.view === "inbox") loadInbox().catch(() => null);
}

async function registerWorker() {
  if (!navigator.serviceWorker) return;
  await navigator.serviceWorker.register(BASE + "/app/sw.js", { scope: BASE + "/app/" });
}

async function start() {
  if (!location.pathname.endsWith("/")) history.replaceState(null, "", location.pathname + "/" + location.hash);
  wire();
  const [token, lang, read] = await Promise.all([kv.get(TOKEN_KEY), kv.get(UI_LANG_KEY), kv.get(READ_KEY)]);
  state.token = token || null;
  state.read = new Set(read || []);
  applyLanguage(lang || languageOf(navigator.language));
  signedIn(Boolean(state.token));
  registerWorker().catch(() => null);
  const openapi = fetch(BASE + "/v1/openapi.json").then((r) => r.json()).then((doc) => { state.openapi = doc; }).catch(() => null);
  const first = state.token ? (location.hash.startsWith("#conversation=") ? "conversations" : "inbox") : (PRESELECTED ? "signup" : "nearby");
  if (first === "conversations") await openapi;
  await show(first);
  await openapi;
  state.areasLoading = loadNamedAreas();
  state.areasLoading.catch(() => null);
  if (first === "conversations") await openConversation(decodeURIComponent(location.hash.split("=")[1])).catch(failed);
  document.body.dataset.ready = "1";
}

start().catch(failed);
