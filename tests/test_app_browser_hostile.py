"""The residents' app (/app/) against hostile data and a hostile network, in headless Chromium
against a live `chalice local` (tests/browser.py harness):

- areas whose names are markup (tags, event handlers, entities, a meta refresh) render as literal
  text on the map's tooltips, in the area choices and in the conversation form: nothing injected,
  no navigation, no script run. The API refuses such names now (tests/test_areas.py), so they are
  written straight to the store, as data stored before the rule would be;
- the offline shell cannot be replaced by navigating to another /app/... URL while online;
- a Web Push sign-up whose subscribe() never settles (no push service in headless Chromium) times
  out, says so in English and Welsh, re-enables the button and offers the inbox only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.server import LiveServer
from tests import alerting
from tests.browser import Session, launch_chromium

RUN = uuid.uuid4().hex[:8]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
HOSTILE_NAMES = [
    '<meta http-equiv=refresh content="0;url=/v1/health?x"><a href=//evil.example>Log in</a>',
    '<img src=x onerror="window.__pwned = 1">',
    '"><svg onload="window.__pwned = 2"></svg><b>bold</b>',
    "&lt;b&gt;entities&lt;/b&gt; &amp; &#60;i&#62; &quot;",
    '<a href="javascript:window.__pwned = 3">click</a><script>window.__pwned = 4</script>',
    "<iframe srcdoc=\"<script>parent.__pwned = 5</script>\"></iframe>",
    "<style>body { display: none }</style>Hidden?",
]
INJECTED = ('meta[http-equiv], img[src="x"], svg[onload], iframe, a[href^="javascript"], a[href*="evil"], '
            'script:not([src]):not([type="importmap"]), style, #main b')


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = LiveServer()
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def hostile_areas(server: LiveServer) -> dict[str, str]:
    """id -> name. Ids sort first, so the app's first page of areas has them whatever else the tables hold."""
    from chalicelib.domain.areas import AreaRecord
    from chalicelib.domain.shapes import Polygon
    from chalicelib.store import areas as area_store

    lat, lon = alerting.spot()
    made = {}
    for n, name in enumerate(HOSTILE_NAMES):
        area_id = f"00000000-0000-4000-8000-{RUN}{n:04d}"
        square = alerting.square(lat, lon + n * 0.05, 0.01)
        geometry = Polygon(coordinates=square["coordinates"])
        area_store.put(AreaRecord(id=area_id, name=name, team=f"hostile-{RUN}", geometry=geometry,
                                  updated_at="2026-12-01T00:00:00Z"))
        made[area_id] = name
    return made


@pytest.fixture()
def tab(server: LiveServer) -> Iterator[Session]:
    with launch_chromium() as chromium:
        context = chromium.new_context(**PHONE)
        context.grant_permissions(["notifications"], origin=server.url)
        session = Session(context.new_page(), server.url)
        session.context = context  # type: ignore[attr-defined]
        yield session
        context.close()


def _nothing_injected(tab: Session, start_url: str) -> None:
    page = tab.page
    assert page.url == start_url
    assert page.locator(INJECTED).count() == 0, page.locator(INJECTED).evaluate_all("els => els.map(e => e.outerHTML)")
    assert page.locator('script[type="importmap"]').count() == 1  # the server's own (CSP-hashed), no other
    assert page.evaluate("window.__pwned") is None


def test_hostile_area_names_show_as_literal_text_on_the_map_and_in_every_list(
        tab: Session, server: LiveServer, hostile_areas: dict[str, str]) -> None:
    page = tab.page
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.goto(f"{server.url}/app/")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    start_url = page.url
    page.wait_for_function("ids => ids.every(id => window.beatlineApp.areaLayers.has(id))", arg=list(hostile_areas))
    navigations.clear()
    for area_id, name in hostile_areas.items():
        path = page.locator(f"path.area-{area_id}")
        page.evaluate("id => window.beatlineApp.map.fitBounds(window.beatlineApp.areaLayers.get(id).getBounds())", area_id)
        path.dispatch_event("mouseover")
        tooltip = page.locator(".leaflet-tooltip").last
        tooltip.wait_for()
        assert tooltip.text_content() == name
        path.dispatch_event("mouseout")
    page.wait_for_timeout(500)  # a meta refresh of 0 s would have gone by now
    assert navigations == []
    _nothing_injected(tab, start_url)
    # signed in: the area choices and the conversation form name them as text too
    page.get_by_role("button", name="Sign up").click()
    page.locator("#signup-submit").click()
    page.get_by_role("heading", name="The areas you follow").wait_for()
    page.wait_for_function("() => document.body.dataset.view === 'areas'")
    for area_id, name in hostile_areas.items():
        assert page.locator(f'label[for="area-{area_id}"]').text_content() == name
        assert page.locator(f'#conv-area option[value="{area_id}"]').text_content() == name
    assert navigations == []
    _nothing_injected(tab, start_url)
    assert tab.console_errors == []


def test_the_tile_attribution_setting_is_shown_as_text() -> None:
    """Leaflet's attribution control sets innerHTML; the app adds its own text control instead."""
    from chalicelib.web.assets import PAGES_DIR

    source = (PAGES_DIR.parent / "src" / "app.js").read_text(encoding="utf-8")
    assert "attributionControl: false" in source and 'text: TILE_ATTRIBUTION' in source


