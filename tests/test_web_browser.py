"""The dashboard and the docs page in real headless Chromium (Playwright driving the distribution's
Chromium), against a live `chalice local` whose staff issuer is the local OIDC provider.

Seeded through the API: contacts of two fresh teams (street/online, inbound/outbound, officers and
a supervisor), one published alert, and three conversations in a named area of a third team (a
resident starts them, an officer answers two, a supervisor closes one; a third team, since each
message is also a contact). Every figure is compared
with the API's own answer for the same query; the fresh team's figures are also compared with the
seeded counts.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from chalicelib.domain.disclosure import wilson
from infra.local.idp import STAFF_PRIVATE, issue_token
from infra.local.oidc_provider import LocalOIDCProvider
from infra.local.server import LiveServer
from tests import alerting
from tests.browser import SCREENSHOTS, LiveClient, Session, launch_chromium, serious_violations
from tests.conftest import STAFF_AUDIENCE, settle_streams

PURPOSE = "browser test: weekly engagement review"
RUN = uuid.uuid4().hex[:8]
TEAM = f"web-{RUN}"
OTHER_TEAM = f"web2-{RUN}"
CONV_TEAM = f"web3-{RUN}"  # its own team: every conversation message is also a contact in the log


def _contact(kind: str, hours_ago: float, **extra: Any) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "kind": kind, "occurred_at": at, "topic": "burglary",
                            "outcome": "advice_given"}
    if kind == "street":
        body.update(location={"lat": 51.5, "lon": -0.12}, setting="patrol")
    else:
        body.update(platform="facebook", direction="inbound")
    body.update(extra)
    return body


# (author, role, team, contact): 3 street + 4 online (3 inbound, 1 outbound) for TEAM, all today or
# yesterday (so the day grain shows two periods), 2 street for OTHER_TEAM.
SEED = [
    ("pc-a", "officer", TEAM, _contact("street", 1)),
    ("pc-a", "officer", TEAM, _contact("online", 1.5)),
    ("pc-b", "officer", TEAM, _contact("street", 2, topic="fraud_scams")),
    ("pc-b", "officer", TEAM, _contact("online", 2.5, direction="outbound")),
    ("sgt-a", "supervisor", TEAM, _contact("online", 3)),
    ("pc-c", "officer", TEAM, _contact("street", 26)),
    ("pc-c", "officer", TEAM, _contact("online", 26.5, topic="fraud_scams")),
    ("pc-d", "officer", OTHER_TEAM, _contact("street", 1)),
    ("pc-d", "officer", OTHER_TEAM, _contact("street", 2)),
]
# Ranks of the seeded staff (the `rank` claim), and TEAM's strength (PUT /v1/teams/{team}/strength)
# from 120 days ago: the headline's shares of strength engaging.
RANKS = {"pc-a": "constable", "pc-b": "constable", "sgt-a": "sergeant", "pc-c": "pcso", "pc-d": "constable"}
STRENGTH = {"constable": 4, "sergeant": 1, "pcso": 2}


@pytest.fixture(scope="module")
def stack(keys_dir: Path) -> Iterator[dict[str, Any]]:
    from infra.local.dynamodb_local import free_port

    oidc_port = free_port()
    server = LiveServer(env={"BEATLINE_STAFF_ISSUER": f"http://127.0.0.1:{oidc_port}",
                             "BEATLINE_DASHBOARD_SCOPE": "openid beatline"})
    oidc = LocalOIDCProvider(port=oidc_port, keys_dir=keys_dir, audience=STAFF_AUDIENCE,
                             redirect_uris=[f"{server.url}/dashboard/"], force="test-force").start()
    try:
        server.start()
        yield {"base": server.url, "issuer": oidc.issuer, "server": server, "oidc": oidc}
    finally:
        server.stop()
        oidc.stop()


@pytest.fixture(scope="module")
def token(stack: dict[str, Any], keys_dir: Path) -> Any:
    pem = (keys_dir / STAFF_PRIVATE).read_bytes()

    def make(role: str, sub: str, team: str = TEAM, rank: str | None = None) -> str:
        return issue_token(private_pem=pem, issuer=stack["issuer"], audience=STAFF_AUDIENCE, sub=sub,
                           roles=[role], team=team, force="test-force", rank=rank)

    return make


@pytest.fixture(scope="module")
def seeded(stack: dict[str, Any], token: Any) -> dict[str, Any]:
    base = stack["base"]
    strength = {"from": (datetime.now(UTC) - timedelta(days=120)).date().isoformat(), "by_rank": STRENGTH}
    response = requests.put(f"{base}/v1/teams/{TEAM}/strength", json=strength, timeout=60,
                            headers={"Authorization": f"Bearer {token('admin', 'adm-web')}"})
    assert response.status_code in (200, 201), response.text
    for author, role, team, body in SEED:
        response = requests.post(f"{base}/v1/contacts", json=body, timeout=60,
                                 headers={"Authorization": f"Bearer {token(role, author, team, RANKS[author])}"})
        assert response.status_code == 201, response.text
    client = LiveClient(base)
    lat, lon = alerting.spot()
    area = alerting.circle(lat, lon, 400)
    for _ in range(2):
        alerting.resident(client, [alerting.circle(lat, lon, 300)])
    alert_id = alerting.publish(client, token("officer", "pc-a"), token("supervisor", "sgt-a"), area,
                                headline=f"=Doorstep scams {RUN}")  # a formula-looking headline: CSV must neutralise it
    seeded = {"alert_id": alert_id, "conversations": seed_conversations(base, token, client)}
    assert settle_streams() >= len(SEED)  # the contacts stream applied, as Lambda would shortly after
    return seeded


# The conversations seeded for CONV_TEAM, all now: 3 opened, 2 answered within seconds (first response in
# bucket 0 = [0, 1) minute: median 0.5 and p90 0.9 by the documented interpolation), 1 closed, no
# wait of 24 hours (a live server has no clock to move).
CONVERSATIONS = {"opened": 3, "answered": 2, "closed": 1, "waiting_over_24h": 0,
                 "first_response_minutes": {"median": 0.5, "p90": 0.9}}


def _post(base: str, path: str, bearer_token: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
    response = requests.post(f"{base}{path}", json=body, timeout=60, headers={"Authorization": f"Bearer {bearer_token}"})
    assert response.status_code == expected, (path, response.text)
    return response.json()


def seed_conversations(base: str, token: Any, client: LiveClient) -> list[str]:
    """A resident starts three conversations in CONV_TEAM's named area; pc-e answers two, sgt-e closes one."""
    lat, lon = alerting.spot()
    area_id = str(uuid.uuid4())
    response = requests.put(f"{base}/v1/areas/{area_id}", timeout=60, headers={"Authorization": f"Bearer {token('admin', 'adm-web')}"},
                            json={"name": f"Web ward {RUN}", "team": CONV_TEAM, "geometry": alerting.square(lat, lon, 0.01)})
    assert response.status_code in (200, 201), response.text
    _, resident = alerting.register(client)
    ids = []
    for text in ("Speeding outside the school.", "Graffiti on the bridge.", "Bins set on fire."):
        body = {"id": str(uuid.uuid4()), "topic": "antisocial_behaviour", "text": text, "area_id": area_id}
        ids.append(_post(base, "/v1/conversations", resident, body, 201)["id"])
    for conversation_id in ids[:2]:
        _post(base, f"/v1/conversations/{conversation_id}/messages", token("officer", "pc-e", CONV_TEAM),
              {"id": str(uuid.uuid4()), "text": "Thank you: we will look at it this week."}, 201)
    _post(base, f"/v1/conversations/{ids[0]}/close", token("supervisor", "sgt-e", CONV_TEAM), {"outcome": "advice_given"}, 200)
    return ids


