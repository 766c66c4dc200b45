"""The residents' web app (/app/) in real headless Chromium on a phone viewport, against a live
`chalice local` (tests/browser.py harness).

One resident goes through the whole journey in order: first visit (budget), sign up inbox only,
pick a named area on the map and a circle, an alert approved by staff reaches the inbox (read
receipt, reply), a Web Push message delivered to the service worker through the DevTools protocol
shows a notification (title, tag) and an approved Update replaces it, a conversation (start, the
team's answer reaching the inbox under the officer's display pseudonym, reply), settings saved (the page turns Welsh), offline shell and
inbox, erasure signs the page out. Every step: no console error; nothing requested off the origin.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.server import LiveServer
from tests import alerting
from tests.browser import SCREENSHOTS, LiveClient, Session, launch_chromium, serious_violations
from tests.conftest import bearer

RUN = uuid.uuid4().hex[:8]
TEAM = f"app-{RUN}"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
BUDGET_SHELL_BYTES = 300_000  # first visit, uncompressed (chalice local does not gzip)
BUDGET_INBOX_MS = 3_000
FIGURES: dict[str, Any] = {}  # measured here, printed at the end (docs/app.md)
WORKER_EVENTS: list[Any] = []  # the service worker's states and errors, shown when a push shows nothing


@pytest.fixture(scope="module")
def server(ses_local: Any) -> Iterator[LiveServer]:
    live = LiveServer(env={"BEATLINE_EMAIL_FROM": "alerts@beatline.test"})  # email on; SMS off (no sender)
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def world(server: LiveServer, staff_token: Any) -> dict[str, Any]:
    """A named area of a fresh team, its officer and two supervisors."""
    lat, lon = alerting.spot()
    area_id = str(uuid.uuid4())
    response = requests.put(f"{server.url}/v1/areas/{area_id}", timeout=60, headers=bearer(staff_token("admin", team=None)),
                            json={"name": f"Canal ward {RUN}", "team": TEAM, "geometry": alerting.square(lat, lon, 0.01)})
    assert response.status_code in (200, 201), response.text
    return {"base": server.url, "area_id": area_id, "lat": lat, "lon": lon,
            "officer": staff_token("officer", sub=f"pc-{RUN}", team=TEAM),
            "supervisor": staff_token("supervisor", sub=f"sgt-{RUN}", team=TEAM),
            "supervisor2": staff_token("supervisor", sub=f"sgt2-{RUN}", team=TEAM)}


@pytest.fixture(scope="module")
def tab(world: dict[str, Any]) -> Iterator[Session]:
    with launch_chromium() as chromium:
        context = chromium.new_context(**PHONE)
        context.grant_permissions(["notifications"], origin=world["base"])
        page = context.new_page()
        session = Session(page, world["base"])
        session.context = context  # type: ignore[attr-defined]
        yield session
        context.close()
    print("\napp figures:", json.dumps(FIGURES))


def shot(tab: Session, name: str) -> None:
    if SCREENSHOTS:
        tab.page.evaluate("() => window.scrollTo(0, 0)")
        tab.page.screenshot(path=str(Path(SCREENSHOTS) / f"app-{name}.png"), full_page=True)


def token_in_idb(tab: Session) -> str | None:
    return tab.page.evaluate("() => idbKeyval.get('beatline.resident-token')")


def me(world: dict[str, Any], token: str) -> requests.Response:
    return requests.get(f"{world['base']}/v1/subscribers/me", headers=bearer(token), timeout=30)


def staff_alert(world: dict[str, Any], alert_id: str) -> dict[str, Any]:
    response = requests.get(f"{world['base']}/v1/alerts/{alert_id}", headers=bearer(world["officer"]), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_first_visit_shell_budget_and_installable(tab: Session, world: dict[str, Any]) -> None:
    page = tab.page
    page.goto(f"{world['base']}/app/")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    entries = page.evaluate("""() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
        .map(e => ({name: e.name, size: e.transferSize || e.encodedBodySize}))""")
    shell = [e for e in entries if "/v1/" not in e["name"]]
    FIGURES["shell_bytes"] = sum(e["size"] for e in shell)
    FIGURES["shell_files"] = len(shell)
    assert 0 < FIGURES["shell_bytes"] < BUDGET_SHELL_BYTES, shell
    assert page.get_by_role("heading", name="Alerts in force near a place").is_visible()
    page.wait_for_function("async () => !!(await navigator.serviceWorker.ready).active")
    page.reload()
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.evaluate("!!navigator.serviceWorker.controller")  # the shell is now served by the worker
    cdp = tab.context.new_cdp_session(page)  # type: ignore[attr-defined]
    errors = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
    assert [e for e in errors if e != "in-incognito"] == [], errors  # Playwright's contexts are incognito
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and json.loads(manifest["data"])["scope"] == "/app/"


def test_register_inbox_only_and_pick_the_area_on_the_map(tab: Session, world: dict[str, Any]) -> None:
    page = tab.page
    page.get_by_role("button", name="Sign up").click()
    page.get_by_label("Inbox only (open this page to read them)").check()
    page.locator("#signup-submit").click()
    page.get_by_role("heading", name="The areas you follow").wait_for()
    token = token_in_idb(tab)
    assert token and token.count(".") == 2
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0  # IndexedDB only
    assert me(world, token).json()["channel"] == {"type": "inbox"}
    area = page.locator(f"path.area-{world['area_id']}")
    area.wait_for(state="attached")
    # The map fits every named area of the force; others' areas (other tests share the tables) can make
    # this one a few pixels wide: zoom to it first, as a resident would.
    page.evaluate("id => { const m = window.beatlineApp.map; m.fitBounds(window.beatlineApp.areaLayers.get(id).getBounds()); }",
                  world["area_id"])
    area.wait_for()
    area.click()  # on the map itself
    assert page.locator(f"#area-{world['area_id']}").is_checked()
    assert "area-selected" in (area.get_attribute("class") or "")
    page.locator("#lat").fill(str(world["lat"] + 0.2))
    page.locator("#lon").fill(str(world["lon"]))
    page.get_by_role("button", name="Use this point").click()
    page.locator("#radius").fill("1500")
    page.locator("#radius").dispatch_event("input")
    page.locator("path.chosen-circle").wait_for()
    assert page.locator("#radius-out").inner_text() == "1.50 km"
    shot(tab, "areas")
    page.get_by_role("button", name="Save my areas").click()
    page.get_by_text("Your areas are saved.").wait_for()
    areas = me(world, token).json()["areas"]
    assert {a.get("area_id") for a in areas} == {world["area_id"], None}
    circle = next(a["shape"] for a in areas if "area_id" not in a)
    assert circle["radius_m"] == 1500 and circle["center"] == {"lat": round(world["lat"] + 0.2, 5), "lon": world["lon"]}
    world["token"] = token


def test_an_approved_alert_appears_in_the_inbox_opens_and_takes_a_reply(tab: Session, world: dict[str, Any]) -> None:
    client = LiveClient(world["base"])
    alert_id = alerting.publish(client, world["officer"], world["supervisor"], {"area_id": world["area_id"]},
                                headline=f"Van thefts near the canal {RUN}", severity="Moderate")
    world["alert_id"] = alert_id
    page = tab.page
    page.reload()  # time to the first inbox render, shell from the service worker
    page.wait_for_function("() => document.body.dataset.inboxShown")
    FIGURES["inbox_render_ms"] = int(page.evaluate("document.body.dataset.inboxShown"))
    assert FIGURES["inbox_render_ms"] < BUDGET_INBOX_MS
    card = page.locator(f'li[data-alert="{alert_id}"]')
    assert f"Van thefts near the canal {RUN}" in card.locator("h3").inner_text()
    assert "unread" in (card.get_attribute("class") or "")
    shot(tab, "inbox")
    card.get_by_role("button", name="Read").click()
    page.wait_for_function("id => !document.querySelector(`li[data-alert='${id}']`).classList.contains('unread')", arg=alert_id)
    assert staff_alert(world, alert_id)["delivery"]["read"] == 1
    card.get_by_label("Reply").fill("I saw a white van at 3am.")
    card.get_by_role("button", name="Send").click()
    page.get_by_text("Your reply was sent to the team.").wait_for()
    assert staff_alert(world, alert_id)["delivery"]["responses"] == 1


def _worker_registration(tab: Session, world: dict[str, Any]) -> tuple[Any, str]:
    """The /app/ registration once its worker is activated: a push delivered to a worker still
    installing (a cold first run caches the shell first) is dropped, and no notification shows."""
    cdp = tab.context.new_cdp_session(tab.page)  # type: ignore[attr-defined]
    seen: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: seen.extend(event["registrations"]))
    cdp.on("ServiceWorker.workerVersionUpdated", lambda event: versions.extend(event["versions"]))
    cdp.on("ServiceWorker.workerErrorReported", lambda event: WORKER_EVENTS.append(event["errorMessage"]))
    cdp.on("ServiceWorker.workerVersionUpdated", lambda event: WORKER_EVENTS.extend(
        (v["status"], v["runningStatus"]) for v in event["versions"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [r["registrationId"] for r in seen if r["scopeURL"] == f"{world['base']}/app/" and not r["isDeleted"]]
        active = [v for v in versions if v["registrationId"] in found and v["status"] == "activated"]
        if active:
            return cdp, active[-1]["registrationId"]
        tab.page.wait_for_timeout(100)
    raise AssertionError(f"no activated service worker for /app/: {seen} {versions}")


def _push_body(world: dict[str, Any], language: str | None = None) -> str:
    """Exactly what the fan-out would push to this resident (the server's own payload code)."""
    from chalicelib.domain.alerts import notification_for
    from chalicelib.notify.payloads import webpush_body
    from chalicelib.store import alerts as alert_store

    record = alert_store.get(world["alert_id"])
    assert record is not None
    return webpush_body(notification_for(record, language, base_url=world["base"])).decode("utf-8")


def _notifications(tab: Session) -> list[dict[str, str]]:
    return tab.page.evaluate("""async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .map(n => ({title: n.title, tag: n.tag, body: n.body, requireInteraction: n.requireInteraction}))""")


def _deliver(tab: Session, cdp: Any, registration: str, world: dict[str, Any], tag: str) -> list[dict[str, str]]:
    """Deliver the alert's push to the worker; the notifications once the worker has told the app it
    showed `tag` (showNotification settled). Never read while it is showing: Chromium's
    getNotifications() deletes from its store a notification written but not yet displayed, so
    polling it during a push loses that notification for good (docs/pitfalls.md)."""
    page = tab.page
    page.evaluate("""tag => { window.__shown = null;
        const heard = (event) => { const d = event.data || {};
          if (d.type === "shown" && d.tag === tag) { window.__shown = tag; navigator.serviceWorker.removeEventListener("message", heard); } };
        navigator.serviceWorker.addEventListener("message", heard); }""", tag)
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": world["base"], "registrationId": registration, "data": _push_body(world)})
    try:
        page.wait_for_function("tag => window.__shown === tag", arg=tag, timeout=20000)  # a bound for a loaded machine
    except Exception as exc:
        raise AssertionError(f"no notification {tag}: {_notifications(tab)} {WORKER_EVENTS} {tab.console_errors}") from exc
    return _notifications(tab)


def test_push_shows_a_notification_and_an_update_replaces_it_and_refreshes_the_inbox(tab: Session, world: dict[str, Any]) -> None:
    """A push is shown with the headline, tagged by the alert id; its Update replaces it, and the
    inbox on screen reloads when the worker says it showed it (no Refresh pressed)."""
    page = tab.page
    page.get_by_role("button", name="Inbox").click()
    page.wait_for_function("() => document.body.dataset.view === 'inbox'")
    cdp, registration = _worker_registration(tab, world)
    shown = _deliver(tab, cdp, registration, world, world["alert_id"])
    assert [(n["title"], n["tag"]) for n in shown] == [(f"Van thefts near the canal {RUN}", world["alert_id"])], WORKER_EVENTS
    client = LiveClient(world["base"])
    alerting.update_published(client, world["officer"], world["supervisor2"], world["alert_id"],
                              {"headline": f"Van thefts: arrest made {RUN}", "description": "One arrest; stay alert."})
    assert page.get_by_text(f"Van thefts: arrest made {RUN}").count() == 0  # the inbox on screen predates the Update
    shown = _deliver(tab, cdp, registration, world, world["alert_id"])
    assert [(n["title"], n["tag"]) for n in shown] == [(f"Van thefts: arrest made {RUN}", world["alert_id"])]
    assert shown[0]["body"].startswith("Updated: ")
    page.get_by_text(f"Van thefts: arrest made {RUN}").first.wait_for()  # the app reloaded the inbox
    assert tab.console_errors == []


def _conversation(world: dict[str, Any], conversation_id: str, token: str) -> dict[str, Any]:
    response = requests.get(f"{world['base']}/v1/conversations/{conversation_id}", headers=bearer(token), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_conversation_start_team_answer_and_reply(tab: Session, world: dict[str, Any]) -> None:
    page = tab.page
    staff_id = f"pc-{RUN}"
    page.get_by_role("button", name="Talk to the team").click()
    page.wait_for_function("() => document.body.dataset.view === 'conversations'")
    assert page.locator("#conv-unavailable").is_hidden() and page.locator("#conv-ready").is_visible()
    page.locator("#conv-area").select_option(world["area_id"])
    page.locator("#conv-topic").select_option("road_safety")
    page.get_by_label("Your message (up to 1000 characters)").fill("Cars speeding past the school every morning.")
    page.locator("#conv-start button[type=submit]").click()
    page.get_by_text("Your message was sent to the team.").wait_for()
    page.locator("#conv-messages li.from-resident", has_text="Cars speeding past the school").wait_for()  # opened
    conversation_id = page.evaluate("window.beatlineApp.conversation.id")
    started = _conversation(world, conversation_id, world["token"])
    assert (started["team"], started["area_id"], started["topic"], started["status"]) == (TEAM, world["area_id"], "road_safety", "waiting")
    assert [(m["from"], m["text"]) for m in started["messages"]] == [("resident", "Cars speeding past the school every morning.")]
    title = f"Canal ward {RUN}: Road safety"  # which conversation: the area and the topic, in words
    assert page.locator("#conv-open-title").inner_text() == title + " · waiting for the team"
    queue = requests.get(f"{world['base']}/v1/conversations", params={"status": "waiting"}, headers=bearer(world["officer"]), timeout=30)
    assert conversation_id in [c["id"] for c in queue.json()["items"]]  # the team's queue has it
    # the team answers through the API, as an officer
    answer = requests.post(f"{world['base']}/v1/conversations/{conversation_id}/messages", timeout=30,
                           headers=bearer(world["officer"]), json={"id": str(uuid.uuid4()), "text": "We will patrol at 8am."})
    assert answer.status_code == 201, answer.text
    officer = _conversation(world, conversation_id, world["token"])["messages"][1]["officer"]
    assert re.fullmatch(r"Officer [2-9A-HJ-NP-Z]{4}", officer), officer
    # the resident sees it in the inbox, by the officer's display pseudonym, and continues from there
    page.get_by_role("button", name="Inbox").click()
    card = page.locator(f'#inbox-list li[data-conversation="{conversation_id}"]')
    card.get_by_text("We will patrol at 8am.").wait_for()
    assert card.locator(".meta").inner_text().startswith(officer + " · ")
    assert card.locator(".context").inner_text() == title  # the answer says which conversation it is in
    card.get_by_role("button", name="Continue the conversation").click()
    team_message = page.locator("#conv-messages li.from-team", has_text="We will patrol at 8am.")
    team_message.wait_for()
    assert team_message.locator(".meta").inner_text().startswith(officer + " · ")
    assert page.locator("#conv-open-title").inner_text() == title + " · answered"
    # The conversation the alert reply opened is titled with the alert's headline, not "<area>: other".
    titles = page.locator("#conv-list li h3").all_inner_texts()
    assert f"Van thefts near the canal {RUN}" in titles and not [t for t in titles if t.endswith(": Other")], titles
    assert staff_id not in page.content()  # never the staff id
    assert page.locator(f'#conv-list li[data-conversation="{conversation_id}"] .meta').inner_text().startswith("answered · ")
    assert serious_violations(page) == []
    page.locator("#conv-reply").get_by_label("Reply", exact=True).fill("Thank you!")
    page.locator("#conv-reply button").click()
    page.locator("#conv-messages li.from-resident", has_text="Thank you!").wait_for()
    after = _conversation(world, conversation_id, world["officer"])
    assert [(m["from"], m["text"]) for m in after["messages"]] == [
        ("resident", "Cars speeding past the school every morning."), ("team", "We will patrol at 8am."), ("resident", "Thank you!")]
    assert after["status"] == "waiting" and staff_id not in json.dumps(after)
    assert page.locator("#conv-open-title").inner_text() == title + " · waiting for the team"
    status = page.locator(f'#conv-list li[data-conversation="{conversation_id}"] .meta').inner_text()
    assert status.startswith("waiting for the team · ")  # the list follows the reply
    assert serious_violations(page) == []
    assert tab.console_errors == []
    shot(tab, "conversation")
    # A long conversation: the latest 50 messages show; "Earlier messages" brings the rest.
    for n in range(50):
        assert requests.post(f"{world['base']}/v1/conversations/{conversation_id}/messages", timeout=30,
                             headers=bearer(world["officer"]), json={"id": str(uuid.uuid4()), "text": f"Update {n}"}).status_code == 201
    page.locator(f'#conv-list li[data-conversation="{conversation_id}"]').get_by_role("button").click()
    page.locator("#conv-messages li.from-team", has_text="Update 49").wait_for()
    assert page.locator("#conv-messages li").count() == 50
    assert page.locator("#conv-messages li", has_text="Cars speeding past the school").count() == 0
    page.get_by_role("button", name="Earlier messages").click()
    page.locator("#conv-messages li", has_text="Cars speeding past the school").wait_for()
    assert page.locator("#conv-messages li").count() == 53 and page.locator("#conv-earlier").is_hidden()
    assert page.locator("#conv-messages li").first.inner_text().endswith("Cars speeding past the school every morning.")
    assert tab.console_errors == []


def _staff_post(world: dict[str, Any], path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{world['base']}{path}", headers=bearer(token), json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def _in_utc(hours: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + hours * 3600))


def _guarantee_world(world: dict[str, Any], staff_token: Any) -> dict[str, str]:
    """The followed area's team page, a current priority with an action, a proposal, a meeting."""
    team = {"name": f"Canal team {RUN}", "description": "Your officers for the canal wards.",
            "contact_details": {"email": "canal@police.example", "telephone": "101"},
            "people": [{"name": "Sgt Rhian Evans", "rank": "sergeant", "bio": "Ten years on the canal beat."},
                       {"name": "Tom Price", "rank": "pcso"}]}
    put = requests.put(f"{world['base']}/v1/teams/{TEAM}", headers=bearer(staff_token("admin", team=None)), json=team, timeout=30)
    assert put.status_code in (200, 201), put.text
    area = f"/v1/areas/{world['area_id']}"
    current = _staff_post(world, area + "/priorities", world["supervisor"],
                          {"id": str(uuid.uuid4()), "issue": f"Bike theft at the station {RUN}", "topic": "theft", "status": "current"})
    _staff_post(world, f"/v1/priorities/{current['id']}/actions", world["officer"],
                {"id": str(uuid.uuid4()), "text": "Marked 40 bikes at the station.", "at": _in_utc(-2)})
    proposed = _staff_post(world, area + "/priorities", world["supervisor"],
                           {"id": str(uuid.uuid4()), "issue": f"Speeding on Mill Lane {RUN}", "topic": "road_safety"})
    meeting = _staff_post(world, area + "/events", world["officer"],
                          {"id": str(uuid.uuid4()), "title": f"Beat meeting {RUN}", "type": "meeting",
                           "address": "Community Hall, 3 Mill Lane", "start": _in_utc(48), "end": _in_utc(49)})
    return {"current": current["id"], "proposed": proposed["id"], "meeting": meeting["id"]}


def _escalate_a_wait_past_its_standard(page: Any, world: dict[str, Any]) -> None:
    """A waiting conversation whose respond_by has passed (moved back in the store: the live server's
    clock is real) offers "Escalate"; pressing it escalates it (the API shows escalated_at)."""
    from chalicelib.store.models.conversations import ConversationModel

    mine = requests.get(f"{world['base']}/v1/subscribers/me/conversations", headers=bearer(world["token"]), timeout=30).json()
    waiting = next(c["id"] for c in mine["items"] if c["status"] == "waiting")
    record = ConversationModel.get(waiting, consistent_read=True)
    record.update(actions=[ConversationModel.respond_by.set(_in_utc(-1))])
    page.get_by_role("button", name="Your neighbourhood").click()
    page.get_by_role("button", name="Talk to the team").click()
    page.wait_for_function("() => document.body.dataset.view === 'conversations'")
    card = page.locator(f'#conv-list li[data-conversation="{waiting}"]')
    card.get_by_role("button", name="Escalate: no answer in time").click()
    card.locator(".escalated").wait_for()
    assert card.locator(".escalated").inner_text().startswith("Escalated to the team's supervisors on ")
    assert requests.get(f"{world['base']}/v1/conversations/{waiting}", headers=bearer(world["token"]), timeout=30).json()["escalated_at"]


def test_your_neighbourhood_team_priorities_support_and_meetings(tab: Session, world: dict[str, Any], staff_token: Any) -> None:
    ids = _guarantee_world(world, staff_token)
    page = tab.page
    page.get_by_role("button", name="Your neighbourhood").click()
    page.wait_for_function("() => document.body.dataset.view === 'neighbourhood'")
    section = page.locator(f'section.hood[data-area="{world["area_id"]}"]')
    guidance = page.locator("#view-neighbourhood .guidance").inner_text()  # the team page says 999/101 too
    assert "999" in guidance and "101" in guidance and "not watched around the clock" in guidance
    assert section.get_by_role("heading", name=f"Canal ward {RUN}").is_visible()
    assert section.get_by_role("heading", name=f"Your team: Canal team {RUN}").is_visible()
    people = section.locator(".person").all_inner_texts()
    assert "Sgt Rhian Evans" in people[0] and "Sergeant" in people[0] and "Ten years on the canal beat." in people[0], people
    assert "Police Community Support Officer" in people[1]
    assert section.get_by_role("link", name="canal@police.example").get_attribute("href") == "mailto:canal@police.example"
    current = section.locator(f'li[data-priority="{ids["current"]}"]')
    assert f"Bike theft at the station {RUN}" in current.locator("h5").inner_text()
    assert "Marked 40 bikes at the station." in current.locator(".actions").inner_text()
    assert current.get_by_role("button").count() == 0  # a current priority takes no support
    proposed = section.locator(f'li[data-priority="{ids["proposed"]}"]')
    assert proposed.locator(".supporters").inner_text() == "0"
    proposed.get_by_role("button", name="Support").click()
    proposed.get_by_role("button", name="You support this").wait_for()
    assert proposed.locator(".supporters").inner_text() == "1"
    listed = requests.get(f"{world['base']}/v1/areas/{world['area_id']}/priorities", timeout=30).json()["items"]
    assert [p["supporters"] for p in listed if p["id"] == ids["proposed"]] == [1]
    meeting = section.locator(f'li[data-event="{ids["meeting"]}"]')
    assert "Community Hall, 3 Mill Lane" in meeting.inner_text()
    meeting.get_by_role("button", name="I'll come").click()
    meeting.get_by_role("button", name="You said you'll come").wait_for()
    assert meeting.locator(".attending").inner_text() == "1"
    events = requests.get(f"{world['base']}/v1/areas/{world['area_id']}/events", timeout=30).json()["items"]
    assert [e["attending"] for e in events if e["id"] == ids["meeting"]] == [1]
    assert serious_violations(page) == []
    shot(tab, "neighbourhood")
    # keyboard: the support button of a fresh render is reachable and pressed with Enter (count stays: once each)
    page.get_by_role("button", name="Your neighbourhood").click()
    page.wait_for_function("() => document.body.dataset.view === 'neighbourhood'")
    proposed.get_by_role("button", name="Support").focus()
    page.keyboard.press("Enter")
    proposed.get_by_role("button", name="You support this").wait_for()
    assert proposed.locator(".supporters").inner_text() == "1"
    # "you said, we did": an action on the supported proposal reaches the inbox with its context
    _staff_post(world, f"/v1/priorities/{ids['proposed']}/actions", world["officer"],
                {"id": str(uuid.uuid4()), "text": "Speed checks: 14 drivers stopped.", "at": _in_utc(-1)})
    page.get_by_role("button", name="Inbox").click()
    card = page.locator(f'#inbox-list li[data-priority="{ids["proposed"]}"]')
    card.get_by_text("Speed checks: 14 drivers stopped.").wait_for()
    assert card.locator("h3").inner_text() == "You said, we did"
    assert card.locator(".context").inner_text() == f"Speeding on Mill Lane {RUN}"
    # the conversation waiting for the team shows when the team aims to reply
    page.get_by_role("button", name="Talk to the team").click()
    page.wait_for_function("() => document.body.dataset.view === 'conversations'")
    assert page.locator("#conv-list .respond-by").first.inner_text().startswith("Your team aims to reply by ")
    _escalate_a_wait_past_its_standard(page, world)
    # Welsh
    page.get_by_role("button", name="Your neighbourhood").click()
    page.wait_for_function("() => document.body.dataset.view === 'neighbourhood'")
    page.locator("#ui-lang").select_option("cy")
    page.get_by_role("heading", name="Eich cymdogaeth", exact=True).wait_for()
    assert section.get_by_role("heading", name=f"Eich tîm: Canal team {RUN}").is_visible()
    assert "Rhingyll" in section.locator(".person").first.inner_text()
    assert meeting.get_by_role("button", name="Fe ddof i").is_visible()
    assert section.get_by_role("heading", name="Blaenoriaethau").is_visible()
    assert serious_violations(page) == []
    page.locator("#ui-lang").select_option("en")
    assert tab.console_errors == []


def test_a_meeting_reminder_shows_as_such_in_english_and_welsh(tab: Session, world: dict[str, Any]) -> None:
    """The day before the meeting the resident said they will come to, its reminder reaches the inbox
    as a meeting reminder (not an alert): title, the area, when and where; in Welsh too."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.services import services
    from chalicelib.usecases.meetings import remind_meetings

    events = requests.get(f"{world['base']}/v1/areas/{world['area_id']}/events", timeout=30).json()["items"]
    meeting = next(e for e in events if e["title"] == f"Beat meeting {RUN}")
    assert meeting["attending"] == 1  # the resident said "I'll come" (the neighbourhood test)
    start = datetime.fromisoformat(meeting["start"].replace("Z", "+00:00")).astimezone(UTC)
    assert remind_meetings(services(), start - timedelta(hours=23)) >= 1  # the live server's clock is real
    page = tab.page
    page.get_by_role("button", name="Inbox").click()
    card = page.locator(f'#inbox-list li[data-event="{meeting["id"]}"]')
    card.wait_for()
    assert card.locator("h3").inner_text() == "Meeting tomorrow"
    assert card.locator(".context").inner_text() == f"Beat meeting {RUN}"
    assert card.locator(".meta").inner_text().startswith(f"Canal ward {RUN} · ")
    assert "Community Hall, 3 Mill Lane" in card.inner_text()
    assert card.get_by_role("button").count() == 0 and card.locator("form").count() == 0  # not an alert: no reply
    assert serious_violations(page) == []
    page.locator("#ui-lang").select_option("cy")
    card.locator("h3", has_text="Cyfarfod yfory").wait_for()
    assert card.locator(".context").inner_text() == f"Beat meeting {RUN}"  # the team's own words, as written
    month = ["Ion", "Chwef", "Maw", "Ebr", "Mai", "Meh", "Gorff", "Awst", "Medi", "Hyd", "Tach", "Rhag"][start.month - 1]
    assert f" {month} " in card.locator(".meta").inner_text()
    page.locator("#ui-lang").select_option("en")
    card.locator("h3", has_text="Meeting tomorrow").wait_for()
    assert tab.console_errors == []


def test_one_tap_rating_of_an_answer_and_the_confidence_question(tab: Session, world: dict[str, Any], staff_token: Any) -> None:
    """Under the team's latest answer, once: did we answer (yes/partly/no) and a tap on 1..5 sends it;
    then only thanks. The confidence question in the inbox: one tap, then only thanks (in Welsh too)."""
    page = tab.page
    mine = requests.get(f"{world['base']}/v1/subscribers/me/conversations", headers=bearer(world["token"]), timeout=30)
    conversation_id = next(c["id"] for c in mine.json()["items"] if c["topic"] == "road_safety")
    page.get_by_role("button", name="Talk to the team").click()
    page.locator(f'#conv-list li[data-conversation="{conversation_id}"]').get_by_role("button").click()
    rating = page.locator("#conv-rating form.rating")
    rating.wait_for()
    page.wait_for_load_state("networkidle")  # the list and the conversation loaded: nothing re-renders the card
    rating.get_by_role("button", name="Partly").click()
    rating.get_by_role("button", name="Partly", pressed=True).wait_for()
    rating.get_by_role("button", name="4 of 5").click()
    page.locator("#conv-rating .rated", has_text="Thank you for rating our answer.").wait_for()
    [rated] = _conversation(world, conversation_id, world["token"])["ratings"]
    assert (rated["answered"], rated["satisfaction"]) == ("partly", 4)
    page.locator(f'#conv-list li[data-conversation="{conversation_id}"]').get_by_role("button").click()
    page.locator("#conv-rating .rated").wait_for()
    assert page.locator("#conv-rating form").count() == 0  # asked once, never again

    pulse = {"id": str(uuid.uuid4()), "question": "police_good_job", "areas": [world["area_id"]]}
    admin = staff_token("admin", team=None)
    assert _staff_post(world, "/v1/pulses", admin, pulse)["state"] in ("queued", "sending", "sent")
    deadline = time.monotonic() + 30  # the pulse worker delivers it off the request (a background thread locally)
    while (read := requests.get(f"{world['base']}/v1/pulses/{pulse['id']}", headers=bearer(admin), timeout=30).json())[
            "state"] != "sent" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert read["state"] == "sent" and read["sent"] >= 1
    page.get_by_role("button", name="Inbox").click()
    page.get_by_role("button", name="Refresh").click()
    card = page.locator(f'#inbox-list li[data-pulse="{pulse["id"]}"]')
    card.wait_for()
    assert "how good a job do you think the police in this area are doing?" in card.inner_text()
    assert serious_violations(page) == []
    card.get_by_role("button", name="Good", exact=True).click()
    card.get_by_text("Thank you: your answer is counted.").wait_for()
    assert card.get_by_role("button").count() == 0
    again = requests.post(f"{world['base']}/v1/pulses/{pulse['id']}/answers", headers=bearer(world["token"]),
                          json={"answer": "poor"}, timeout=30)
    assert again.status_code == 409  # once
    page.locator("#ui-lang").select_option("cy")
    card.get_by_text("Diolch: mae eich ateb wedi'i gyfrif.").wait_for()  # the inbox copy says answered
    page.locator("#ui-lang").select_option("en")
    card.get_by_text("Thank you: your answer is counted.").wait_for()
    assert tab.console_errors == []


def test_preferences_save_and_the_page_speaks_welsh(tab: Session, world: dict[str, Any]) -> None:
    page = tab.page
    page.get_by_role("button", name="Settings").click()
    page.wait_for_function("() => document.body.dataset.view === 'prefs'")
    page.get_by_label("Language of alerts and of this page").select_option("cy")
    page.get_by_label("Crime and security").check()
    page.get_by_label("Least severe alert to send me").select_option("Moderate")
    page.get_by_label("Hold notifications at night").check()
    page.locator("#quiet-start").fill("23:00")
    page.locator("#quiet-end").fill("06:30")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_function("() => document.getElementById('status').textContent")
    assert page.locator("#status").inner_text() == "Mae eich gosodiadau wedi'u cadw."
    record = me(world, world["token"]).json()
    assert (record["language"], record["categories"], record["min_severity"]) == ("cy", ["Security"], "Moderate")
    assert record["quiet_hours"]["start"] == "23:00" and record["quiet_hours"]["end"] == "06:30"
    assert page.evaluate("document.documentElement.lang") == "cy"
    assert page.get_by_role("button", name="Mewnflwch").is_visible()
    shot(tab, "settings-cy")
    assert serious_violations(page) == []
    # a new alert the preferences let through (Security, Moderate) arrives in Welsh (a translation exists)
    alerting.publish(LiveClient(world["base"]), world["officer"], world["supervisor"], {"area_id": world["area_id"]},
                     headline=f"Bike thefts {RUN}", severity="Moderate", category="Security",
                     translations={"cy": {"headline": f"Dwyn beiciau {RUN}", "description": "Clowch eich beiciau."}})
    page.get_by_role("button", name="Mewnflwch").click()
    page.get_by_text(f"Dwyn beiciau {RUN}").first.wait_for()
    assert serious_violations(page) == []
    # All of it in Welsh: the answer's context (topic in words), the officer, the dates' months.
    answer = page.locator("#inbox-list li[data-conversation]").first
    assert answer.locator(".context").inner_text() == f"Canal ward {RUN}: Diogelwch ffyrdd"
    meta = answer.locator(".meta").inner_text()
    assert meta.startswith("Swyddog ") and "Officer" not in page.locator("#inbox-list").inner_text(), meta
    month = ["Ion", "Chwef", "Maw", "Ebr", "Mai", "Meh", "Gorff", "Awst", "Medi", "Hyd", "Tach", "Rhag"][time.gmtime().tm_mon - 1]
    assert f" {month} " in meta and not re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", meta), meta
    # Items already received switch language with the page (each carries every language's text).
    page.locator("#ui-lang").select_option("en")
    page.get_by_text(f"Bike thefts {RUN}").first.wait_for()
    assert page.get_by_text(f"Dwyn beiciau {RUN}").count() == 0
    assert answer.locator(".context").inner_text() == f"Canal ward {RUN}: Road safety"
    page.locator("#ui-lang").select_option("cy")
    page.get_by_text(f"Dwyn beiciau {RUN}").first.wait_for()
    page.get_by_role("button", name="Siarad â'r tîm").click()  # the conversations' titles too
    page.locator("#conv-list h3", has_text=f"Canal ward {RUN}: Diogelwch ffyrdd").first.wait_for()
    assert page.locator("#conv-topic option[value=road_safety]").inner_text() == "Diogelwch ffyrdd"
    assert tab.console_errors == []
    page.locator("#ui-lang").select_option("en")


def test_email_added_pending_with_its_hint_then_removed_and_sms_not_offered(
        tab: Session, world: dict[str, Any], ses_local: Any) -> None:
    page = tab.page
    page.get_by_role("button", name="Settings").click()
    page.wait_for_function("() => document.body.dataset.view === 'prefs'")
    section = page.locator("#contact-channels")
    assert section.get_by_text("Email receives alerts, answers from your team and notices.").is_visible()
    assert section.get_by_text("Texts receive only alerts at or above the level your police force sets").is_visible()
    address = f"resident-{RUN}@example.org"
    page.get_by_label("Email address").fill(address)
    page.get_by_role("button", name="Add this address").click()
    page.get_by_text("Check your inbox to confirm").wait_for()
    assert page.locator("#chan-email-state").inner_text() == "r•••@example.org: waiting for confirmation"
    assert address not in page.locator("body").inner_text()  # the page shows the hint, never the address
    assert [c["status"] for c in me(world, world["token"]).json()["contacts"]] == ["pending"]
    assert ses_local.emails_to(address)  # the confirmation was sent
    assert serious_violations(page) == []
    page.get_by_role("button", name="Remove my email address").click()
    page.get_by_text("Removed: nothing more is sent there.").wait_for()
    assert page.locator("#chan-email-state").inner_text() == "None added."
    assert not me(world, world["token"]).json().get("contacts")
    # This stage sends no texts: the number is refused as not offered and the form gives way to a line.
    page.get_by_label("Mobile number").fill("+447700900123")
    page.get_by_role("button", name="Send me a code").click()
    page.locator("#chan-sms-off").wait_for()  # "Not offered by this service."
    assert page.locator("#chan-sms-form").is_hidden() and page.locator("#chan-email-form").is_visible()
    assert page.locator("#chan-sms-code-form").is_hidden()  # no number waits for a code
    assert [e for e in tab.console_errors if "status of 422" not in e] == []  # Chromium logs the expected 422
    tab.console_errors.clear()


def test_offline_the_shell_and_last_inbox_load_from_cache(tab: Session, world: dict[str, Any]) -> None:
    page = tab.page
    page.get_by_role("button", name="Inbox").click()
    page.get_by_text(f"Bike thefts {RUN}").first.wait_for()  # the page is in English again
    tab.context.set_offline(True)  # type: ignore[attr-defined]
    try:
        page.reload()
        page.get_by_text("Offline: showing the inbox as last loaded.").wait_for()
        assert page.get_by_text(f"Bike thefts {RUN}").first.is_visible()
    finally:
        tab.context.set_offline(False)  # type: ignore[attr-defined]
    tab.console_errors.clear()  # offline fetch failures of the openapi document are expected there
    page.reload()
    page.wait_for_function("() => document.body.dataset.ready === '1'")


def test_erasure_leaves_the_page_signed_out(tab: Session, world: dict[str, Any]) -> None:
    page = tab.page
    page.get_by_role("button", name="Settings").click()
    page.wait_for_function("() => document.body.dataset.view === 'prefs'")
    page.locator("#erase").click()
    page.get_by_role("dialog").get_by_role("button", name="Keep my data").click()
    assert token_in_idb(tab) == world["token"]  # kept: nothing erased without confirmation
    page.locator("#erase").click()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Erase everything").click()
    page.get_by_text("Your data has been erased.").wait_for()
    assert token_in_idb(tab) is None
    assert page.evaluate("caches.has('beatline-inbox')") is False
    assert page.get_by_role("button", name="Sign up").is_visible() and page.locator("#nav [data-in]:visible").count() == 0
    assert me(world, world["token"]).status_code == 401
    page.reload()
    page.get_by_role("heading", name="Alerts in force near a place").wait_for()


def test_nearby_without_signing_up(tab: Session, world: dict[str, Any]) -> None:
    page = tab.page
    page.locator("#lat").fill(str(world["lat"]))
    page.locator("#lon").fill(str(world["lon"]))
    page.get_by_role("button", name="Use this point").click()
    page.locator("#nearby-list").get_by_text(f"Van thefts: arrest made {RUN}").wait_for()
    page.locator("path.chosen-point").wait_for()
    shot(tab, "nearby")
    assert serious_violations(page) == []


def test_no_console_errors_and_nothing_leaves_the_origin(tab: Session, world: dict[str, Any]) -> None:
    assert tab.console_errors == []
    assert [u for u in tab.requests if not u.startswith(world["base"] + "/")] == []
    assert any("/v1/subscribers/me/inbox" in u for u in tab.requests)
