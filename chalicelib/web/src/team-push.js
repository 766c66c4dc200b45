// Staff notifications on this device: a Web Push subscription of its own, registered with
// PUT /v1/staff/me/devices/{id} (the id is this device's, kept on the device) and removed with
// DELETE. The service worker (team-sw.js) shows them; they never carry residents' words.
import { $ } from "./dom.js";
import { problemText } from "./api.js";

const DEVICE_KEY = "device";
const SUBSCRIBE_TIMEOUT_MS = 15000;

async function deviceId(ctx) {
  let id = await ctx.kv.get(DEVICE_KEY);
  if (!id) {
    id = crypto.randomUUID();
    await ctx.kv.set(DEVICE_KEY, id);
  }
  return id;
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), ms))]);
}

async function registration() {
  return navigator.serviceWorker ? navigator.serviceWorker.ready : null;
}

async function current() {
  const reg = await registration();
  return reg && reg.pushManager ? reg.pushManager.getSubscription().catch(() => null) : null;
}

async function switchOn(ctx) {
  if (!("PushManager" in window) || (await Notification.requestPermission()) !== "granted") throw new Error(ctx.t("push_refused"));
  const key = await ctx.api.get("/v1/public/webpush-key");
  const reg = await registration();
  const subscription = await withTimeout(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.application_server_key }), SUBSCRIBE_TIMEOUT_MS);
  const json = subscription.toJSON();
  // the body is the browser's PushSubscription JSON, as residents send it
  await ctx.api.put("/v1/staff/me/devices/" + (await deviceId(ctx)), { endpoint: json.endpoint, keys: json.keys });
}

// Off (or signing out): the server forgets this device; the browser drops the subscription.
export async function forget(ctx) {
  const id = await ctx.kv.get(DEVICE_KEY);
  if (id && ctx.routes("DELETE", "/v1/staff/me/devices/{id}")) await ctx.api.del("/v1/staff/me/devices/" + id).catch(() => null);
  const subscription = await current();
  if (subscription) await subscription.unsubscribe().catch(() => null);
}

async function toggle(ctx) {
  const box = $("push-switch");
  $("push-status").textContent = "";
  try {
    if (box.checked) await switchOn(ctx);
    else await forget(ctx);
    $("push-status").textContent = ctx.t(box.checked ? "push_on" : "push_off");
  } catch (error) {
    box.checked = false;
    $("push-status").textContent = ctx.t("push_failed") + problemText(error);
  }
}

export function init(ctx) {
  $("push-switch").addEventListener("change", () => toggle(ctx));
}

export async function show(ctx) {
  const available = ctx.routes("PUT", "/v1/staff/me/devices/{id}") && "PushManager" in window;
  $("push-switch").disabled = !available;
  $("push-switch").checked = Boolean(available && (await current()) && (await ctx.kv.get(DEVICE_KEY)));
  $("push-status").textContent = available ? "" : ctx.t("push_unavailable");
}
