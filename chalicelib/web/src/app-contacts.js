// The residents' app: email and text messages beside the app (docs/channels.md). A resident adds
// an address (confirmed by the emailed link) or a mobile number (confirmed by a six-digit code),
// removes either, and sees each one's masked hint, its state and what it receives. A type the
// stage does not offer (422 "not offered") is hidden with a line saying so.
import { $, api, failed, hasRoute, say, state, t } from "./app-core.js";

const CHANNELS = "/v1/subscribers/me/channels/";
const TYPES = ["email", "sms"];
const notOffered = new Set();

function contactOf(type) {
  return ((state.me && state.me.contacts) || []).find((c) => c.type === type) || null;
}

function smsBar(contact) {
  const chosen = contact && contact.min_severity;
  return chosen ? t("sev_" + chosen) : t("chan_sms_force");
}

function renderType(type) {
  const contact = contactOf(type);
  const offered = !notOffered.has(type);
  $("chan-" + type + "-state").textContent = contact
    ? t("chan_state", { hint: contact.hint, status: t("chan_status_" + contact.status) })
    : t("chan_none");
  $("chan-" + type + "-form").hidden = !offered;
  $("chan-" + type + "-off").hidden = offered;
  $("chan-" + type + "-remove").hidden = !contact;
  if (type === "sms") {
    $("chan-sms-gets").textContent = t("chan_sms_gets", { severity: smsBar(contact) });
    $("chan-sms-code-form").hidden = !(contact && contact.status === "pending");
  }
}

export function renderContacts() {
  $("contact-channels").hidden = !hasRoute(CHANNELS + "{channel_type}", "put");
  if (state.me) TYPES.forEach(renderType);
}

async function addChannel(event, type, body) {
  event.preventDefault();
  try {
    state.me = await api("PUT", CHANNELS + type, body);
  } catch (error) {
    if (error.status !== 422 || !/not offered/i.test(error.message)) throw error;
    notOffered.add(type);
    renderType(type);
    return;
  }
  renderType(type);
  say(t(type === "email" ? "chan_email_check" : "chan_sms_check"));
}

async function confirmCode(event) {
  event.preventDefault();
  await api("POST", CHANNELS + "sms/confirm", { code: $("chan-sms-code").value.trim() });
  $("chan-sms-code").value = "";
  state.me = await api("GET", "/v1/subscribers/me");
  renderType("sms");
  say(t("chan_sms_confirmed"));
}

async function removeChannel(type) {
  await api("DELETE", CHANNELS + type);
  state.me = await api("GET", "/v1/subscribers/me");
  renderType(type);
  say(t("chan_removed"));
}

export function wireContacts() {
  $("chan-email-form").addEventListener("submit", (e) => addChannel(e, "email", { address: $("chan-email-address").value.trim() }).catch(failed));
  $("chan-sms-form").addEventListener("submit", (e) => addChannel(e, "sms", {
    phone: $("chan-sms-phone").value.replace(/[\s()-]/g, ""), min_severity: $("chan-sms-severity").value || undefined,
  }).catch(failed));
  $("chan-sms-code-form").addEventListener("submit", (e) => confirmCode(e).catch(failed));
  for (const type of TYPES) $("chan-" + type + "-remove").addEventListener("click", () => removeChannel(type).catch(failed));
}
