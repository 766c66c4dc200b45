"""The team's app (/team/) in headless Chromium on a phone viewport, for an officer's day: sign in
through the local OIDC provider; go offline, log 5 contacts, reload offline (the shell and the
outbox survive); back online, exactly those 5 contacts exist once each; amend one (through a 409);
claim and answer a waiting conversation; the push switch registers the device, a new conversation
pushes it and the notification (by kind, English and Welsh, no resident words) opens the queue; a supervisor draws an alert polygon and a second one approves it;
the sign-up QR opens /app/ with the neighbourhood chosen. axe-clean, nothing leaves the origin
but for the identity provider."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from infra.local.idp import STAFF_PRIVATE, issue_token
from infra.local.oidc_provider import LocalOIDCProvider
from infra.local.server import LiveServer
from tests import alerting
from tests.browser import SCREENSHOTS, LiveClient, Session, launch_chromium, serious_violations
from tests.conftest import STAFF_AUDIENCE

RUN = uuid.uuid4().hex[:8]
TEAM = f"team-{RUN}"
OFFICER = f"pc-{RUN}"
FIGURES: dict[str, Any] = {}  # measured here, printed at the end (docs/team-app.md)
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}


@pytest.fixture(scope="module")
def stack(keys_dir: Path) -> Iterator[dict[str, Any]]:
    from infra.local.dynamodb_local import free_port

    oidc_port = free_port()
    server = LiveServer(env={"BEATLINE_STAFF_ISSUER": f"http://127.0.0.1:{oidc_port}", "BEATLINE_DASHBOARD_SCOPE": "openid beatline"})
    oidc = LocalOIDCProvider(port=oidc_port, keys_dir=keys_dir, audience=STAFF_AUDIENCE,
                             redirect_uris=[f"{server.url}/team/"], force="test-force").start()
    try:
        server.start()
        pem = (keys_dir / STAFF_PRIVATE).read_bytes()

        def token(role: str, sub: str, team: str | None = TEAM) -> str:
            return issue_token(private_pem=pem, issuer=oidc.issuer, audience=STAFF_AUDIENCE, sub=sub, roles=[role],
                               team=team, force="test-force")

        lat, lon = alerting.spot()
        area_id = str(uuid.uuid4())
        response = requests.put(f"{server.url}/v1/areas/{area_id}", timeout=60, headers=bearer(token("admin", "adm", None)),
                                json={"name": f"Canal ward {RUN}", "team": TEAM, "geometry": alerting.square(lat, lon, 0.01)})
        assert response.status_code in (200, 201), response.text
        yield {"base": server.url, "issuer": oidc.issuer, "token": token, "area_id": area_id, "lat": lat, "lon": lon}
    finally:
        server.stop()
        oidc.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


def new_tab(chromium: Any, stack: dict[str, Any], **options: Any) -> Session:
    context = chromium.new_context(**{**PHONE, **options}, geolocation={"latitude": stack["lat"], "longitude": stack["lon"]})
    context.grant_permissions(["geolocation", "notifications"], origin=stack["base"])
    tab = Session(context.new_page(), stack["base"])
    tab.context = context  # type: ignore[attr-defined]
    return tab


def sign_in(tab: Session, role: str, sub: str) -> None:
    page, base = tab.page, tab.base
    page.goto(f"{base}/team/")
    page.get_by_role("button", name=re.compile("Sign in")).click()
    page.wait_for_url("**/interaction/**")
    page.get_by_label("Subject").fill(sub)
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Team").fill(TEAM)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile("^" + re.escape(f"{base}/team/")))
    page.wait_for_function("() => document.body.dataset.ready === '1' && !document.getElementById('nav').hidden")


def shot(tab: Session, name: str) -> None:
    if SCREENSHOTS:
        tab.page.screenshot(path=str(Path(SCREENSHOTS) / f"team-{name}.png"), full_page=False)


def axe_clean(tab: Session) -> None:
    assert serious_violations(tab.page) == []


def sync_text(tab: Session) -> str:
    return tab.page.locator("#sync").inner_text()


@pytest.fixture(scope="module")
def officer_tab(chromium: Any, stack: dict[str, Any]) -> Iterator[Session]:
    """The officer's one tab, signed in once for the module (tests share it: fast)."""
    tab = new_tab(chromium, stack)
    tab.page.goto(f"{stack['base']}/team/")
    try:
        tab.page.wait_for_function("() => document.body.dataset.ready === '1'")
    except Exception as exc:
        raise AssertionError(f"not ready: {tab.console_errors} {tab.requests}") from exc
    axe_clean(tab)  # the sign-in screen
    shot(tab, "signin")
    sign_in(tab, "officer", OFFICER)
    # The shell is cached and the page controlled before going offline.
    try:
        tab.page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30000)
    except Exception as exc:
        state = tab.page.evaluate("""async () => { const r = await navigator.serviceWorker.getRegistration();
            if (r) return [r.scope, !!r.installing, !!r.waiting, r.active && r.active.state];
            try { await navigator.serviceWorker.register('/team/sw.js', {scope: '/team/'}); return 'registered now'; }
            catch (e) { return String(e); } }""")
        raise AssertionError(f"no controller: {state} {tab.console_errors}") from exc
    yield tab
    tab.context.close()  # type: ignore[attr-defined]
    print("\nteam app figures:", json.dumps(FIGURES))