def api(stack: dict[str, Any], token: Any, path: str, **params: str) -> Any:
    response = requests.get(f"{stack['base']}{path}", params={**params, "purpose": PURPOSE}, timeout=60,
                            headers={"Authorization": f"Bearer {token('analyst', 'an-check')}"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


def sign_in(page: Any, base: str, role: str, sub: str, team: str) -> None:
    page.goto(f"{base}/dashboard/")
    page.get_by_role("button", name="Sign in with your force account").click()
    page.wait_for_url("**/interaction/**")
    page.get_by_label("Subject").fill(sub)
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Team").fill(team)
    page.get_by_role("button", name="Sign in").click()
    try:
        page.wait_for_url(re.compile("^" + re.escape(f"{base}/dashboard/")))
    except Exception as exc:
        raise AssertionError(f"sign-in did not come back: at {page.url}: {page.content()[:1500]}") from exc


@pytest.fixture(scope="module")
def session(browser: Any, stack: dict[str, Any], seeded: dict[str, Any]) -> Iterator[Session]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Session(page, stack["base"])
    sign_in(page, stack["base"], "analyst", "an-web", TEAM)
    page.get_by_label("Purpose of this session (3 to 200 characters)").fill(PURPOSE)
    page.get_by_role("button", name="Continue").click()
    tab.wait_loaded()
    yield tab
    context.close()


def expected_kind_series(stats: dict[str, Any], labels: list[str]) -> dict[str, list[int]]:
    table: dict[tuple[str, str], int] = {}
    for bucket in stats["buckets"]:
        table[(bucket["period"], bucket["key"])] = table.get((bucket["period"], bucket["key"]), 0) + bucket["contacts"]
    return {kind: [table.get((p, kind), 0) for p in labels] for kind in ("street", "online")}


def filters(session: Session) -> dict[str, str]:
    return session.page.evaluate(
        "() => ({from: from_.value, to: to.value, grain: grain.value, team: team.value})".replace("from_", "document.getElementById('from')"))


def test_sign_in_gives_the_same_token_as_make_token(session: Session, stack: dict[str, Any], keys_dir: Path) -> None:
    stored = session.page.evaluate(
        "() => Object.keys(sessionStorage).filter(k => k.startsWith('oidc.user:')).map(k => JSON.parse(sessionStorage[k]))")
    assert len(stored) == 1
    access = stored[0]["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    header = jwt.get_unverified_header(access)
    published = json.loads((keys_dir / "staff-jwks.json").read_text())["keys"][0]
    assert header["kid"] == published["kid"] and header["alg"] == "ES256"
    assert claims["iss"] == stack["issuer"] and claims["aud"] == STAFF_AUDIENCE
    assert (claims["sub"], claims["roles"], claims["team"], claims["force"]) == ("an-web", ["analyst"], TEAM, "test-force")
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert session.page.evaluate("Object.keys(localStorage).length") == 0  # never in localStorage
    # An RFC 9068 access token (issue 17, item 8); the ID token the page also holds is refused.
    assert header["typ"] == "at+jwt" and claims["client_id"] == "beatline-dashboard"
    id_token = stored[0]["id_token"]
    assert jwt.get_unverified_header(id_token).get("typ") != "at+jwt"
    for bearer_token, status in ((access, 200), (id_token, 401)):
        answer = requests.get(f"{stack['base']}/v1/history/stats", timeout=60,
                              params={"from": "2026-01-01", "to": "2026-01-02", "by": "kind", "purpose": PURPOSE},
                              headers={"Authorization": f"Bearer {bearer_token}"})
        assert answer.status_code == status, answer.text


def test_default_view_draws_the_api_numbers(session: Session, stack: dict[str, Any], token: Any) -> None:
    chosen = filters(session)
    assert chosen["grain"] == "week" and chosen["team"] == ""
    stats = api(stack, token, "/v1/history/stats", **{"from": chosen["from"], "to": chosen["to"]},
                group_by="week", by="kind")
    chart = session.chart("contacts")
    expected = expected_kind_series(stats, chart["labels"])
    assert {s["label"]: s["values"] for s in chart["series"]} == expected
    assert sum(expected["street"]) >= 5 and sum(expected["online"]) >= 4  # the seeded contacts at least
    rows = session.table("contacts")[1:]
    assert [[int(c) for c in r[1:3]] for r in rows] == [list(v) for v in zip(expected["street"], expected["online"], strict=True)]
    every = session.data_requests("/v1/history/stats")
    assert every and all(q["purpose"] == [PURPOSE] for q in every)
    # The figures say how fresh they are: the newest change the counters include.
    assert stats["as_of"] and "Contact and conversation figures include changes up to " + stats["as_of"][:10] in session.page.locator(
        "#app-status").inner_text()


def test_team_and_grain_filters_change_the_request_and_the_numbers(session: Session, stack: dict[str, Any], token: Any) -> None:
    page = session.page
    before = session.loaded_mark()
    page.locator("#grain").select_option("day")
    page.locator("#team").select_option(TEAM)
    seen = len(session.requests)
    page.get_by_role("button", name="Show").click()
    session.wait_loaded(before)
    new = [parse_qs(urlsplit(u).query) for u in session.requests[seen:] if urlsplit(u).path == "/v1/history/stats"]
    assert {"day"} == {q["group_by"][0] for q in new} and {TEAM} == {q["team"][0] for q in new}
    today = datetime.now(UTC).date()
    street = {p: v for p, v in zip(session.chart("contacts")["labels"], session.chart("contacts")["series"][0]["values"], strict=True) if v}
    online = {p: v for p, v in zip(session.chart("contacts")["labels"], session.chart("contacts")["series"][1]["values"], strict=True) if v}
    # seeded: street 2 / online 3 within the last 3 hours, street 1 / online 1 about 26 hours ago
    assert sum(street.values()) == 3 and sum(online.values()) == 4
    assert max(street) <= today.isoformat() and max(online) <= today.isoformat()
    direction = {s["label"]: sum(s["values"]) for s in session.chart("direction")["series"]}
    assert direction == {"inbound (listening)": 3, "outbound (talking)": 1}
    share = session.chart("online-share")
    assert [s["label"] for s in share["series"]] == [TEAM]
    topics = {s["label"]: sum(s["values"]) for s in session.chart("topics")["series"]}
    assert topics == {"Burglary": 5, "Fraud and scams": 2}  # topic names, not keys
    chosen = filters(session)
    stats = api(stack, token, "/v1/history/stats", **{"from": chosen["from"], "to": chosen["to"]},
                group_by="day", by="kind", team=TEAM)
    assert {s["label"]: s["values"] for s in session.chart("contacts")["series"]} == expected_kind_series(stats, session.chart("contacts")["labels"])


def test_breadth_conversations_and_alerts(session: Session, stack: dict[str, Any], token: Any, seeded: dict[str, Any]) -> None:
    breadth = session.chart("breadth")
    chosen = filters(session)
    answer = api(stack, token, "/v1/history/engagement", **{"from": chosen["from"], "to": chosen["to"]},
                 group_by=chosen["grain"], team=TEAM)
    labels = breadth["labels"]
    for series, key in zip(breadth["series"], ("any", "street", "online", "online_outbound"), strict=True):
        per_period = {p: 0 for p in labels}
        for bucket in answer["buckets"]:
            per_period[bucket["period"]] += bucket["staff"][key]
        assert series["values"] == [per_period[p] for p in labels], key
    totals = {s["label"]: sum(s["values"]) for s in breadth["series"]}
    assert totals["online outbound"] == 1  # only pc-b talked online
    supervisor_rows = [r for r in session.table("breadth")[1:] if r[2] == "supervisor"]
    assert sum(int(r[3]) for r in supervisor_rows) == 1  # sgt-a, one contact
    chosen = filters(session)
    alerts = api(stack, token, "/v1/history/alerts", **{"from": chosen["from"] + "T00:00:00Z",
                 "to": chosen["to"] + "T23:59:59Z"}, limit="200")
    mine = [a for a in alerts["items"] if a["team"] == TEAM]
    assert [a["id"] for a in mine] == [seeded["alert_id"]] and mine[0]["targeted"] == 2
    rows = session.table("alerts")[1:]
    assert [[r[1], int(r[3]), int(r[4]), int(r[5]), int(r[7])] for r in rows] == [
        [a["headline"], a["targeted"], a["sent"], a["read"], a["responses"]] for a in mine]
    assert session.chart("alerts")["series"][0]["values"] == [a["targeted"] for a in mine]


def test_csv_download_is_exactly_the_table(session: Session) -> None:
    for figure in ("contacts", "alerts"):
        with session.page.expect_download() as download_info:
            session.page.locator(f"#fig-{figure} button.csv").click()
        text = Path(download_info.value.path()).read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text)))
        table = session.table(figure)
        if figure == "alerts":  # a cell a spreadsheet would evaluate is neutralised in the file only
            assert rows[1][1] == "'" + table[1][1] and table[1][1].startswith("=")
            rows[1][1] = table[1][1]
        assert rows == table


