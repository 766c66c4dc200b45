// The team's queue: residents waiting for an answer, oldest first, with the start of the last
// message, how long they have waited, the response deadline, who claimed it and whether the
// resident has erased their account. Claim, answer, close with an outcome.
import { $, el, options, uuid } from "./dom.js";
import { ApiError } from "./api.js";
import { OUTCOMES } from "./lists.js";

const state = { open: null, listed: new Map() };

export function waited(ctx, since, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - Date.parse(since)) / 60000));
  if (minutes < 60) return ctx.t("minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? ctx.t("hours", { n: hours }) : ctx.t("days", { n: Math.floor(hours / 24) });
}

function card(ctx, c) {
  const open = el("button", { type: "button", class: "link-button", text: ctx.i18n.value("topic", c.topic) });
  open.addEventListener("click", () => openConversation(ctx, c.id).catch(ctx.failed));
  const since = c.waiting_since || c.last_message_at;
  const facts = [ctx.t("waited", { time: waited(ctx, since) })];
  if (c.respond_by) facts.push(ctx.t("respond_by", { at: new Date(c.respond_by).toLocaleString(ctx.i18n.language === "cy" ? "cy-GB" : "en-GB") }));
  if (c.claimed_by) facts.push(ctx.t("claimed_by", { who: c.claimed_by }));
  return el("li", { class: "card" + (c.resident_erased ? " erased" : ""), "data-id": c.id },
    el("h3", {}, open),
    c.preview ? el("p", { class: "preview", text: c.preview }) : null,
    el("p", { class: "meta", text: facts.join(" · ") }),
    c.resident_erased ? el("p", { class: "badge", text: ctx.t("resident_erased") }) : null);
}

async function loadQueue(ctx) {
  const page = await ctx.api.get("/v1/conversations?" + new URLSearchParams({ status: "waiting", limit: "50" }));
  state.listed = new Map(page.items.map((c) => [c.id, c]));
  const items = [...page.items].sort((a, b) => Date.parse(a.waiting_since || a.last_message_at) - Date.parse(b.waiting_since || b.last_message_at));
  $("queue-list").replaceChildren(...items.map((c) => card(ctx, c)));
  if (!items.length) $("queue-list").append(el("li", { text: ctx.t("queue_empty") }));
}

function message(ctx, m) {
  const who = m.from === "team" ? ctx.t("from_team") + (m.officer ? " (" + m.officer + ")" : "") : ctx.t("from_resident");
  return el("li", { class: "from-" + m.from },
    el("p", { class: "meta", text: who + " · " + new Date(m.sent_at).toLocaleString(ctx.i18n.language === "cy" ? "cy-GB" : "en-GB") }),
    el("p", { text: m.erased ? ctx.t("message_erased") : m.text }));
}

function render(ctx) {
  const c = state.open;
  $("conv-title").textContent = ctx.i18n.value("topic", c.topic);
  const facts = [ctx.i18n.value("status", c.status)];
  if (c.claimed_by) facts.push(ctx.t(c.claimed_by_me ? "claimed_by_you" : "claimed_by", { who: c.claimed_by }));
  if (c.claimed_by && c.claim_expires_at) facts.push(ctx.t("claim_until", { at: new Date(c.claim_expires_at).toLocaleTimeString(ctx.i18n.language === "cy" ? "cy-GB" : "en-GB") }));
  if (c.resident_erased) facts.push(ctx.t("resident_erased"));
  $("conv-meta").textContent = facts.join(" · ");
  // Which kinds of channel an answer reaches (types only, from the API; none once erased).
  const reaches = Array.isArray(c.reaches) ? c.reaches : [];
  $("conv-reaches").hidden = reaches.length === 0;
  $("conv-reaches").textContent = reaches.length ? ctx.t("reaches", { channels: reaches.map((k) => ctx.t("reach_" + k)).join(" / ") }) : "";
  $("conv-messages").replaceChildren(...(c.messages || []).map((m) => message(ctx, m)));
  const claims = ctx.routes("POST", "/v1/conversations/{id}/claim") && c.status === "waiting";
  $("conv-claim").hidden = !claims || Boolean(c.claimed_by_me);
  $("conv-release").hidden = !claims || !c.claimed_by_me;
  options($("conv-outcome"), OUTCOMES, (v) => ctx.i18n.value("outcome", v), $("conv-outcome").value || "advice_given");
}

async function openConversation(ctx, id) {
  const read = await ctx.api.get("/v1/conversations/" + encodeURIComponent(id));
  state.open = { ...(state.listed.get(id) || {}), ...read }; // the queue's claim fields with the messages
  $("conversation").hidden = false;
  render(ctx);
  $("conv-title").focus();
}

async function claim(ctx, action) {
  const c = state.open;
  try {
    const answer = await ctx.api.post("/v1/conversations/" + encodeURIComponent(c.id) + "/" + action, {});
    state.open = { ...c, ...(answer || {}), messages: c.messages };
    ctx.say(ctx.t(action === "claim" ? "claimed" : "released"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return ctx.say(ctx.t("claim_taken"), true);
    throw error;
  }
  render(ctx);
  return loadQueue(ctx);
}

async function answer(ctx, event) {
  event.preventDefault();
  const c = state.open;
  const text = $("conv-text").value.trim();
  if (!text) return;
  const sent = await ctx.api.post("/v1/conversations/" + encodeURIComponent(c.id) + "/messages",
    { id: uuid(), text, ...(c.state_token ? { state_token: c.state_token } : {}) });
  $("conv-text").value = "";
  state.open = { ...c, messages: [...(c.messages || []), sent], state_token: sent.state_token || null, status: "answered",
    claimed_by: null, claimed_by_me: false }; // an answer ends the claim
  render(ctx);
  ctx.say(ctx.t("answered"));
  await loadQueue(ctx);
}

async function close(ctx, event) {
  event.preventDefault();
  const c = state.open;
  const closed = await ctx.api.post("/v1/conversations/" + encodeURIComponent(c.id) + "/close",
    { outcome: $("conv-outcome").value, ...(c.state_token ? { state_token: c.state_token } : {}) });
  state.open = { ...c, ...closed, messages: closed.messages || c.messages };
  render(ctx);
  ctx.say(ctx.t("closed"));
  await loadQueue(ctx);
}

export function init(ctx) {
  $("queue-refresh").addEventListener("click", () => loadQueue(ctx).catch(ctx.failed));
  $("conv-claim").addEventListener("click", () => claim(ctx, "claim").catch(ctx.failed));
  $("conv-release").addEventListener("click", () => claim(ctx, "release").catch(ctx.failed));
  $("conv-answer").addEventListener("submit", (e) => answer(ctx, e).catch(ctx.failed));
  $("conv-close").addEventListener("submit", (e) => close(ctx, e).catch(ctx.failed));
}

export async function show(ctx) {
  $("conversation").hidden = true;
  await loadQueue(ctx);
}

// The list again (a staff push about the queue arrived); an open conversation stays open.
export const refresh = loadQueue;
