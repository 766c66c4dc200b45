// The team's app service worker (served at {{base}}/team/sw.js, scope {{base}}/team/, no-cache).
// It caches the app shell only (the page, its styles and modules: hashed names, so a deploy
// installs a new version) and code loaded on demand (the map); never API answers: contacts made
// offline wait in the page's IndexedDB outbox, not here.
// Push: staff notifications (a resident waiting, a wait nearing the response standard, an alert
// awaiting approval). Their payloads carry ids and counts, never residents' words.
"use strict";

const BASE = "{{base}}";
const SHELL = {{var:shell}};
const SHELL_CACHE = "beatline-team-shell-{{var:version}}";
const CODE_CACHE = "beatline-team-code";
const ICON = "{{asset:team-icon.svg}}";

const TEXT = {
  en: { conversation: "A resident is waiting for the team", due: "A resident's wait is nearing the response standard",
        approval: "An alert is waiting for your approval", other: "Beatline: something needs the team", open: "Open the queue" },
  cy: { conversation: "Mae preswylydd yn aros am y tîm", due: "Mae aros preswylydd yn agosáu at y safon ymateb",
        approval: "Mae rhybudd yn aros i chi ei gymeradwyo", other: "Beatline: mae angen y tîm", open: "Agor y ciw" },
};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("beatline-team-shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

async function page(request) {
  try {
    const response = await fetch(request);
    if (response.ok) await (await caches.open(SHELL_CACHE)).put(BASE + "/team/", response.clone());
    return response;
  } catch (error) {
    const cached = await caches.match(BASE + "/team/", { cacheName: SHELL_CACHE });
    if (!cached) throw error;
    return cached;
  }
}

// Hashed assets never change: the shell's from the shell cache, the rest cached on first use.
async function asset(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await (await caches.open(CODE_CACHE)).put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.startsWith(BASE + "/team")) event.respondWith(page(request));
  else if (url.pathname.startsWith(BASE + "/assets/")) event.respondWith(asset(request));
});

function kindOf(payload) {
  const kind = String(payload.staff_kind || payload.kind || payload.type || ""); // the server's: staff_kind
  if (/approv/.test(kind)) return "approval";
  if (/due|standard|respond_by|nearing/.test(kind)) return "due";
  if (/conversation|waiting|queue/.test(kind)) return "conversation";
  return "other";
}

// The language the officer chose in the app (the page keeps it in its IndexedDB key-value store,
// `beatline-team`/`kv`, key `lang`): the server does not know it, so its payloads say en-GB.
// "" when it cannot be read, or not within LANGUAGE_WAIT_MS (an open request waits behind another
// connection's pending upgrade or deletion): a push is shown in the payload's language, never lost.
const LANGUAGE_WAIT_MS = 2000;

function storedLanguage() {
  return new Promise((resolve) => {
    let open;
    try { open = indexedDB.open("beatline-team"); } catch { resolve(""); return; }
    open.onupgradeneeded = () => open.result.createObjectStore("kv"); // as idb-keyval creates it
    open.onerror = () => resolve("");
    open.onsuccess = () => {
      try {
        const get = open.result.transaction("kv").objectStore("kv").get("lang");
        get.onsuccess = () => { open.result.close(); resolve(String(get.result || "")); };
        get.onerror = () => { open.result.close(); resolve(""); };
      } catch { open.result.close(); resolve(""); }
    };
  });
}

function chosenLanguage() {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(""), LANGUAGE_WAIT_MS); });
  return Promise.race([storedLanguage(), late]).finally(() => clearTimeout(timer));
}

// The open team app hears what was shown (after showNotification settled): it refreshes the list
// the notification is about when that list is on screen.
async function tellTheApp(message) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const w of windows) if (new URL(w.url).pathname.startsWith(BASE + "/team")) w.postMessage(message);
}

async function show(payload) {
  const language = (await chosenLanguage()) || String(payload.lang || "");
  const say = TEXT[language.toLowerCase().startsWith("cy") ? "cy" : "en"];
  const kind = kindOf(payload);
  const id = payload.conversation_id || payload.alert_id || payload.id || "";
  const view = kind === "approval" ? "approvals" : "queue";
  const many = Number(payload.count || 0); // the server's staff payload: kind, id, count, url (no words)
  const count = many > 1 ? " (" + many + ")" : "";
  const tag = kind + ":" + id;
  await self.registration.showNotification(say[kind] + count, {
    tag, body: say.open, icon: ICON, renotify: true, lang: say === TEXT.cy ? "cy" : "en",
    data: { view, id },
  });
  await tellTheApp({ type: "shown", tag, view, id }).catch(() => null);
}

self.addEventListener("push", (event) => {
  let payload = {};
  try { payload = (event.data && event.data.json()) || {}; } catch { payload = {}; }
  event.waitUntil(show(payload));
});

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((w) => new URL(w.url).pathname.startsWith(BASE + "/team"));
    if (open) {
      open.postMessage({ type: "open", view: data.view || "queue", id: data.id });
      return open.focus();
    }
    return self.clients.openWindow(BASE + "/team/#" + (data.view || "queue"));
  })());
});