def test_conversations_figure_draws_the_api_numbers_and_the_seeded_ones(session: Session, stack: dict[str, Any], token: Any) -> None:
    page = session.page
    before = session.loaded_mark()
    page.locator("#team").select_option(CONV_TEAM)
    page.get_by_role("button", name="Show").click()
    session.wait_loaded(before)
    chosen = filters(session)
    assert chosen["team"] == CONV_TEAM and chosen["grain"] == "day"  # the grain as the filter test left it
    asked = session.data_requests("/v1/history/conversations")[-1]
    assert asked["team"] == [CONV_TEAM] and asked["group_by"] == ["day"] and asked["purpose"] == [PURPOSE]
    answer = api(stack, token, "/v1/history/conversations", **{"from": chosen["from"], "to": chosen["to"]},
                 group_by="day", team=CONV_TEAM)
    today = datetime.now(UTC).date().isoformat()
    assert [(b["period"], b["team"]) for b in answer["buckets"]] == [(today, CONV_TEAM)]
    assert {k: answer["buckets"][0][k] for k in CONVERSATIONS} == CONVERSATIONS
    chart = session.chart("conversations")
    expected = {label: [sum(b[key] for b in answer["buckets"] if b["period"] == p) for p in chart["labels"]]
                for key, label in (("opened", "opened"), ("answered", "answered"), ("closed", "closed"),
                                   ("waiting_over_24h", "waiting over 24 h"))}
    assert {s["label"]: s["values"] for s in chart["series"]} == expected
    assert chart["labels"][-1] == today and chart["series"][0]["values"][-1] == 3
    rows = session.table("conversations")
    assert rows[0] == ["period", "team", "opened", "answered", "closed", "first response median (min)",
                       "first response p90 (min)", "waiting over 24 h"]
    assert rows[1:] == [[b["period"], b["team"], str(b["opened"]), str(b["answered"]), str(b["closed"]),
                         str(b["first_response_minutes"]["median"]), str(b["first_response_minutes"]["p90"]),
                         str(b["waiting_over_24h"])] for b in answer["buckets"]]
    assert rows[1] == [today, CONV_TEAM, "3", "2", "1", "0.5", "0.9", "0"]
    assert session.page.locator("#fig-conversations .figure-status").inner_text() == ""
    with page.expect_download() as download_info:
        page.locator("#fig-conversations button.csv").click()
    assert list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8")))) == rows
    # all teams (what the screenshot shows): no `team` parameter, the chart sums every team's buckets
    before = session.loaded_mark()
    page.locator("#team").select_option("")
    page.get_by_role("button", name="Show").click()
    session.wait_loaded(before)
    assert "team" not in session.data_requests("/v1/history/conversations")[-1]
    everyone = api(stack, token, "/v1/history/conversations", **{"from": chosen["from"], "to": chosen["to"]}, group_by="day")
    assert (today, CONV_TEAM) in [(b["period"], b["team"]) for b in everyone["buckets"]]
    opened = next(s["values"] for s in session.chart("conversations")["series"] if s["label"] == "opened")
    assert opened[-1] == sum(b["opened"] for b in everyone["buckets"] if b["period"] == today) >= 3


