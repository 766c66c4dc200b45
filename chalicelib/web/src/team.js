// The team's app (/team/): entry module. Signs in (OIDC code + PKCE), switches views, keeps the
// contact outbox in sync, and hands every view one context object. Views live in team-*.js.
import { $ } from "./dom.js";
import { createI18n, languageOf } from "./i18n.js";
import en from "./team-en.js";
import cy from "./team-cy.js";
import { ApiError, createApi, problemText, routeIndex } from "./api.js";
import { claimsOf, createAuth } from "./auth.js";
import { keyValue, Outbox } from "./storage.js";
import * as logView from "./team-log.js";
import * as mineView from "./team-mine.js";
import * as queueView from "./team-queue.js";
import * as alertsView from "./team-alerts.js";
import * as qrView from "./team-qr.js";
import * as pushView from "./team-push.js";

const meta = (name) => (document.querySelector('meta[name="' + name + '"]') || {}).content || "";
const BASE = meta("beatline-base");
const LANG_KEY = "beatline.team.lang";
const AREAS_KEY = "areas";
const VIEWS = {
  log: logView, mine: mineView, queue: queueView, alerts: alertsView,
  approvals: { show: (c) => alertsView.showApprovals(c) }, signup: qrView, settings: pushView,
};

const REFRESH = { queue: queueView.refresh, approvals: alertsView.showApprovals };

const i18n = createI18n({ en, cy });
const kv = keyValue("beatline-team");
const auth = createAuth({ issuer: meta("beatline-issuer"), clientId: meta("beatline-client-id"),
  scope: meta("beatline-scope") || "openid", redirectPath: BASE + "/team/" });

const ctx = {
  base: BASE, i18n, t: i18n.t, kv, user: null, claims: {}, outbox: null, routes: () => false, view: null,
  api: createApi({ base: BASE, token: async () => (ctx.user ? ctx.user.access_token : null), onUnauthorized: () => expired() }),
  say, failed, areas, renderSync, syncNow, isSupervisor: () => (ctx.claims.roles || []).includes("supervisor"),
};

function say(text, error = false) {
  const node = $("status");
  node.textContent = text || "";
  node.classList.toggle("error", Boolean(error));
}

function failed(error) {
  if (error instanceof ApiError && error.offline) return say(i18n.t("offline_now"), true);
  say(i18n.t("error_prefix") + problemText(error), true);
}

function expired() {
  say(i18n.t("expired"), true);
  ctx.user = null;
  $("view-signin").hidden = false;
}

// Named areas are public; kept on the device so the forms work offline.
async function areas() {
  try {
    const found = [];
    let cursor = null;
    for (let page = 0; page < 5; page += 1) {
      const answer = await ctx.api.get("/v1/areas?" + new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) }));
      found.push(...answer.items);
      cursor = answer.next_cursor;
      if (!cursor) break;
    }
    await kv.set(AREAS_KEY, found);
    return found;
  } catch {
    return (await kv.get(AREAS_KEY)) || [];
  }
}

async function renderSync() {
  if (!ctx.outbox) return;
  const { waiting, errors } = await ctx.outbox.counts();
  const node = $("sync");
  node.hidden = false;
  const parts = [];
  if (waiting) parts.push(i18n.t(waiting === 1 ? "sync_waiting_one" : "sync_waiting", { n: waiting }));
  if (errors) parts.push(i18n.t(errors === 1 ? "sync_errors_one" : "sync_errors", { n: errors }));
  node.textContent = parts.length ? parts.join(" · ") : i18n.t("sync_done");
  node.classList.toggle("error", errors > 0);
  await logView.renderProblems(ctx);
}

async function send(records) {
  const answer = await ctx.api.post("/v1/contacts/batch", { contacts: records });
  return answer.results;
}

async function syncNow() {
  if (!ctx.outbox || !ctx.user || ctx.user.expired || !navigator.onLine) return renderSync();
  try {
    await ctx.outbox.sync(send);
  } catch (error) {
    if (!(error instanceof ApiError && error.offline)) failed(error);
  }
  await renderSync();
}

