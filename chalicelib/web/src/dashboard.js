// The engagement dashboard (/dashboard/): entry module. Sign-in: OIDC authorization code + PKCE
// (auth.js over the vendored oidc-client-ts) against the staff issuer named by
// /dashboard/config.json; tokens stay in this tab's sessionStorage. Every data call sends the
// session's `purpose`. The headline numbers (dashboard-headline.js), then the figures
// (dashboard-figures.js); one CSV of everything shown, and a print view (dashboard.css @media print).
import { $ } from "./dom.js";
import { createApi, routeIndex } from "./api.js";
import { claimsOf, createAuth } from "./auth.js";
import { createI18n } from "./i18n.js";
import { TOPICS } from "./lists.js";
import en from "./dashboard-en.js";
import { isoDay, periods } from "./dashboard-periods.js";
import { download, reportCsv } from "./dashboard-csv.js";
import { FIGURES, buildFigure, figureMessage, sizeForPrint, unavailable } from "./dashboard-figures.js";
import { loadHeadline } from "./dashboard-headline.js";

const BASE = document.querySelector('meta[name="beatline-base"]').content;
const PURPOSE_KEY = "beatline.purpose";
const FORCE_ROLES = ["analyst", "admin", "leader"];
const i18n = createI18n({ en });

const ctx = {
  auth: null, user: null, claims: {}, routes: () => false, access: () => "missing",
  filters: {}, periods: [], tables: {}, charts: {}, plots: {},
  label: (list, code) => i18n.value(list, code),
  isForceWide: () => (ctx.claims.roles || []).some((r) => FORCE_ROLES.includes(r)),
  // Leaders see force-wide figures only: no team filter, no texts (alert headlines).
  isLeaderOnly: () => (ctx.claims.roles || []).includes("leader") && !(ctx.claims.roles || []).some((r) => r === "analyst" || r === "admin"),
};
window.beatlineCharts = ctx.charts; // what each chart was drawn from (read by the browser tests)

const api = createApi({ base: BASE, token: async () => (ctx.user ? ctx.user.access_token : null),
  onUnauthorized: () => { signOut("Your sign-in has expired: sign in again."); } });
const query = (path, params) => path + (params && Object.keys(params).length ? "?" + new URLSearchParams(params).toString() : "");
ctx.get = async (path, params) => noteAsOf(await api.get(query(path, { ...params, purpose: sessionStorage.getItem(PURPOSE_KEY) || "" })));

// Contact and conversation figures come from the tables' change streams: each answer says the
// newest change it includes (`as_of`). The status line shows the oldest seen in this refresh.
function noteAsOf(body) {
  if (body && typeof body.as_of === "string" && (!ctx.asOf || body.as_of < ctx.asOf)) ctx.asOf = body.as_of;
  return body;
}

function freshness() {
  if (!ctx.asOf) return "";
  return " Contact and conversation figures include changes up to " + ctx.asOf.replace("T", " ").replace("Z", " UTC") +
    "; a contact or message of the last few seconds may not be counted yet.";
}
ctx.publicGet = (path, params) => api.get(query(path, params));

function show(id, visible) { $(id).hidden = !visible; }
function status(text) { $("app-status").textContent = text; }

// Which routes exist and whom they admit, from the served OpenAPI document: a figure whose route is
// missing (not built yet) or closed to the user's role is explained, not requested.
function accessIndex(openapi) {
  return (path) => {
    const operation = openapi.paths && openapi.paths[path] && openapi.paths[path].get;
    if (!operation) return "missing";
    const roles = operation["x-roles"] || [];
    return (ctx.claims.roles || []).some((r) => roles.includes(r)) ? "ok" : "forbidden";
  };
}

function readFilters() {
  ctx.filters = { from: $("from").value, to: $("to").value, grain: $("grain").value, team: $("team").value, topic: $("topic").value };
  ctx.periods = periods(ctx.filters.from, ctx.filters.to, ctx.filters.grain);
}

async function loadFigure(figure) {
  const access = ctx.access(figure.route);
  if (access === "missing") return unavailable(ctx, figure, "Not available yet: the API does not offer these figures yet.");
  if (access === "forbidden") return unavailable(ctx, figure, "Not available for your role.");
  figureMessage(figure, "Loading ...");
  try {
    await figure.load(ctx, figure);
    figureMessage(figure, $("fig-" + figure.id).querySelector(".figure-status").textContent.replace("Loading ...", ""));
  } catch (error) {
    if (error.status === 404) return unavailable(ctx, figure, "Not available yet.");
    if (error.status === 403) return unavailable(ctx, figure, "Not available for your role.");
    unavailable(ctx, figure, "Could not load: " + error.message);
  }
}

async function loadHeadlineSafely() {
  try {
    await loadHeadline(ctx);
  } catch (error) {
    ctx.tables.headline = null;
    $("headline-tiles").replaceChildren();
    $("headline-desc").textContent = "Could not load the headline numbers: " + error.message;
  }
}

function scopeText() {
  const f = ctx.filters;
  return "Figures for " + f.from + " to " + f.to + " by " + f.grain + (f.team ? ", team " + f.team : ", all teams")
    + (f.topic ? ", topic " + ctx.label("topic", f.topic) : "") + ".";
}