GUARANTEE_HEAD = ["team", "answered waits", "within standard", "within standard %", "passed standard", "past standard now",
                  "escalated", "priorities overdue for review", "meetings held", "attended"]


def expected_guarantee(stack: dict[str, Any], token: Any, chosen: dict[str, str], team: str) -> list[str]:
    """The Guarantee row of `team` from the API alone: history buckets summed, its areas' priorities and meetings."""
    answer = api(stack, token, "/v1/history/conversations", **{"from": chosen["from"], "to": chosen["to"]},
                 group_by=chosen["grain"], team=team)
    sums = {k: sum(b[k] for b in answer["buckets"])
            for k in ("answered_waits", "within_standard", "past_standard", "past_standard_now", "escalated")}
    areas = [a for a in requests.get(f"{stack['base']}/v1/areas", params={"limit": "100"}, timeout=60).json()["items"]
             if a["team"] == team]
    overdue = meetings = attended = 0
    for area in areas:
        priorities = requests.get(f"{stack['base']}/v1/areas/{area['id']}/priorities", timeout=60).json()["items"]
        overdue += sum(1 for p in priorities if p["review_overdue"])
        for event in requests.get(f"{stack['base']}/v1/areas/{area['id']}/events", timeout=60).json()["items"]:
            if event["attended"] is not None and chosen["from"] <= event["start"][:10] <= chosen["to"]:
                meetings, attended = meetings + 1, attended + event["attended"]
    answered = sums["answered_waits"]
    share_text = f"{round(1000 * sums['within_standard'] / answered) / 10:g}" if answered else ""
    return [team, *(str(sums[k]) for k in ("answered_waits", "within_standard")), share_text,
            *(str(sums[k]) for k in ("past_standard", "past_standard_now", "escalated")), str(overdue), str(meetings), str(attended)]