async function show(name) {
  const view = VIEWS[name] ? name : "log";
  ctx.view = view;
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== "view-" + view;
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (location.hash !== "#" + view) history.replaceState(null, "", "#" + view);
  say("");
  if (VIEWS[view].show) await VIEWS[view].show(ctx);
}

async function signOut() {
  const { waiting, errors } = ctx.outbox ? await ctx.outbox.counts() : { waiting: 0, errors: 0 };
  if (waiting + errors && !window.confirm(i18n.t("signout_unsynced", { n: waiting + errors }))) return;
  await pushView.forget(ctx).catch(() => null);
  await kv.clear();
  await auth.signOut();
  ctx.user = null;
  ctx.outbox = null;
  signedIn(false);
  say(i18n.t("signed_out"));
}

function signedIn(yes) {
  $("nav").hidden = !yes;
  $("sync").hidden = !yes;
  $("who").textContent = yes ? i18n.t("who", { sub: ctx.claims.sub || "", team: ctx.claims.team || "" }) : "";
  document.querySelector('#nav [data-view="approvals"]').hidden = !(yes && ctx.isSupervisor());
  if (!yes) {
    for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== "view-signin";
  }
}

function wire() {
  $("sign-in").addEventListener("click", () => auth.signIn().catch(failed));
  $("sign-out").addEventListener("click", () => signOut().catch(failed));
  for (const button of document.querySelectorAll("#nav button")) {
    button.addEventListener("click", () => show(button.dataset.view).catch(failed));
  }
  $("ui-lang").addEventListener("change", () => {
    localStorage.setItem(LANG_KEY, i18n.use($("ui-lang").value));
    kv.set("lang", i18n.language).catch(() => null); // the service worker titles staff pushes in it
    signedIn(Boolean(ctx.user));
    renderSync().catch(() => null);
    if (ctx.user && ctx.view) show(ctx.view).catch(failed);
  });
  window.addEventListener("online", () => syncNow());
  window.addEventListener("offline", () => say(i18n.t("offline_now")));
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      if (data.type === "open" && ctx.user) show(data.view).catch(failed);
      // A staff push was shown: the list it is about, when on screen, is refreshed (in the background).
      if (data.type === "shown" && ctx.user && ctx.view === data.view && REFRESH[data.view]) REFRESH[data.view](ctx).catch(() => null);
    });
  }
  for (const view of Object.values(VIEWS)) if (view.init) view.init(ctx);
}

async function loadRoutes() {
  try {
    const response = await fetch(BASE + "/v1/openapi.json", { headers: { Accept: "application/json" } });
    ctx.routes = routeIndex(await response.json());
  } catch {
    ctx.routes = () => false;
  }
}

async function start() {
  $("ui-lang").value = i18n.use(localStorage.getItem(LANG_KEY) || languageOf(navigator.language));
  kv.set("lang", i18n.language).catch(() => null);
  wire();
  if (navigator.serviceWorker) navigator.serviceWorker.register(BASE + "/team/sw.js", { scope: BASE + "/team/" }).catch(() => null);
  const problem = await auth.completeRedirect();
  if (problem) say(i18n.t("signin_failed") + problem.message, true);
  ctx.user = await auth.user();
  if (!ctx.user) {
    signedIn(false);
    document.body.dataset.ready = "1";
    return;
  }
  ctx.claims = claimsOf(ctx.user.access_token);
  ctx.outbox = new Outbox(kv, "outbox", ctx.claims.sub);
  signedIn(true);
  const routes = loadRoutes();
  const first = (location.hash || "#log").slice(1);
  await routes;
  await show(VIEWS[first] ? first : "log");
  document.body.dataset.ready = "1";
  await syncNow();
}

start().catch((error) => {
  failed(error);
  document.body.dataset.ready = "1";
});