def _shell_cache_paths(tab: Session) -> list[str]:
    return tab.page.evaluate("""async () => {
        const names = (await caches.keys()).filter(n => n.startsWith('beatline-shell-'));
        const urls = [];
        for (const n of names) for (const r of await (await caches.open(n)).keys()) urls.push(new URL(r.url).pathname);
        return urls.sort();
    }""")


@pytest.mark.parametrize("other", ["/app/manifest.webmanifest", "/app/sw.js", "/app/manifest.webmanifest?x=1",
                                   "/app/nothing-here", "/app/assets/../manifest.webmanifest"])
def test_navigating_to_another_app_url_online_never_replaces_the_offline_shell(
        tab: Session, server: LiveServer, other: str) -> None:
    page = tab.page
    page.goto(f"{server.url}/app/")
    page.wait_for_function("async () => !!(await navigator.serviceWorker.ready).active")
    page.reload()
    page.wait_for_function("() => document.body.dataset.ready === '1' && !!navigator.serviceWorker.controller")
    shell = _shell_cache_paths(tab)
    assert "/app/" in shell and all(p == "/app/" or p.startswith("/assets/") for p in shell), shell
    page.goto(f"{server.url}{other}")  # online, inside the worker's scope
    assert _shell_cache_paths(tab) == shell  # nothing added, nothing replaced
    tab.context.set_offline(True)  # type: ignore[attr-defined]
    try:
        for path in ("/app/", other):  # offline, every navigation in the scope gets the shell
            page.goto(f"{server.url}{path}")
            page.get_by_role("heading", name="Alerts in force near a place").wait_for()
            assert page.evaluate("document.contentType") == "text/html"
    finally:
        tab.context.set_offline(False)  # type: ignore[attr-defined]


def _push_sign_up_times_out(tab: Session, said: str) -> None:
    page = tab.page
    page.evaluate("() => { window.beatlineApp.pushTimeoutMs = 1500; }")  # the constant is 8 s
    page.locator("#ch-webpush").check()
    page.locator("#signup-submit").click()
    assert page.locator("#signup-submit").is_disabled()  # no second sign-up while one is pending
    page.wait_for_function("() => document.getElementById('signup-submit').disabled === false")
    assert said in page.locator("#status").inner_text()
    assert page.locator("#status").evaluate("e => e.classList.contains('error')")
    assert page.locator("#ch-inbox").is_checked()  # inbox only is offered


def test_a_push_sign_up_that_never_settles_times_out_says_so_and_offers_the_inbox(tab: Session, server: LiveServer) -> None:
    """A push service that never answers leaves subscribe() pending for ever. In Playwright's
    (incognito) contexts this Chromium rejects at once instead (AbortError "Registration failed -
    permission denied"; Chrome has no Push API in incognito: next test), so the page's PushManager
    is given a subscribe() that never settles, before any script runs."""
    page = tab.page
    tab.context.add_init_script("PushManager.prototype.subscribe = function () { return new Promise(() => {}); };")  # type: ignore[attr-defined]
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/v1/subscribers") else None)
    page.goto(f"{server.url}/app/")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.get_by_role("button", name="Sign up").click()
    _push_sign_up_times_out(tab, "push service did not answer")
    assert posts == [] and page.evaluate("() => idbKeyval.get('beatline.resident-token')") is None  # not signed up
    page.locator("#ui-lang").select_option("cy")
    _push_sign_up_times_out(tab, "ni atebodd gwasanaeth gwthio")
    assert posts == []
    page.locator("#signup-submit").click()  # inbox only, as offered
    page.wait_for_function("() => document.body.dataset.view === 'areas'")
    assert len(posts) == 1 and page.evaluate("() => idbKeyval.get('beatline.resident-token')")
    assert page.locator("#status").inner_text() == "Rydych wedi cofrestru. Nawr dewiswch yr ardaloedd yr hoffech rybuddion amdanynt."
    assert tab.console_errors == []


def test_a_push_sign_up_the_browser_refuses_signs_up_for_the_inbox_and_says_so(tab: Session, server: LiveServer) -> None:
    page = tab.page
    page.goto(f"{server.url}/app/")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.get_by_role("button", name="Sign up").click()
    page.locator("#ch-webpush").check()
    page.locator("#signup-submit").click()
    page.wait_for_function("() => document.body.dataset.view === 'areas'")
    assert page.locator("#status").inner_text() == "Notifications are not allowed on this device: signed up for the inbox only."
    token = page.evaluate("() => idbKeyval.get('beatline.resident-token')")
    import requests

    me = requests.get(f"{server.url}/v1/subscribers/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.json()["channel"] == {"type": "inbox"}
    assert [e for e in tab.console_errors if "does not support the Push API in incognito" not in e] == []


def test_hostile_names_fixture_writes_what_the_api_refuses(server: LiveServer, hostile_areas: dict[str, Any]) -> None:
    import requests

    for area_id, name in hostile_areas.items():
        assert requests.get(f"{server.url}/v1/areas/{area_id}", timeout=30).json()["name"] == name
