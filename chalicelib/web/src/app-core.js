// The residents' app (/app/): what every view shares. The page's settings (meta tags), the one
// `state` object, the dictionaries (app-en.js, app-cy.js through i18n.js), the API client (api.js:
// same origin only, the resident token as bearer), the status line, dates and names in the page's
// language, and the named areas. `ctx` holds what only the entry module (app.js) can provide:
// switching views, choosing the page's language, forgetting the resident; views call those
// through it, so no view imports the entry (no import cycles).
import { el } from "./dom.js";
import { createI18n, languageOf } from "./i18n.js";
import { createApi, problemText } from "./api.js";
import { keyValue } from "./storage.js";
import en from "./app-en.js";
import cy from "./app-cy.js";

export { el, languageOf };
export const $ = (id) => document.getElementById(id);

const meta = (name) => document.querySelector('meta[name="' + name + '"]').content;
export const BASE = meta("beatline-base");
export const TILES = meta("beatline-tiles");
export const TILE_ATTRIBUTION = meta("beatline-tile-attribution");
export const EMERGENCY = meta("beatline-emergency") || "999";
export const NON_EMERGENCY = meta("beatline-non-emergency") || "101";
export const TOKEN_KEY = "beatline.resident-token";
export const READ_KEY = "beatline.read";
export const UI_LANG_KEY = "beatline.ui-lang";
export const INBOX_CACHE = "beatline-inbox";
// pushManager.subscribe() can wait for ever when no push service answers (no message, no error):
// sign-up gives up after this long, says so and offers the inbox only (state.pushTimeoutMs; tests lower it).
const PUSH_SUBSCRIBE_TIMEOUT_MS = 8000;

// `?area=<id>&via=team`: the sign-up QR an officer shows at the door (/team/): sign-up first, that
// neighbourhood ticked when the new subscriber chooses their areas, the sign-up counted for its team.
const query = new URLSearchParams(location.search);
export const PRESELECTED = query.get("area");
export const VIA_TEAM = query.get("via") === "team";

export const state = {
  lang: "en", token: null, me: null, openapi: null, areas: [], selected: new Set(), point: null,
  map: null, areaLayers: new Map(), pointLayer: null, circleLayer: null, view: null, read: new Set(),
  inbox: [], conversation: null, pushTimeoutMs: PUSH_SUBSCRIBE_TIMEOUT_MS, hood: [], areasLoading: null,
};
window.beatlineApp = state; // inspected by the browser tests

// Set by app.js: show(view), chooseUiLanguage(lang), forget(), signedIn(yes), areasLoaded(areas).
export const ctx = {};

// The resident's device storage: idb-keyval's default store, which the service worker reads too
// (the token for the inbox, through the UMD build).
export const kv = keyValue();

export const i18n = createI18n({ en, cy });
export const t = (key, values) => i18n.t(key, values);

export function say(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(isError));
}

export function failed(error) { say(t("error") + problemText(error), true); }

// A 401 while signed in: the registration has ended (erased elsewhere, expired): forget it here.
function unauthorized() {
  if (!state.token) return;
  state.token = null;
  ctx.forget().then(() => say(t("signed_out"), true)).catch(failed);
}

const client = createApi({ base: BASE, token: async () => state.token, onUnauthorized: unauthorized });

// Same-origin paths only; `offline` is set on an answer the service worker served from its cache.
export function api(method, path, body) { return client.request(method, path, body); }

// --- the API's own description (routes still being built are hidden, not called) -------------

export function hasRoute(path, method) {
  const paths = (state.openapi && state.openapi.paths) || {};
  return Boolean(paths[path] && paths[path][method]);
}

function findEnum(schema, seen) {
  if (!schema || typeof schema !== "object") return null;
  if (Array.isArray(schema.enum)) return schema.enum;
  if (schema.$ref && !seen.has(schema.$ref)) {
    seen.add(schema.$ref);
    const name = schema.$ref.split("/").pop();
    return findEnum(((state.openapi.components || {}).schemas || {})[name], seen);
  }
  for (const part of schema.anyOf || schema.oneOf || []) {
    const found = findEnum(part, seen);
    if (found) return found;
  }
  return null;
}

// The conversation topics the served API accepts.
export function topics() {
  const op = ((state.openapi.paths || {})["/v1/conversations"] || {}).post || {};
  const schema = ((((op.requestBody || {}).content || {})["application/json"]) || {}).schema || {};
  const name = (schema.$ref || "").split("/").pop();
  const body = ((state.openapi.components || {}).schemas || {})[name] || schema;
  return findEnum((body.properties || {}).topic, new Set()) || ["other"];
}

// --- words and dates in the page's language -------------------------------------------------

const CY_MONTHS = ["Ion", "Chwef", "Maw", "Ebr", "Mai", "Meh", "Gorff", "Awst", "Medi", "Hyd", "Tach", "Rhag"];

// Dates in the page's language (Intl). A browser without Welsh locale data (Chromium builds ship
// a reduced set) would answer in English: the same layout with Welsh month names instead.
export function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const locale = state.lang === "cy" ? "cy-GB" : "en-GB";
  if (state.lang === "cy" && !Intl.DateTimeFormat.supportedLocalesOf([locale]).length) {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "numeric", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(date).map((p) => [p.type, p.value]));
    return parts.day + " " + CY_MONTHS[Number(parts.month) - 1] + " " + parts.year + ", " + parts.hour + ":" + parts.minute;
  }
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function topicLabel(topic) {
  const key = "topic_" + topic;
  const text = t(key);
  return text === key ? String(topic).replace(/_/g, " ") : text;
}

// "Officer 4F2K" (the display pseudonym the API gives) in the page's language.
export function officerName(name) { return name && name.startsWith("Officer ") ? t("officer") + name.slice(7) : (name || t("team")); }

// The text of a {language: text} map in the page's language (same primary language), else the first.
export function inLanguage(texts) {
  const entries = Object.entries(texts || {});
  const match = entries.find(([language]) => languageOf(language) === state.lang) || entries[0];
  return match ? match[1] : null;
}

// What a conversation is about: the alert's headline (one opened by an alert reply), else area and topic.
export function conversationTitle(c) {
  const headline = inLanguage(c.alert_headlines);
  if (headline) return headline;
  const area = state.areas.find((a) => a.id === c.area_id);
  return (c.area_name || (area ? area.name : c.team)) + ": " + topicLabel(c.topic);
}

// An alert copy in the page's language when the copy carries that language's text.
export function alertText(alert) {
  const texts = alert.translations || [];
  return texts.find((x) => languageOf(x.language) === state.lang) || texts.find((x) => x.language === alert.language) || alert;
}

export function areaName(areaId) {
  const area = state.areas.find((a) => a.id === areaId);
  return area ? area.name : "";
}

// Links only of the shapes the API checked (https web links): text otherwise.
export function httpsLink(url) {
  const text = String(url);
  return text.startsWith("https://") ? el("a", { href: text, rel: "noopener", text }) : text;
}

// --- the named areas (public; the sign-up, areas, conversation and neighbourhood views use them)

export async function loadNamedAreas() {
  const found = [];
  let cursor = null;
  for (let page = 0; page < 5; page += 1) {
    const search = new URLSearchParams({ limit: "100" });
    if (cursor) search.set("cursor", cursor);
    const answer = await api("GET", "/v1/areas?" + search.toString());
    found.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor) break;
  }
  state.areas = found;
  if (PRESELECTED && !found.some((a) => a.id === PRESELECTED)) state.selected.delete(PRESELECTED); // no such area
  ctx.areasLoaded(found);
}