def test_guarantee_panel_shows_the_api_numbers(session: Session, stack: dict[str, Any], token: Any) -> None:
    page = session.page
    before = session.loaded_mark()
    page.locator("#team").select_option(CONV_TEAM)
    page.get_by_role("button", name="Show").click()
    session.wait_loaded(before)
    chosen = filters(session)
    rows = session.table("guarantee")
    assert rows[0] == GUARANTEE_HEAD
    expected = expected_guarantee(stack, token, chosen, CONV_TEAM)
    assert rows[1:] == [expected]
    # seeded: two waits answered within seconds (within the 72 h standard), none past it, no escalation
    assert expected[1:7] == ["2", "2", "100", "0", "0", "0"]
    cells = page.locator("#fig-guarantee tbody td")
    assert cells.count() == len(GUARANTEE_HEAD) - 1
    assert page.evaluate("getComputedStyle(document.querySelector('#fig-guarantee tbody td')).textAlign") in ("right", "end")


# --- the headline numbers, the print view and the whole report (issue 21) ----------------------------

def show(session: Session, team: str, grain: str, day_from: str, day_to: str) -> None:
    page = session.page
    before = session.loaded_mark()
    page.locator("#from").fill(day_from)
    page.locator("#to").fill(day_to)
    page.locator("#grain").select_option(grain)
    page.locator("#team").select_option(team)
    page.get_by_role("button", name="Show").click()
    session.wait_loaded(before)


def headline(session: Session) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in session.page.evaluate("window.beatlineHeadline.rows")}


def iso_periods(day_from: date, day_to: date) -> list[str]:
    out: list[str] = []
    day = day_from
    while day <= day_to:
        year, week, _ = day.isocalendar()
        label = f"{year}-W{week:02d}"
        if not out or out[-1] != label:
            out.append(label)
        day += timedelta(days=1)
    return out


def strength_shares(buckets: list[dict[str, Any]], periods: list[str]) -> dict[str, float | None]:
    """The headline's staff-period shares from the API's engagement buckets (docs/web.md): periods
    without a bucket count none engaged, with the strength of the team's nearest bucket."""
    keys = ("any", "street", "online", "online_outbound")
    filled = list(buckets)
    for team in {b["team"] for b in buckets if b.get("strength")}:
        own = sorted((b for b in buckets if b["team"] == team and b.get("strength")), key=lambda b: b["period"])
        seen = {b["period"] for b in buckets if b["team"] == team}
        for period in (p for p in periods if p not in seen):
            near = next((b for b in reversed(own) if b["period"] < period), own[0])
            filled.append({"period": period, "team": team, "strength": near["strength"], "by_rank": {}})
    totals = dict.fromkeys(keys, 0)
    strength = 0
    for bucket in filled:
        for rank, people in (bucket.get("strength") or {}).items():
            if people:
                strength += people
                for key in keys:
                    totals[key] += (bucket.get("by_rank") or {}).get(rank, {}).get(key, 0)
    return {key: (totals[key] / strength if strength else None) for key in keys}


def month_name(period: str) -> str:
    return date.fromisoformat(period + "-01").strftime("%B %Y")


@pytest.fixture(scope="module")
def trust_counts(seeded: dict[str, Any]) -> tuple[str, str]:
    """CONV_TEAM's residents' trust counted in the latest complete month and the one before, written
    as the counters hold them (a live server's clock cannot be moved back to rate then): latest, 12
    ratings (satisfaction 8 of 12 at 4 or 5) and 10 pulse answers (6 good); before, 10 ratings (4 of
    10) and 6 pulse answers (withheld)."""
    from chalicelib.domain import trust as rules
    from chalicelib.store.models import StatCounterModel

    latest = rules.published_through(datetime.now(UTC))
    before = (date.fromisoformat(latest + "-01") - timedelta(days=1)).isoformat()[:7]
    answers = {latest: [("5", "good")] * 5 + [("4", "good")] * 1 + [("4", "poor")] * 2 + [("2", "poor")] * 2 + [("2", None)] * 2,
               before: [("5", "fair")] * 4 + [("1", "poor")] * 2 + [("1", None)] * 4}
    totals: dict[tuple[str, str], int] = {}
    for month, given in answers.items():
        for satisfaction, confidence in given:
            measures = {"answered": "yes", "satisfaction": satisfaction, **({"confidence": confidence} if confidence else {})}
            for key, n in rules.count_keys(measures, team=CONV_TEAM, area_id=None, day=f"{month}-15", shard=0).items():
                totals[key] = totals.get(key, 0) + n
    for (key, bucket), n in totals.items():
        if key != rules.counter_pk(None, rules.GRAIN):  # the team's partition only: force-wide figures stay as they are
            StatCounterModel(key=key, bucket=bucket, contacts=n).save()
    return latest, before


