// The residents' app service worker (served at {{base}}/app/sw.js, scope {{base}}/app/, no-cache).
// It names the hashed shell files, so every deploy changes these bytes and installs a new version.
// Offline: the shell from the shell cache (an exact allow-list: the page, its hashed files and the
// hashed ES modules of its import map, listed by api/web.py `app_shell`; see `navigate`); the
// inbox's first page as last loaded (network first).
// Push: one notification per message in the app's payload format (chalicelib/notify/payloads.py), of
// three kinds: an alert (the alert id is the tag, so an Update or Cancel replaces the earlier
// notification), a team answer (`kind: "answer"`: titled as such, the conversation's context as
// its body, one tag per conversation, opening the conversation) and a notice (`kind: "notice"`:
// "you said, we did" or a beat meeting reminder, titled in the resident's language by the server,
// the public text as its body, one tag per notice, opening the app).
"use strict";

const BASE = "{{base}}";
const SHELL = {{var:shell}};
const SHELL_CACHE = "beatline-shell-{{var:version}}";
const INBOX_CACHE = "beatline-inbox";
const INBOX_PATH = BASE + "/v1/subscribers/me/inbox";
const ICON = "{{asset:app-icon.svg}}";
const TOKEN_KEY = "beatline.resident-token";
importScripts("{{asset:idb-keyval.umd.js}}");

const TEXT = {
  en: { cancelled: "Cancelled", withdrawn: "This alert has been withdrawn.", updated: "Updated", answered: "Your neighbourhood team answered" },
  cy: { cancelled: "Wedi'i ganslo", withdrawn: "Mae'r rhybudd hwn wedi'i dynnu'n ôl.", updated: "Diweddarwyd", answered: "Atebodd eich tîm cymdogaeth" },
};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("beatline-shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

// The shell's page is cached under its own URL only, and only when the answer is that page: a
// same-origin, unredirected 200 HTML answer to a navigation to exactly the shell's URL. Any other
// navigation in the scope (the manifest, the worker, /app/anything) goes to the network and is
// never cached; offline, every navigation in the scope gets the cached shell.
const SHELL_PAGE = BASE + "/app/";
const SHELL_PATHS = new Set([BASE + "/app", BASE + "/app/"]);
const SHELL_ASSETS = new Set(SHELL.filter((url) => url !== SHELL_PAGE));

function isShellPage(response) {
  return response.ok && response.status === 200 && response.type === "basic" && !response.redirected &&
    SHELL_PATHS.has(new URL(response.url).pathname) && (response.headers.get("Content-Type") || "").startsWith("text/html");
}

async function cachedShell() {
  return caches.match(SHELL_PAGE, { cacheName: SHELL_CACHE });
}

async function navigate(request, url) {
  try {
    const response = await fetch(request);
    if (SHELL_PATHS.has(url.pathname) && isShellPage(response)) {
      const cache = await caches.open(SHELL_CACHE);
      await cache.put(SHELL_PAGE, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cachedShell();
    if (!cached) throw error;
    return cached;
  }
}

async function networkFirst(request, cacheName, key) {
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic" && (response.headers.get("Content-Type") || "").startsWith("application/json")) {
      const cache = await caches.open(cacheName);
      await cache.put(key, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await caches.match(key, { cacheName });
    if (!cached) throw error;
    return markOffline(cached);
  }
}

async function markOffline(response) {
  const headers = new Headers(response.headers);
  headers.set("X-Beatline-Offline", "1");
  return new Response(await response.blob(), { status: response.status, headers });
}

async function shellAsset(request, url) {
  const cached = await caches.match(url.pathname, { cacheName: SHELL_CACHE });
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (SHELL_PATHS.has(url.pathname) || url.pathname.startsWith(SHELL_PAGE))) {
    event.respondWith(navigate(request, url));
  } else if (SHELL_ASSETS.has(url.pathname) && !url.search) {
    event.respondWith(shellAsset(request, url)); // hashed names: the cached copy is the file
  } else if (url.pathname === INBOX_PATH && !url.searchParams.has("cursor")) {
    event.respondWith(networkFirst(request, INBOX_CACHE, INBOX_PATH)); // the last first page, for offline
  }
});

function words(lang) { return TEXT[(lang || "").toLowerCase().startsWith("cy") ? "cy" : "en"]; }

// Severity sets how insistent a notification is: Extreme/Severe stay until dismissed and vibrate
// hard; Moderate alerts again on an Update; Minor and Unknown arrive silently.
function insistence(severity) {
  if (severity === "Extreme" || severity === "Severe") return { requireInteraction: true, renotify: true, vibrate: [300, 100, 300, 100, 600] };
  if (severity === "Moderate") return { renotify: true, vibrate: [200] };
  return { silent: true };
}

function isAnswer(payload) { return payload.kind === "answer" || payload.kind === "conversation"; }

function notificationFor(payload) {
  const say = words(payload.lang);
  if (payload.kind === "notice") {
    return [payload.headline || "", { tag: "notice:" + payload.notice + ":" + payload.id, body: payload.description || "",
      icon: ICON, lang: payload.lang || "", timestamp: Date.parse(payload.sent) || Date.now(),
      data: { kind: "notice", id: payload.id }, silent: true }];
  }
  if (isAnswer(payload)) { // "conversation": the kind's name before answers had their own payload
    return [say.answered, { tag: "conversation:" + payload.conversation_id, body: payload.description || "", icon: ICON,
      lang: payload.lang || "", timestamp: Date.parse(payload.sent) || Date.now(),
      data: { kind: "conversation", id: payload.conversation_id }, renotify: true }];
  }
  const cancel = payload.msgType === "Cancel";
  const title = cancel ? say.cancelled + ": " + payload.headline : payload.headline;
  const options = Object.assign({ tag: payload.id, icon: ICON, lang: payload.lang || "", timestamp: Date.parse(payload.sent) || Date.now(),
    body: cancel ? say.withdrawn : (payload.msgType === "Update" ? say.updated + ": " : "") + (payload.description || ""),
    data: { kind: "alert", id: payload.id } }, cancel ? { silent: true } : insistence(payload.severity));
  return [title, options];
}

self.addEventListener("push", (event) => {
  let payload = null;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null;
  }
  if (!payload || !(isAnswer(payload) ? payload.conversation_id : payload.id)) return;
  event.waitUntil(show(payload));
});