@pytest.fixture
def officer(officer_tab: Session) -> Session:
    """The shared tab as each test expects it: online, in English, no request routes of an earlier
    test. A test that fails half-way (in Welsh, say) then fails no other."""
    page = officer_tab.page
    officer_tab.context.set_offline(False)  # type: ignore[attr-defined]
    page.unroute_all(behavior="ignoreErrors")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    if page.locator("#ui-lang").input_value() != "en":
        page.locator("#ui-lang").select_option("en")
    return officer_tab


def log_contact(tab: Session, kind: str, topic: str, notes: str) -> None:
    page = tab.page
    form = page.locator("#log-form")
    form.get_by_label("Street" if kind == "street" else "Online", exact=True).check()
    form.get_by_label("Topic").select_option(topic)
    form.get_by_label("Outcome").select_option("advice_given")
    if kind == "street":
        page.wait_for_function("() => document.getElementById('log-location').textContent.startsWith('Location:')")
    else:
        form.get_by_label("Platform").select_option("nextdoor")
    page.locator("#log-more summary").click()
    form.get_by_label("Notes (optional, no names)").fill(notes)
    page.get_by_role("button", name="Log contact").click()


def outbox_ids(tab: Session) -> list[str]:
    return tab.page.evaluate("""() => new Promise((resolve) => {
        const open = indexedDB.open('beatline-team');
        open.onsuccess = () => { const get = open.result.transaction('kv').objectStore('kv').get('outbox');
          get.onsuccess = () => resolve((get.result || []).map((i) => i.id)); };
    })""")


