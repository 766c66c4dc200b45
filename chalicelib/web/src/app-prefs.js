// The residents' app: settings (language, kinds of alert, least severity, quiet hours) and
// erasure (on the server, then everything this device kept).
import {
  $, api, BASE, ctx, el, INBOX_CACHE, kv, languageOf, READ_KEY, say, state, t, TOKEN_KEY,
} from "./app-core.js";
import { renderContacts } from "./app-contacts.js";
import { CATEGORIES } from "./lists.js";

export function fillCategories() {
  const chosen = new Set((state.me && state.me.categories) || []);
  $("pref-categories").replaceChildren(...CATEGORIES.map((c) => {
    const box = el("input", { type: "checkbox", id: "cat-" + c, value: c });
    box.checked = chosen.has(c);
    return el("div", { class: "row" }, box, el("label", { for: "cat-" + c, text: t("cat_" + c) }));
  }));
}

export async function loadPrefs() {
  state.me = await api("GET", "/v1/subscribers/me");
  $("pref-lang").value = languageOf(state.me.language) === "cy" ? "cy" : "en-GB";
  $("pref-severity").value = state.me.min_severity || "";
  const quiet = state.me.quiet_hours;
  $("quiet-on").checked = Boolean(quiet);
  if (quiet) {
    $("quiet-start").value = quiet.start;
    $("quiet-end").value = quiet.end;
  }
  fillCategories();
  renderContacts();
}

export async function savePrefs(event) {
  event.preventDefault();
  const categories = [...document.querySelectorAll("#pref-categories input:checked")].map((b) => b.value);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "Europe/London";
  const body = {
    language: $("pref-lang").value,
    categories: categories.length ? categories : null,
    min_severity: $("pref-severity").value || null,
    quiet_hours: $("quiet-on").checked ? { start: $("quiet-start").value, end: $("quiet-end").value, tz: zone } : null,
  };
  state.me = await api("PATCH", "/v1/subscribers/me", body);
  await ctx.chooseUiLanguage(languageOf(body.language));
  say(t("prefs_saved"));
}

export async function erase() {
  const dialog = $("erase-dialog");
  dialog.returnValue = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (dialog.returnValue !== "erase") return;
  await api("DELETE", "/v1/subscribers/me");
  await forget();
  say(t("erased"));
}

// Everything this device kept about the resident: the token, read marks, the cached inbox, the
// push subscription.
export async function forget() {
  state.token = null;
  state.me = null;
  state.inbox = [];
  state.read = new Set();
  await kv.del(TOKEN_KEY);
  await kv.del(READ_KEY);
  if (window.caches) await caches.delete(INBOX_CACHE);
  const registration = navigator.serviceWorker && (await navigator.serviceWorker.getRegistration(BASE + "/app/"));
  const subscription = registration && registration.pushManager && (await registration.pushManager.getSubscription().catch(() => null));
  if (subscription) await subscription.unsubscribe().catch(() => null);
  $("inbox-list").replaceChildren();
  ctx.signedIn(false);
  await ctx.show("nearby");
}