async function refresh() {
  readFilters();
  if (ctx.filters.from > ctx.filters.to) return status("`From` must not be after `To`.");
  status("Loading figures ...");
  ctx.asOf = null;
  $("download-all").disabled = true;
  Object.keys(ctx.tables).forEach((k) => delete ctx.tables[k]);
  await Promise.all([loadHeadlineSafely(), ...FIGURES.map(loadFigure)]);
  status(scopeText() + freshness());
  $("report-scope").textContent = scopeText() + " Printed " + new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC. Purpose: " + (sessionStorage.getItem(PURPOSE_KEY) || "");
  $("download-all").disabled = false;
  document.body.dataset.loaded = String(Date.now());
}

// Everything shown, in one file: the headline, the ranks table and each figure's table, in page order.
function downloadAll() {
  const f = ctx.filters;
  const sections = ["headline", "ranks", ...FIGURES.map((fig) => fig.id)].map((id) => ctx.tables[id]).filter(Boolean);
  const scope = [["from", f.from], ["to", f.to], ["grain", f.grain], ["team", f.team || "all teams"], ["topic", f.topic || "all topics"]];
  download("beatline_" + f.from + "_" + f.to + ".csv", reportCsv(scope, sections));
}

async function fillFilterChoices() {
  TOPICS.forEach((t) => $("topic").add(new Option(ctx.label("topic", t), t)));
  if (ctx.isLeaderOnly()) {
    $("team").disabled = true;
    return;
  }
  if (!ctx.isForceWide()) {
    $("team").replaceChildren(new Option(ctx.claims.team, ctx.claims.team));
    $("team").disabled = true;
    return;
  }
  const data = await ctx.get("/v1/history/stats", { from: $("from").value, to: $("to").value, group_by: "month", by: "team" });
  [...new Set(data.buckets.map((b) => b.key))].sort().forEach((t) => $("team").add(new Option(t, t)));
}

async function showBoard() {
  show("purpose-step", false);
  show("board", true);
  $("purpose-shown").textContent = sessionStorage.getItem(PURPOSE_KEY);
  const to = new Date();
  const from = new Date(to.getTime() - 83 * 86400000);
  $("to").value = $("to").value || isoDay(to);
  $("from").value = $("from").value || isoDay(from);
  if (!$("figures").childElementCount) {
    FIGURES.forEach((f) => $("figures").appendChild(buildFigure(ctx, f)));
    await fillFilterChoices();
  }
  await refresh();
}

function askPurpose() {
  show("board", false);
  show("purpose-step", true);
  $("purpose").value = sessionStorage.getItem(PURPOSE_KEY) || "";
  $("purpose").focus();
}

async function signOut(message) {
  await ctx.auth.signOut();
  sessionStorage.removeItem(PURPOSE_KEY);
  ctx.user = null;
  Object.keys(ctx.charts).forEach((k) => delete ctx.charts[k]);
  $("figures").replaceChildren();
  $("headline-tiles").replaceChildren();
  ["board", "purpose-step", "sign-out"].forEach((id) => show(id, false));
  $("who").textContent = "";
  show("signin", true);
  status(message || "Signed out.");
}

function whoText() {
  const c = ctx.claims;
  return "Signed in as " + c.sub + " (" + (c.roles || []).join(", ") + (c.team ? ", team " + c.team : "") + ")";
}

async function start() {
  const config = await (await fetch(BASE + "/dashboard/config.json")).json();
  ctx.auth = createAuth({ issuer: config.issuer, clientId: config.client_id, scope: config.scope, redirectPath: config.redirect_path });
  const failed = await ctx.auth.completeRedirect();
  if (failed) status("Sign-in failed: " + failed.message);
  ctx.user = await ctx.auth.user();
  if (!ctx.user || ctx.user.expired) return show("signin", true);
  ctx.claims = claimsOf(ctx.user.access_token);
  $("who").textContent = whoText();
  show("sign-out", true);
  const openapi = await ctx.publicGet("/v1/openapi.json");
  ctx.access = accessIndex(openapi);
  ctx.routes = routeIndex(openapi);
  if (!sessionStorage.getItem(PURPOSE_KEY)) return askPurpose();
  await showBoard();
}

function wire() {
  $("sign-in").addEventListener("click", () => ctx.auth.signIn());
  $("sign-out").addEventListener("click", () => signOut());
  $("change-purpose").addEventListener("click", askPurpose);
  $("download-all").addEventListener("click", downloadAll);
  $("print-report").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", () => sizeForPrint(ctx, true));
  window.addEventListener("afterprint", () => sizeForPrint(ctx, false));
  $("purpose-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("purpose").value.trim();
    if (value.length < 3) return status("Please write at least 3 characters.");
    sessionStorage.setItem(PURPOSE_KEY, value);
    showBoard().catch((e) => status("Could not load: " + e.message));
  });
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh().catch((e) => status("Could not load: " + e.message));
  });
}

wire();
start().catch((error) => status("The dashboard could not start: " + error.message));