def trust_team_buckets(stack: dict[str, Any], token: Any, month: str) -> list[dict[str, Any]]:
    last = (date.fromisoformat(month + "-28") + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    answer = api(stack, token, "/v1/history/trust", **{"from": f"{month}-01", "to": last.isoformat()}, team=CONV_TEAM)
    return [b for b in answer["buckets"] if b["area_id"] is None]


def test_headline_numbers_equal_the_apis(session: Session, stack: dict[str, Any], token: Any,
                                         trust_counts: tuple[str, str]) -> None:
    today = datetime.now(UTC).date()
    show(session, TEAM, "week", today.isoformat(), today.isoformat())
    shown = headline(session)
    week = iso_periods(today, today)
    monday = today - timedelta(days=today.weekday())
    previous = (monday - timedelta(days=7), monday - timedelta(days=1))  # the whole ISO week before, not inside this one
    assert f"against {previous[0].isoformat()} to {previous[1].isoformat()}" in session.page.locator("#headline-desc").inner_text()
    for day_from, day_to, periods, which in ((today, today, week, "current"), (*previous, iso_periods(*previous), "previous")):
        answer = api(stack, token, "/v1/history/engagement", **{"from": day_from.isoformat(), "to": day_to.isoformat()},
                     group_by="week", team=TEAM)
        expected = strength_shares(answer["buckets"], periods)
        for key, share in expected.items():
            assert shown[f"engaging-{key}"][which] == pytest.approx(share), (key, which)
    # from the seed alone: this ISO week, distinct authors by rank over the strength (7)
    this_week = today.isocalendar()[:2]
    authors: dict[str, set[str]] = {k: set() for k in ("any", "street", "online", "online_outbound")}
    for author, _, team, body in SEED:
        when = datetime.strptime(body["occurred_at"], "%Y-%m-%dT%H:%M:%SZ").date()
        if team == TEAM and when.isocalendar()[:2] == this_week:
            kinds = ["any", body["kind"]] + (["online_outbound"] if body.get("direction") == "outbound" else [])
            for kind in kinds:
                authors[kind].add(author)
    assert shown["engaging-any"]["current"] == pytest.approx(len(authors["any"]) / sum(STRENGTH.values()))
    assert shown["engaging-online_outbound"]["current"] == pytest.approx(1 / 7)  # pc-b alone reached out
    assert shown["engaging-any"]["text"] == f"{round(1000 * len(authors['any']) / 7) / 10:.1f}%"
    ranks = session.page.evaluate("[...document.querySelectorAll('#ranks-table tr')].map(r => [...r.children].map(c => c.textContent))")
    assert ranks[0][:2] == ["rank", "strength (staff-weeks)"] and [r[0] for r in ranks[1:]] == ["Constable", "PCSO", "Sergeant"]
    # the conversations team: one wait open now (begun today), both answered waits within the standard
    show(session, CONV_TEAM, "week", today.isoformat(), today.isoformat())
    shown = headline(session)
    waiting = requests.get(f"{stack['base']}/v1/history/waiting", timeout=60, params={"team": CONV_TEAM, "purpose": PURPOSE},
                           headers={"Authorization": f"Bearer {token('analyst', 'an-check')}"}).json()
    assert (shown["waiting"]["current"], shown["waiting"]["oldest"]) == (waiting["waiting"], waiting["oldest_waiting_since"])
    assert (waiting["waiting"], waiting["oldest_waiting_since"]) == (1, today.isoformat())
    figures = api(stack, token, "/v1/history/conversations", **{"from": today.isoformat(), "to": today.isoformat()},
                  group_by="week", team=CONV_TEAM)
    within = sum(b["within_standard"] for b in figures["buckets"]) / sum(b["answered_waits"] for b in figures["buckets"])
    assert shown["within-standard"]["current"] == within == 1.0
    assert shown["engaging-any"]["text"] == "No strength recorded"
    trust = [q for q in session.data_requests("/v1/history/trust") if q.get("team") == [CONV_TEAM]]
    assert trust and all(q["purpose"] == [PURPOSE] and q["group_by"] == ["month"] for q in trust)  # by month only
    # this week's month is in progress, never published: the tiles show the latest complete month (seeded
    # by trust_counts) against the month before it, equal to the API's published figures
    latest, before = trust_counts
    for measure in ("satisfaction", "confidence"):
        row = shown[measure]
        assert (row["months"], row["monthsBefore"]) == ([latest], [before]), measure
        [now] = trust_team_buckets(stack, token, latest)
        [then] = trust_team_buckets(stack, token, before)
        assert (row["current"], row["low"], row["high"]) == tuple(now[measure]["favourable"][k] for k in ("share", "low", "high"))
        assert row["previous"] == (None if then[measure]["withheld"] else then[measure]["favourable"]["share"])
    assert (shown["satisfaction"]["current"], shown["satisfaction"]["previous"]) == (round(8 / 12, 4), 0.4)
    assert (shown["confidence"]["current"], shown["confidence"]["previous"]) == (0.6, None)  # 6 answers before: withheld
    note = session.page.locator("#tile-satisfaction .tile-note").inner_text()
    assert f"Trust figures: {month_name(latest)}, the latest complete month." in note, note
    assert f"{month_name(today.isoformat()[:7])} is in progress" in note and f"compared with {month_name(before)}" in note
    # how the headline reads the trust buckets: one published team bucket as it is; several added up with
    # the interval recomputed (area buckets are parts of their team's, withheld ones are left out)
    combined = session.page.evaluate("""async () => {
        const m = await import(document.querySelector('meta[name=beatline-base]').content + '/assets/dashboard-headline.js');
        const b = (team, n, share, area) => ({period: 'p', team, area_id: area,
            satisfaction: {withheld: false, n, favourable: {share, low: 0.3003, high: 0.665}}});
        const hidden = {period: 'p', team: 'w', area_id: null, satisfaction: {withheld: true, n: null, favourable: null}};
        return [m.trustMeasure({buckets: [b('t', 25, 0.48, null)]}, 'satisfaction'),
                m.trustMeasure({buckets: [b('t', 25, 0.48, null), b('u', 15, 0.6, null), b('t', 12, 1, 'a1'), hidden]}, 'satisfaction'),
                m.trustMeasure({buckets: [b('t', 9, 0.5, null)]}, 'satisfaction')]; }""")
    assert combined[0] == {"share": 0.48, "low": 0.3003, "high": 0.665, "answers": 25, "withheld": 0}
    low, high = wilson(21, 40)
    assert combined[1]["share"] == pytest.approx(21 / 40) and combined[1]["withheld"] == 1
    assert (combined[1]["low"], combined[1]["high"]) == (pytest.approx(low), pytest.approx(high))
    assert combined[2]["share"] is None  # 9 answers: not enough
    tiles = session.page.locator("#headline-tiles .tile")
    assert tiles.count() == 8 and tiles.nth(4).locator(".value").inner_text() == "1"


def test_print_view_is_a_clean_a4_report(session: Session) -> None:
    page = session.page
    width = 703  # A4 (210 mm) less the 12 mm margins, at 96 px per inch
    page.set_viewport_size({"width": width, "height": 1000})
    page.emulate_media(media="print")
    try:
        display = page.evaluate("""() => Object.fromEntries(['filters', 'sign-out', 'report-scope', 'headline', 'figures']
            .map(id => [id, getComputedStyle(document.getElementById(id)).display]))""")
        assert display["filters"] == display["sign-out"] == "none" and display["report-scope"] == "block"
        assert page.evaluate("getComputedStyle(document.querySelector('.actions')).display") == "none"
        assert page.evaluate("[...document.querySelectorAll('button.csv')].every(b => b.offsetParent === null)")
        assert "Figures for" in page.locator("#report-scope").inner_text() and PURPOSE in page.locator("#report-scope").inner_text()
        wide = page.evaluate("""w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 0.5
            && getComputedStyle(e).display !== 'none').map(e => e.tagName + '#' + e.id + '.' + e.className)""", width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, wide[:12]  # nothing runs off the page
        assert page.evaluate("w => [...document.querySelectorAll('.plot canvas')].every(c => c.getBoundingClientRect().right <= w)", width)
        wraps = page.evaluate("[...document.querySelectorAll('.table-wrap')].map(w => [getComputedStyle(w).overflowY, getComputedStyle(w).maxHeight])")
        assert wraps and all(w == ["visible", "none"] for w in wraps)  # every table in full
        assert page.evaluate("getComputedStyle(document.querySelector('.figure')).breakInside") == "avoid-page"
        if SCREENSHOTS:
            page.screenshot(path=str(Path(SCREENSHOTS) / "dashboard-print.png"), full_page=True)
        pdf = page.pdf(format="A4", print_background=False)
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    finally:
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": 1280, "height": 900})


def test_one_csv_of_everything_shown(session: Session) -> None:
    page = session.page
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the whole report (CSV)").click()
    assert download_info.value.suggested_filename.startswith("beatline_")
    lines = list(csv.reader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    sections: list[list[list[str]]] = [[]]
    for line in lines:
        if line:
            sections[-1].append(line)
        else:
            sections.append([])
    sections = [s for s in sections if s]
    chosen = filters(session)
    assert sections[0][0] == ["Beatline engagement report"] and ["from", chosen["from"]] in sections[0]
    by_title = {s[0][0]: s[1:] for s in sections[1:]}
    tiles = page.evaluate("[...document.querySelectorAll('#headline-tiles .tile h3')].map(h => h.textContent)")
    assert [r[0] for r in by_title["The period at a glance"][1:]] == tiles
    figures = page.evaluate("""[...document.querySelectorAll('.figure')].filter(f => !f.querySelector('.table-wrap').hidden)
        .map(f => f.querySelector('h2').textContent)""")
    assert figures and [t for t in by_title if t not in ("The period at a glance", "Share of strength engaging, by rank")] == figures
    for title in figures:
        figure = page.evaluate("t => [...document.querySelectorAll('.figure')].find(f => f.querySelector('h2').textContent === t).id", title)
        table = session.table(figure.removeprefix("fig-"))
        got = [[cell[1:] if cell.startswith("'") else cell for cell in row] for row in by_title[title]]
        assert got == table, title


def test_a_leader_sees_force_wide_figures_and_no_texts(browser: Any, stack: dict[str, Any], token: Any, seeded: dict[str, Any]) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Session(page, stack["base"])
    page.goto(f"{stack['base']}/dashboard/")
    page.get_by_role("button", name="Sign in with your force account").click()
    page.wait_for_url("**/interaction/**")
    page.get_by_label("Subject").fill("cc-web")
    page.get_by_label("Role").select_option("leader")
    page.get_by_label("Team").fill("force-hq")
    page.get_by_label("Rank").select_option("chief_officer")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Purpose of this session (3 to 200 characters)").fill(PURPOSE)
    page.get_by_role("button", name="Continue").click()
    tab.wait_loaded()
    assert page.locator("#team").is_disabled() and page.locator("#team").input_value() == ""
    assert "headline" not in tab.table("alerts")[0] and tab.table("alerts")[0][:2] == ["published", "team"]
    assert not page.get_by_text(f"=Doorstep scams {RUN}").count()
    paths = {urlsplit(u).path for u in tab.requests}
    assert not paths & {"/v1/history/contacts", "/v1/history/contacts.csv", "/v1/audit", "/v1/contacts", "/v1/conversations"}
    for path in ("/v1/history/engagement", "/v1/history/conversations", "/v1/history/waiting"):
        asked = tab.data_requests(path)
        assert asked and all("team" not in q for q in asked), path  # the force, not a team
    # stats: the force's, and per team only for the online-share figure's breakdown of the force
    assert all(q["by"] == ["kind"] for q in tab.data_requests("/v1/history/stats") if "team" in q)
    waiting = requests.get(f"{stack['base']}/v1/history/waiting", timeout=60, params={"purpose": PURPOSE},
                           headers={"Authorization": f"Bearer {token('leader', 'cc-check', 'force-hq')}"}).json()
    assert headline(tab)["waiting"]["current"] == waiting["waiting"] >= 1
    assert serious_violations(page) == []
    assert tab.console_errors == []
    context.close()


def test_keyboard_only(session: Session) -> None:
    page = session.page
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("window.scrollTo(0, 0); document.body.focus()")
    order: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        order.append(page.evaluate(
            "(() => { const e = document.activeElement; return e.id || e.getAttribute('aria-label') || e.textContent.trim(); })()"))
    for wanted in ("sign-out", "change-purpose", "from", "to", "grain", "team", "topic", "apply", "download-all",
                   "print-report", "Download CSV: Contacts per period: street and online"):
        assert wanted in order, (wanted, order)
    assert order.index("from") < order.index("grain") < order.index("apply") < order.index("download-all")
    # change the grain and apply it with the keyboard alone
    page.locator("#grain").select_option("day")
    before = session.loaded_mark()
    page.focus("#grain")
    page.keyboard.press("ArrowDown")  # day -> week
    page.focus("#apply")
    page.keyboard.press("Enter")
    session.wait_loaded(before)
    assert filters(session)["grain"] == "week"
    visible = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert visible != "none"  # the focused control shows where the keyboard is


def test_accessibility_scan(session: Session) -> None:
    assert serious_violations(session.page) == []
    if SCREENSHOTS:
        session.page.screenshot(path=str(Path(SCREENSHOTS) / "dashboard.png"), full_page=True)


def test_no_console_errors_and_nothing_leaves_the_origin(session: Session, stack: dict[str, Any]) -> None:
    assert session.console_errors == []
    allowed = (stack["base"] + "/", stack["issuer"] + "/", "blob:" + stack["base"] + "/")
    assert [u for u in session.requests if not u.startswith(allowed)] == []
    assert any(u.startswith(stack["issuer"]) for u in session.requests)  # sign-in did go to the issuer


def test_sign_out_clears_the_tokens(session: Session) -> None:
    page = session.page
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in with your force account").wait_for()
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('oidc.')).length") == 0
    assert page.evaluate("sessionStorage.getItem('beatline.purpose')") is None


def test_supervisor_sees_own_team_only(browser: Any, stack: dict[str, Any], seeded: dict[str, Any]) -> None:
    context = browser.new_context()
    page = context.new_page()
    tab = Session(page, stack["base"])
    sign_in(page, stack["base"], "supervisor", "sgt-web", OTHER_TEAM)
    page.get_by_label("Purpose of this session (3 to 200 characters)").fill(PURPOSE)
    page.get_by_role("button", name="Continue").click()
    tab.wait_loaded()
    assert page.locator("#team").is_disabled() and page.locator("#team").input_value() == OTHER_TEAM
    totals = {s["label"]: sum(s["values"]) for s in tab.chart("contacts")["series"]}
    assert totals == {"street": 2, "online": 0}
    assert tab.chart("alerts") == {"unavailable": "Not available for your role."}
    assert all(q.get("team") == [OTHER_TEAM] for q in tab.data_requests("/v1/history/stats"))
    # the conversations figure and the Guarantee panel, both for their team only
    asked = [q.get("team") for q in tab.data_requests("/v1/history/conversations")]
    assert asked == [[OTHER_TEAM]] * 4  # the figure, the Guarantee panel, the headline's period and the one before
    assert [q.get("team") for q in tab.data_requests("/v1/history/waiting")] == [[OTHER_TEAM]]
    assert {s["label"]: sum(s["values"]) for s in tab.chart("conversations")["series"]} == {
        "opened": 0, "answered": 0, "closed": 0, "waiting over 24 h": 0}  # CONV_TEAM's are not theirs
    assert tab.console_errors == []
    context.close()


def test_docs_page_try_it_with_a_pasted_token(browser: Any, stack: dict[str, Any], token: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Session(page, stack["base"])
    page.goto(f"{stack['base']}/docs/")
    page.locator(".opblock-tag-section").first.wait_for(timeout=30000)
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "docs.png"))
    page.locator("button.authorize").first.click()
    page.locator(".auth-container input").first.fill(token("officer", "pc-docs"))
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator("button.btn-done").click()
    operation = page.locator("#operations-contacts-list_contacts")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/v1/contacts") as answer:
        operation.get_by_role("button", name="Execute").click()
    response = answer.value
    assert response.status == 200 and response.url.startswith(stack["base"] + "/v1/contacts")
    assert response.request.headers["authorization"].startswith("Bearer ")
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip().startswith("200")
    assert tab.console_errors == []
    assert [u for u in tab.requests if not u.startswith(stack["base"] + "/")] == []
    context.close()