def my_contacts(stack: dict[str, Any]) -> list[dict[str, Any]]:
    response = requests.get(f"{stack['base']}/v1/contacts?limit=100", headers=bearer(stack["token"]("officer", OFFICER)), timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_offline_contacts_survive_a_reload_and_sync_once_each(officer: Session, stack: dict[str, Any]) -> None:
    page = officer.page
    axe_clean(officer)
    officer.context.set_offline(True)  # type: ignore[attr-defined]
    try:
        for n, (kind, topic) in enumerate([("street", "burglary"), ("street", "noise"), ("online", "fraud_scams"),
                                           ("street", "road_safety"), ("online", "youth")]):
            log_contact(officer, kind, topic, f"offline contact {n}")
            page.get_by_text(f"{n + 1} waiting to sync").wait_for()
        shot(officer, "log-offline")
        waiting = outbox_ids(officer)
        assert len(waiting) == 5
        started = time.perf_counter()
        page.reload()  # offline: the shell from the service worker, the outbox from IndexedDB
        page.get_by_role("button", name="Log contact").wait_for()
        page.wait_for_function("() => document.body.dataset.ready === '1'")
        FIGURES["offline_reload_to_log_form_ms"] = round((time.perf_counter() - started) * 1000)
        assert sync_text(officer) == "5 waiting to sync"
        assert page.get_by_role("button", name="Log contact").is_visible()
    finally:
        officer.context.set_offline(False)  # type: ignore[attr-defined]
    page.get_by_text("All synced").wait_for(timeout=30000)
    page.reload()  # a reload online resends nothing (the outbox is empty)
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    mine = my_contacts(stack)
    assert sorted(c["id"] for c in mine) == sorted(waiting)  # exactly these 5, once each
    assert {c["notes"] for c in mine} == {f"offline contact {n}" for n in range(5)}
    assert all(c["location"] for c in mine if c["kind"] == "street")


def test_amend_a_contact_through_a_conflict(officer: Session, stack: dict[str, Any]) -> None:
    page = officer.page
    page.get_by_role("button", name="My contacts").click()
    page.get_by_role("table", name="My figures").get_by_text("This week · contacts · street").wait_for()  # own figures
    first = page.locator("#mine-list li").first
    contact_id = first.get_attribute("data-id")
    first.get_by_role("button").click()
    page.get_by_role("heading", name="Amend this contact").wait_for()
    axe_clean(officer)
    # Meanwhile the same contact is amended elsewhere (version 1 -> 2).
    response = requests.patch(f"{stack['base']}/v1/contacts/{contact_id}", json={"version": 1, "tags": ["elsewhere"]},
                              headers=bearer(stack["token"]("officer", OFFICER)), timeout=60)
    assert response.status_code == 200, response.text
    page.locator("#amend-outcome").select_option("referred")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Someone changed this contact after you opened it").wait_for()
    shot(officer, "amend-conflict")
    page.get_by_role("button", name="Apply my changes to the latest version").click()
    page.get_by_text("Saved (version 3).").wait_for()
    stored = requests.get(f"{stack['base']}/v1/contacts/{contact_id}", headers=bearer(stack["token"]("officer", OFFICER)), timeout=60).json()
    assert (stored["version"], stored["outcome"], stored["tags"]) == (3, "referred", ["elsewhere"])  # both changes kept


def _start_conversation(stack: dict[str, Any], text: str) -> str:
    _, resident = alerting.register(LiveClient(stack["base"]))
    response = requests.post(f"{stack['base']}/v1/conversations", headers=bearer(resident), timeout=60,
                             json={"id": str(uuid.uuid4()), "topic": "antisocial_behaviour", "text": text, "area_id": stack["area_id"]})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_claim_and_answer_a_waiting_conversation(officer: Session, stack: dict[str, Any]) -> None:
    conversation_id = _start_conversation(stack, "Motorbikes on the canal path every night.")
    page = officer.page
    page.get_by_role("button", name="Queue").click()
    card = page.locator(f'#queue-list li[data-id="{conversation_id}"]')
    card.wait_for()
    assert "waiting" in card.inner_text()
    assert "Motorbikes on the canal path every night." in card.inner_text()  # the preview
    card.get_by_role("button").click()
    page.locator("#conv-messages").get_by_text("Motorbikes on the canal path every night.").wait_for()
    assert page.locator("#conv-reaches").inner_text() == "Your answer reaches: app"  # an inbox-only resident
    page.get_by_role("button", name="Claim", exact=True).click()
    page.get_by_text("Claimed: the team sees that you are answering.").wait_for()
    assert page.get_by_role("button", name="Release").is_visible()
    queue = requests.get(f"{stack['base']}/v1/conversations?status=waiting", timeout=60,
                         headers=bearer(stack["token"]("officer", f"pc2-{RUN}"))).json()["items"]
    [seen] = [c for c in queue if c["id"] == conversation_id]
    assert seen["claimed_by"] and seen["claimed_by_me"] is False  # the rest of the team sees the claim
    axe_clean(officer)
    page.get_by_label("Your answer").fill("We will patrol the path tonight.")
    page.get_by_role("button", name="Send answer").click()
    page.get_by_text("Answer sent.").wait_for()
    shot(officer, "conversation")
    read = requests.get(f"{stack['base']}/v1/conversations/{conversation_id}", headers=bearer(stack["token"]("officer", OFFICER)), timeout=60).json()
    assert read["status"] == "answered" and read["messages"][-1]["text"] == "We will patrol the path tonight."


def _activated_registration(tab: Session, scope: str) -> tuple[Any, str]:
    """The worker must be `activated` before a push is delivered, or Chromium drops it."""
    cdp = tab.context.new_cdp_session(tab.page)  # type: ignore[attr-defined]
    registrations: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.on("ServiceWorker.workerVersionUpdated", lambda e: versions.extend(e["versions"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ids = {r["registrationId"] for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]}
        active = [v for v in versions if v["registrationId"] in ids and v["status"] == "activated"]
        if active:
            return cdp, active[-1]["registrationId"]
        tab.page.wait_for_timeout(100)
    raise AssertionError(f"no activated worker for {scope}: {registrations} {versions}")


# Headless Chromium has no reachable push service (its subscribe() goes to Google's FCM, hard-coded:
# with no network it never settles). This init script, in the test only, stands in for that push
# service: subscribe() answers a subscription to `push.example.test` with keys the test made, and
# records the options the app passed. Everything else on the page is the app's own code.
PUSH_SERVICE_STAND_IN = """(() => {
  const state = { subscription: null, options: null };
  window.__pushStandIn = state;
  const wire = %s;
  PushManager.prototype.subscribe = async function (options) {
    const key = options.applicationServerKey;
    state.options = { userVisibleOnly: options.userVisibleOnly,
      key: typeof key === "string" ? key : btoa(String.fromCharCode(...new Uint8Array(key.buffer || key))) };
    state.subscription = { endpoint: wire.endpoint, toJSON: () => wire,
      unsubscribe: async () => { state.subscription = null; return true; } };
    return state.subscription;
  };
  PushManager.prototype.getSubscription = async function () { return state.subscription; };
})();"""


def _push_keys() -> dict[str, str]:
    """A device's Web Push keys as a browser makes them: a P-256 public key and a 16-byte secret."""
    import base64
    import os

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    encode = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    return {"p256dh": encode(point), "auth": encode(os.urandom(16))}


def _answer_in_process(client: Any, token: str) -> Any:
    """Answer the page's request with the same application in this process: its push-endpoint
    guard resolves through the test DNS table (the `chalice local` server has no DNS to vet
    `push.example.test` with); the caller is the same officer, by a token of the test issuer."""
    def handle(route: Any, request: Any) -> None:
        assert (request.headers.get("authorization") or "").startswith("Bearer ")  # the app sends the officer's token
        path = urlsplit(request.url).path
        headers = {**bearer(token), "Content-Type": "application/json"}
        call = client.http.put if request.method == "PUT" else client.http.delete
        answer = call(path, headers=headers, body=request.post_data or "") if request.method == "PUT" else call(path, headers=headers)
        ANSWERED.append((request.method, path, request.post_data_json if request.method == "PUT" else None, answer.status_code))
        route.fulfill(status=answer.status_code, headers={"Content-Type": "application/json"}, body=answer.body or b"")
    return handle


ANSWERED: list[tuple[str, str, Any, int]] = []


def _notifications(tab: Session) -> list[dict[str, str]]:
    return tab.page.evaluate("""async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .map(n => ({title: n.title, body: n.body, tag: n.tag}))""")


def _deliver(tab: Session, cdp: Any, registration: str, base: str, data: bytes, tag: str) -> dict[str, str]:
    """Deliver a push to the worker; the notification it showed. The notifications are read once the
    worker has told the app it showed `tag` (showNotification settled), never while it is showing:
    Chromium's getNotifications() deletes from its store a notification written but not yet on the
    platform's display, so polling it during a push loses that notification (docs/team-app.md)."""
    page = tab.page
    page.evaluate("""tag => { window.__shown = null;
        const heard = (event) => { const d = event.data || {};
          if (d.type === "shown" && d.tag === tag) { window.__shown = tag; navigator.serviceWorker.removeEventListener("message", heard); } };
        navigator.serviceWorker.addEventListener("message", heard); }""", tag)
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": base, "registrationId": registration, "data": data.decode()})
    try:
        page.wait_for_function("tag => window.__shown === tag", arg=tag, timeout=20000)
    except Exception as exc:
        raise AssertionError(f"no notification {tag}: {_notifications(tab)} {tab.console_errors}") from exc
    [shown] = [n for n in _notifications(tab) if n["tag"] == tag]
    return shown


def _blocked_language_store(tab: Session) -> Any:
    """A second tab whose upgrade of the app's IndexedDB is blocked by the app's open connection:
    every other open of that database (the worker's language lookup) waits behind it."""
    blocker = tab.context.new_page()  # type: ignore[attr-defined]
    blocker.goto(f"{tab.base}/v1/public/webpush-key")  # any page of the origin
    state = blocker.evaluate("""() => new Promise((resolve) => { const open = indexedDB.open("beatline-team", 1000);
        open.onblocked = () => resolve("blocked"); open.onsuccess = () => resolve("opened"); open.onerror = () => resolve("failed"); })""")
    assert state == "blocked"
    return blocker


def test_the_push_switch_registers_the_device_and_a_new_conversation_pushes_it(
        officer: Session, stack: dict[str, Any], client: Any, staff_token: Any, services_override: Any) -> None:
    """The Settings switch end to end: on -> the app subscribes with the server's VAPID key and
    PUTs the subscription; a resident's new conversation -> the staff push use case and worker
    send it to that device (exactly the payload the server's Web Push channel encrypts) -> the
    service worker shows the title for its kind, in English and in Welsh, without the resident's
    words, and in the payload's language when the chosen one cannot be read in time -> the open
    queue refreshes -> a click on it opens the queue; off -> DELETE."""
    from chalicelib.domain.staff_devices import notification
    from chalicelib.notify.payloads import webpush_body
    from chalicelib.store import staff as staff_store
    from tests.alerting import FakeChannel

    page = officer.page
    wire = {"endpoint": f"https://push.example.test/staff/{RUN}", "keys": _push_keys()}
    officer.context.add_init_script(PUSH_SERVICE_STAND_IN % json.dumps(wire))  # type: ignore[attr-defined]
    token = staff_token("officer", sub=OFFICER, team=TEAM)
    page.route(re.compile(r".*/v1/staff/me/devices/[^/]+$"), _answer_in_process(client, token))
    push = FakeChannel()  # the worker's Web Push channel: records what it would encrypt and send
    services_override(channels={"webpush": push})
    page.reload()
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.get_by_role("button", name="Settings").click()
    switch = page.get_by_role("switch", name="Notifications on this device")
    switch.check()
    page.get_by_text("Notifications are on for this device.").wait_for()
    shot(officer, "push-on")
    key = requests.get(f"{stack['base']}/v1/public/webpush-key", timeout=60).json()["application_server_key"]
    assert page.evaluate("window.__pushStandIn.options") == {"userVisibleOnly": True, "key": key}
    [(method, path, body, status)] = ANSWERED
    assert (method, status, body) == ("PUT", 200, wire) and path.startswith("/v1/staff/me/devices/")
    device_id = path.rsplit("/", 1)[1]
    assert staff_store.device_ids(OFFICER, 10) == [device_id]

    # A resident starts a conversation: the real use case enqueues, the worker claims and sends.
    _, resident = alerting.register(client)
    words = "Secret words of a resident."
    started = client.http.post("/v1/conversations", headers={**bearer(resident), "Content-Type": "application/json"},
                               body=json.dumps({"id": str(uuid.uuid4()), "topic": "noise", "text": words, "area_id": stack["area_id"]}))
    assert started.status_code == 201, started.body
    conversation_id = started.json_body["id"]
    [note] = push.sent_to(wire["endpoint"])
    data = webpush_body(note)
    assert words.encode() not in data
    cdp, registration = _activated_registration(officer, f"{stack['base']}/team/")
    shown = _deliver(officer, cdp, registration, stack["base"], data, f"conversation:{conversation_id}")
    assert (shown["title"], shown["body"]) == ("A resident is waiting for the team", "Open the queue")

    # The title by kind, in the officer's language (the server's payloads say en-GB).
    page.get_by_label("Language").select_option("cy")
    titles = {}
    for kind in ("conversation_waiting", "wait_nearing_standard", "alert_awaiting_approval"):
        made = webpush_body(notification(kind, TEAM, conversation_id, 1, note_time(), stack["base"]))
        tag = ("approval" if kind.startswith("alert") else "due" if kind.startswith("wait") else "conversation") + ":" + conversation_id
        titles[kind] = _deliver(officer, cdp, registration, stack["base"], made, tag)["title"]
    assert titles == {"conversation_waiting": "Mae preswylydd yn aros am y tîm",
                      "wait_nearing_standard": "Mae aros preswylydd yn agosáu at y safon ymateb",
                      "alert_awaiting_approval": "Mae rhybudd yn aros i chi ei gymeradwyo"}
    # The language cannot be read in time (the worker's open of the app's database waits behind a
    # blocked upgrade): the push is still shown, in the payload's language.
    blocker = _blocked_language_store(officer)
    try:
        shown = _deliver(officer, cdp, registration, stack["base"], data, f"conversation:{conversation_id}")
    finally:
        blocker.close()
    assert shown["title"] == "A resident is waiting for the team"
    page.get_by_label("Iaith").select_option("en")

    # A push about the queue while the queue is on screen refreshes it.
    page.get_by_role("button", name="Queue").click()
    page.locator(f'#queue-list li[data-id="{conversation_id}"]').wait_for()
    again = client.http.post("/v1/conversations", headers={**bearer(resident), "Content-Type": "application/json"},
                             body=json.dumps({"id": str(uuid.uuid4()), "topic": "noise", "text": "Another matter.", "area_id": stack["area_id"]}))
    assert again.status_code == 201, again.body
    [later] = [n for n in push.sent_to(wire["endpoint"]) if n is not note]
    assert page.locator(f'#queue-list li[data-id="{again.json_body["id"]}"]').count() == 0
    _deliver(officer, cdp, registration, stack["base"], webpush_body(later), f"conversation:{again.json_body['id']}")
    page.locator(f'#queue-list li[data-id="{again.json_body["id"]}"]').wait_for()

    # A click on the notification (dispatched in the worker: headless Chromium has no notification
    # to click) brings the open app to the queue.
    page.get_by_role("button", name="Settings").click()
    tag = f"conversation:{conversation_id}"
    _deliver(officer, cdp, registration, stack["base"], data, tag)
    [worker] = [w for w in officer.context.service_workers if w.url.endswith("/team/sw.js")]  # type: ignore[attr-defined]
    worker.evaluate("""async (tag) => { const [n] = await self.registration.getNotifications({ tag });
        self.dispatchEvent(new NotificationEvent("notificationclick", { notification: n })); }""", tag)
    page.get_by_role("heading", name="The team's queue").wait_for()
    assert page.evaluate("location.hash") == "#queue"

    # Off: the server forgets the device.
    page.get_by_role("button", name="Settings").click()
    switch.uncheck()
    page.get_by_text("Notifications are off for this device.").wait_for()
    assert ANSWERED[-1][:2] == ("DELETE", path) and ANSWERED[-1][3] == 204
    assert staff_store.device_ids(OFFICER, 10) == []
    page.unroute(re.compile(r".*/v1/staff/me/devices/[^/]+$"))


def note_time() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_the_sign_up_qr_opens_the_app_with_the_neighbourhood_chosen(officer: Session, stack: dict[str, Any]) -> None:
    page = officer.page
    page.get_by_role("button", name="Sign-up QR").click()
    page.locator("#view-signup").get_by_label("Neighbourhood").select_option(stack["area_id"])
    qr = page.locator("#qr svg")
    qr.wait_for()
    assert int(qr.get_attribute("data-modules") or 0) >= 21
    assert page.get_by_role("img", name=f"QR code: sign up for alerts in Canal ward {RUN}").is_visible()
    link = page.locator("#qr-link").get_attribute("href") or ""
    assert urlsplit(link).path == "/app/" and urlsplit(link).query == f"area={stack['area_id']}&via=team"
    axe_clean(officer)
    shot(officer, "signup-qr")
    resident = officer.context.new_page()  # type: ignore[attr-defined]
    resident.goto(link)
    resident.locator("#signup-submit").wait_for()  # a visitor from the QR lands on sign-up
    resident.get_by_label("Inbox only (open this page to read them)").check()
    resident.locator("#signup-submit").click()
    resident.get_by_role("heading", name="The areas you follow").wait_for()
    resident.wait_for_function("id => document.getElementById('area-' + id)?.checked === true", arg=stack["area_id"])
    figures = requests.get(f"{stack['base']}/v1/staff/me/figures", headers=bearer(stack["token"]("officer", OFFICER)), timeout=60).json()
    assert figures["week"]["team_signups"] == 1  # counted for the team
    resident.close()


def test_a_supervisor_draws_an_alert_polygon_and_another_approves_it(chromium: Any, stack: dict[str, Any]) -> None:
    drafter = new_tab(chromium, stack)
    sign_in(drafter, "supervisor", f"sgt-{RUN}")
    page = drafter.page
    page.get_by_role("button", name="Alerts").click()
    headline = f"Cars broken into near the canal {RUN}"
    page.get_by_label("Headline", exact=True).fill(headline)
    page.get_by_label("Description", exact=True).fill("Several cars were broken into overnight. Do not leave valuables in view.")
    page.locator("#al-welsh summary").click()
    page.get_by_label("Headline in Welsh").fill("Ceir wedi'u torri i mewn ger y gamlas")
    page.get_by_label("Description in Welsh").fill("Torrwyd i mewn i sawl car dros nos.")
    page.get_by_label("A shape drawn on the map").check()
    page.locator("#al-map.leaflet-container").wait_for()  # the map code loads on demand
    page.get_by_role("button", name="Draw a shape").click()
    page.get_by_text("Select the corners on the map").first.wait_for()
    box = page.locator("#al-map").bounding_box()
    assert box
    corners = [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)]
    for fx, fy in corners + corners[:1]:  # the first corner again finishes the shape
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.wait_for_timeout(150)
    page.get_by_text("Shape drawn: 4 corners.").wait_for()
    page.get_by_role("button", name="Preview").click()
    page.locator("#al-preview-cards").get_by_text("Ceir wedi'u torri i mewn ger y gamlas").wait_for()
    axe_clean(drafter)
    shot(drafter, "alert-polygon")
    page.get_by_role("button", name="Submit for approval").click()
    page.get_by_text("Draft saved").wait_for()
    alerts = requests.get(f"{stack['base']}/v1/alerts?status=draft", headers=bearer(stack["token"]("supervisor", f"sgt-{RUN}")), timeout=60).json()
    [draft] = [a for a in alerts["items"] if a["headline"] == headline]
    assert '"Polygon"' in json.dumps(draft["area"])  # the drawn shape, not a named area or circle
    assert draft["translations"]["cy"]["headline"] == "Ceir wedi'u torri i mewn ger y gamlas"
    drafter.context.close()  # type: ignore[attr-defined]

    approver = new_tab(chromium, stack)
    sign_in(approver, "supervisor", f"sgt2-{RUN}")
    approver.page.get_by_role("button", name="Approvals").click()
    approver.page.get_by_role("button", name=f"Approve and publish: {headline}").wait_for()
    axe_clean(approver)
    shot(approver, "approvals")
    approver.page.get_by_role("button", name=f"Approve and publish: {headline}").click()
    approver.page.get_by_text("Approved:").wait_for()
    read = requests.get(f"{stack['base']}/v1/alerts/{draft['id']}", headers=bearer(stack["token"]("supervisor", f"sgt2-{RUN}")), timeout=60).json()
    assert read["status"] == "published" and read["approved_by"] == f"sgt2-{RUN}"
    approver.context.close()  # type: ignore[attr-defined]


def test_welsh_and_nothing_leaves_the_origin_but_for_sign_in(officer: Session, stack: dict[str, Any]) -> None:
    page = officer.page
    page.get_by_label("Language").select_option("cy")
    page.get_by_role("button", name="Cofnodi", exact=True).click()
    page.locator("#log-form").get_by_label("Pwnc").wait_for()
    assert page.get_by_role("button", name=re.compile("Log contact")).is_visible()
    axe_clean(officer)
    page.get_by_label("Iaith").select_option("en")
    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in officer.requests if u.startswith("http")}
    assert origins <= {stack["base"], stack["issuer"]}
    # The browser logs the expected failed loads (offline, the amend's 409) as "Failed to load resource".
    assert [e for e in officer.console_errors if not e.startswith("Failed to load resource")] == []