// The open app hears what was shown, once showNotification has settled: it reloads the inbox when
// that is on screen (the new item and its unread mark appear without a Refresh). Tests read the
// notifications after this message, never by polling getNotifications() while one is being shown
// (Chromium deletes a notification written but not yet displayed: docs/pitfalls.md).
async function tellTheApp(message) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const w of windows) if (new URL(w.url).pathname.startsWith(BASE + "/app")) w.postMessage(message);
}

async function show(payload) {
  const [title, options] = notificationFor(payload);
  await self.registration.showNotification(title, options);
  await tellTheApp({ type: "shown", tag: options.tag, kind: options.data.kind, id: options.data.id }).catch(() => null);
}

async function markRead(id) {
  const token = await idbKeyval.get(TOKEN_KEY);
  if (!token) return;
  await fetch(BASE + "/v1/alerts/" + encodeURIComponent(id) + "/read", { method: "POST", headers: { Authorization: "Bearer " + token } }).catch(() => null);
}

async function openFrom(data) {
  const hash = data.kind === "notice" ? "" : (data.kind === "conversation" ? "#conversation=" : "#alert=") + encodeURIComponent(data.id);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((w) => new URL(w.url).pathname.startsWith(BASE + "/app"));
  if (open && data.kind === "notice") return open.focus(); // the inbox shows it
  if (open) {
    open.postMessage({ type: data.kind === "conversation" ? "open-conversation" : "open-alert", id: data.id });
    return open.focus();
  }
  return self.clients.openWindow(BASE + "/app/" + hash);
}

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  if (!data.id) return;
  event.waitUntil(Promise.all([data.kind === "alert" ? markRead(data.id) : null, openFrom(data)]));
});
