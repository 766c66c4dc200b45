"""History (analysts), CSV export, statistics and the access log, against DynamoDB Local."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.clock import to_rfc3339
from chalicelib.domain import history
from tests.conftest import bearer

PURPOSE = "weekly engagement review"
# Each test gets its own stretch of (fixed) time, so force-wide queries see only its contacts.
_SLOTS = itertools.count()
# Hypothesis reseeds the global `random` per example; places and times must differ between examples.
_rng = random.SystemRandom()
# In the future and apart from test_engagement's (2031-2047): DynamoDB Local deletes items whose TTL
# has passed within seconds, so contacts dated years back (expiring 2 years after) vanished at random.
_BASE = datetime(2051, 1, 1, tzinfo=UTC) + timedelta(days=_rng.randrange(0, 3000))


@pytest.fixture
def now(services_override) -> datetime:
    """A clock in 2051-2065 starting on the 3rd of a month (so the 30-day logging window spans two
    months), one second later at each reading (so access-log entries have a strict order)."""
    day = _BASE + timedelta(days=100 * next(_SLOTS))
    at = day.replace(day=3, hour=12, minute=0, second=0, microsecond=0)
    ticks = itertools.count()
    services_override(clock=lambda: at + timedelta(seconds=next(ticks)))
    return at


def _street(at: datetime, lat: float, lon: float, **extra) -> dict:
    body = {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(at), "topic": "burglary",
            "outcome": "advice_given", "location": {"lat": lat, "lon": lon}, "setting": "patrol"}
    body.update(extra)
    return body


def _online(at: datetime, **extra) -> dict:
    body = {"id": str(uuid.uuid4()), "kind": "online", "occurred_at": to_rfc3339(at), "topic": "fraud_scams",
            "outcome": "advice_given", "platform": "facebook", "direction": "inbound"}
    body.update(extra)
    return body


def _await_indexed(bodies: list[dict], timeout: float = 30.0) -> None:
    """GSIs are eventually consistent (in AWS, and DynamoDB Local under load was seen lagging
    more than 10 s on the shared 2-core machine): wait until each contact is in the history
    index before reading it back."""
    from chalicelib.store.models import ContactModel

    deadline = time.monotonic() + timeout
    for body in bodies:
        sort_key = f"{body['occurred_at']}#{body['id']}"
        while not list(ContactModel.by_hb_all.query(body["occurred_at"][:7], ContactModel.hsk == sort_key)):
            assert time.monotonic() < deadline, f"contact {body['id']} never reached the history index"
            time.sleep(0.05)


def _log(client, token: str, body: dict) -> None:
    _KNOWN[_row(body["id"])] = body["id"]
    response = client.http.post("/v1/contacts", headers=bearer(token), body=json.dumps(body))
    assert response.status_code == 201, response.body
    _await_indexed([body])


def _sync(client, token: str, bodies: list[dict]) -> None:
    _KNOWN.update({_row(b["id"]): b["id"] for b in bodies})
    for start in range(0, len(bodies), 100):
        response = client.http.post("/v1/contacts/batch", headers=bearer(token),
                                    body=json.dumps({"contacts": bodies[start:start + 100]}))
        assert response.status_code == 200, response.body
        assert {r["status"] for r in response.json_body["results"]} == {201}, response.body
    _await_indexed(bodies)


def _get(client, token: str, path: str, **params):
    params.setdefault("purpose", PURPOSE)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return client.http.get(f"{path}?{query}", headers=bearer(token))


def _window(now: datetime, days: int = 40) -> dict:
    return {"from": to_rfc3339(now - timedelta(days=days)), "to": to_rfc3339(now + timedelta(minutes=10))}


def _row(contact_id: str) -> str:
    """The analyst's pseudonym of a contact (rows never carry the id itself)."""
    from chalicelib.services import services

    return services().pseudonyms.history_row(contact_id)


_KNOWN: dict[str, str] = {}  # row pseudonym -> contact id, for the contacts these tests write


def _contact_ids(rows) -> list[str]:
    """Contact ids behind rows (tests know what they wrote; analysts cannot do this)."""
    return [_KNOWN.get(row["row"], row["row"]) for row in rows]


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.body
    return _contact_ids(response.json_body["items"])


def _square(lat: float, lon: float, half: float = 0.01) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
            [lon - half, lat + half], [lon - half, lat - half]]
    return {"type": "Polygon", "coordinates": [ring]}


def _new_area(client, staff_token, team: str) -> tuple[str, float, float]:
    """A named area around a random point nobody else uses; returns (id, lat, lon) of its centre."""
    lat, lon = _rng.uniform(41, 59), _rng.uniform(-9, 29)
    area_id = str(uuid.uuid4())
    response = client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin")),
                               body=json.dumps({"name": "Beat", "team": team, "geometry": _square(lat, lon)}))
    assert response.status_code == 201, response.body
    return area_id, lat, lon


# --- filters --------------------------------------------------------------------------------


def test_every_filter_is_served_newest_first(client, staff_token, team, now):
    officer = staff_token("officer", team=team)
    other_team = f"{team}-b"
    other = staff_token("officer", team=other_team)
    area_id, lat, lon = _new_area(client, staff_token, team)
    made: dict[str, dict] = {}
    specs = [
        ("street_area", officer, _street(now - timedelta(days=1), lat, lon)),
        ("street_far", officer, _street(now - timedelta(days=2), lat + 1.5, lon, topic="drugs")),
        ("online_fb", officer, _online(now - timedelta(days=3))),
        ("online_x", officer, _online(now - timedelta(days=4), platform="x", topic="youth")),
        ("other_team", other, _street(now - timedelta(days=5), lat, lon, topic="youth")),
        ("last_month", officer, _online(now - timedelta(days=20), topic="youth")),
    ]
    for name, token, body in specs:
        _log(client, token, body)
        made[name] = body["id"]
    analyst = staff_token("analyst", team=None)
    window = _window(now)

    def ids(**filters) -> list[str]:
        return _ids(_get(client, analyst, "/v1/history/contacts", **window, **filters))

    order = ["street_area", "street_far", "online_fb", "online_x", "other_team", "last_month"]
    assert ids() == [made[n] for n in order]  # force-wide (this test's stretch of time), newest first
    assert ids(team=team) == [made[n] for n in order if n != "other_team"]
    assert ids(team=other_team) == [made["other_team"]]
    assert ids(area_id=area_id) == [made["street_area"], made["other_team"]]
    assert ids(area_id=area_id, team=team) == [made["street_area"]]
    assert ids(kind="street") == [made["street_area"], made["street_far"], made["other_team"]]
    assert ids(kind="online", team=team) == [made["online_fb"], made["online_x"], made["last_month"]]
    assert ids(platform="x") == [made["online_x"]]
    assert ids(platform="facebook", topic="youth") == [made["last_month"]]
    assert ids(topic="youth") == [made["online_x"], made["other_team"], made["last_month"]]
    assert ids(topic="youth", team=team, kind="online") == [made["online_x"], made["last_month"]]
    assert ids(topic="youth", area_id=area_id) == [made["other_team"]]
    assert ids(area_id=area_id, kind="online") == []  # contradictory: answered without reading
    assert ids(platform="x", kind="street") == []
    # The time range is applied inside the partitions (sort key), not after reading.
    narrow = {"from": to_rfc3339(now - timedelta(days=4, hours=1)), "to": to_rfc3339(now - timedelta(days=2, hours=23))}
    assert _ids(_get(client, analyst, "/v1/history/contacts", **narrow)) == [made["online_fb"], made["online_x"]]


def test_range_is_required_and_bounded(client, staff_token, now):
    analyst = staff_token("analyst")
    assert _get(client, analyst, "/v1/history/contacts", to=to_rfc3339(now)).status_code == 400
    too_long = {"from": to_rfc3339(now - timedelta(days=367)), "to": to_rfc3339(now)}
    response = _get(client, analyst, "/v1/history/contacts", **too_long)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    backwards = {"from": to_rfc3339(now), "to": to_rfc3339(now - timedelta(days=1))}
    assert _get(client, analyst, "/v1/history/contacts", **backwards).status_code == 400
    assert _get(client, analyst, "/v1/history/contacts", **_window(now), kind="boat").status_code == 400


# --- pseudonymisation --------------------------------------------------------------------------


def test_rows_are_pseudonymised_in_json_and_csv(client, staff_token, team, now):
    sub = f"pc-{uuid.uuid4().hex[:6]}"
    officer = staff_token("officer", sub=sub, team=team)
    street = _street(now - timedelta(hours=2), 52.2, 0.12, notes="SECRET-NOTE about Mrs Smith",
                     tags=["secret-tag"])
    online = _online(now - timedelta(hours=1), notes="SECRET-NOTE-2", handle="@jane_doe_1985",
                     thread_ref="THREAD-REF-9981")
    _log(client, officer, street)
    _log(client, officer, online)
    analyst = staff_token("analyst")
    window = _window(now)
    response = _get(client, analyst, "/v1/history/contacts", team=team, **window)
    export = _get(client, analyst, "/v1/history/contacts.csv", team=team, **window)
    assert response.status_code == 200 and export.status_code == 200
    for text in (response.body.decode(), export.body.decode()):
        for secret in ("SECRET-NOTE", "jane_doe", "hdl_", "THREAD-REF", "secret-tag", sub, "52.2", "0.12"):
            assert secret not in text
    rows = response.json_body["items"]
    officers = {row["officer"] for row in rows}
    assert len(officers) == 1
    pseudonym = officers.pop()
    assert pseudonym != sub and pseudonym.startswith("off_")
    from chalicelib.services import services

    assert pseudonym == services().pseudonyms.officer(sub)  # stable: the same keyed pseudonym each call
    again = _get(client, analyst, "/v1/history/contacts", team=team, **window)
    assert {row["officer"] for row in again.json_body["items"]} == {pseudonym}
    import h3

    street_row = next(r for r in rows if r["kind"] == "street")
    assert h3.get_resolution(street_row["cell"]) == 7
    assert street_row["occurred_at"] == street["occurred_at"]  # on a whole minute already
    assert set(street_row) <= {"row", "occurred_at", "kind", "topic", "outcome", "team", "officer", "cell",
                               "area_id", "setting", "author_kind", "author_role"}
    online_row = next(r for r in rows if r["kind"] == "online")
    assert set(online_row) == {"row", "occurred_at", "kind", "topic", "outcome", "team", "officer", "platform",
                               "direction", "author_kind", "author_role"}
    assert {r["author_kind"] for r in rows} == {"staff"}


# --- who may ask -------------------------------------------------------------------------------


def test_supervisor_sees_own_team_only(client, staff_token, team, now):
    _log(client, staff_token("officer", team=team), _online(now - timedelta(hours=1)))
    _log(client, staff_token("officer", team=f"{team}-x"), _online(now - timedelta(hours=1)))
    supervisor = staff_token("supervisor", team=team)
    window = _window(now)
    own = _get(client, supervisor, "/v1/history/contacts", **window)
    assert own.status_code == 200
    assert {row["team"] for row in own.json_body["items"]} == {team}
    assert _get(client, supervisor, "/v1/history/contacts", team=team, **window).status_code == 200
    assert _get(client, supervisor, "/v1/history/contacts", team=f"{team}-x", **window).status_code == 403
    assert _get(client, supervisor, "/v1/history/stats", by="kind", **window).status_code == 200
    assert _get(client, supervisor, "/v1/history/stats", by="kind", team=f"{team}-x", **window).status_code == 403
    assert _get(client, supervisor, "/v1/history/contacts.csv", **window).status_code == 403
    assert _get(client, supervisor, "/v1/history/alerts", **window).status_code == 403
    assert _get(client, supervisor, "/v1/audit", **window).status_code == 403
    officer = staff_token("officer", team=team)
    for path in ("/v1/history/contacts", "/v1/history/contacts.csv", "/v1/history/alerts", "/v1/audit"):
        assert _get(client, officer, path, **window).status_code == 403
    assert _get(client, staff_token("analyst"), "/v1/audit", **window).status_code == 403
    teamless = staff_token("supervisor", team=None)
    assert _get(client, teamless, "/v1/history/contacts", **window).status_code == 403
    assert client.http.get("/v1/history/contacts").status_code == 401


# --- purpose and the access log -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/history/contacts", "/v1/history/contacts.csv", "/v1/history/stats",
                                  "/v1/history/alerts", "/v1/audit"])
def test_purpose_is_required(client, staff_token, now, path):
    admin = staff_token("admin")
    params = {**_window(now), "by": "kind"} if path.endswith("stats") else _window(now)
    for purpose in (None, "", "ab", "x" * 201):
        response = client.http.get(f"{path}?{urlencode({**params, **({'purpose': purpose} if purpose is not None else {})})}",
                                   headers=bearer(admin))
        assert response.status_code == 400, (path, purpose, response.body)
        assert response.json_body["errors"][0]["field"] == "purpose"
    assert _get(client, admin, path, **params).status_code == 200


def test_calls_are_logged_with_purpose_filters_and_row_count(client, staff_token, team, now):
    _log(client, staff_token("officer", team=team), _online(now - timedelta(hours=1)))
    _log(client, staff_token("officer", team=team), _online(now - timedelta(hours=2), platform="x"))
    analyst_sub = f"an-{uuid.uuid4().hex[:8]}"
    analyst = staff_token("analyst", sub=analyst_sub)
    window = _window(now)
    assert _get(client, analyst, "/v1/history/contacts", team=team, kind="online", purpose="burglary spike review",
                **window).status_code == 200
    assert _get(client, analyst, "/v1/history/contacts.csv", team=team, purpose="export for the board",
                **window).status_code == 200
    assert _get(client, analyst, "/v1/history/stats", team=team, by="platform", purpose="platform mix",
                **window).status_code == 200
    admin = staff_token("admin")
    log = _get(client, admin, "/v1/audit", actor=analyst_sub, purpose="DPA s.62 check",
               **{"from": to_rfc3339(now), "to": to_rfc3339(now + timedelta(hours=1))})
    assert log.status_code == 200, log.body
    entries = log.json_body["items"]
    assert [e["action"] for e in entries] == ["history.stats", "history.export", "history.contacts"]
    stats_entry, export_entry, contacts_entry = entries
    assert contacts_entry["purpose"] == "burglary spike review"
    assert contacts_entry["row_count"] == 2
    assert contacts_entry["query"]["team"] == team and contacts_entry["query"]["kind"] == "online"
    assert contacts_entry["actor"] == analyst_sub and contacts_entry["role"] == "analyst"
    assert export_entry["purpose"] == "export for the board" and export_entry["row_count"] == 2
    assert stats_entry["query"]["by"] == "platform" and stats_entry["row_count"] == 2


# --- cursors -------------------------------------------------------------------------------------


def test_cursor_pages_across_months_and_is_bound_to_the_query(client, staff_token, team, now):
    officer = staff_token("officer", team=team)
    bodies = [_online(now - timedelta(days=d, hours=1)) for d in range(0, 25, 3)]  # spans two months
    _sync(client, officer, bodies)
    expected = [b["id"] for b in bodies]  # already newest first
    analyst = staff_token("analyst")
    window = _window(now)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        response = _get(client, analyst, "/v1/history/contacts", team=team, limit=2, cursor=cursor, **window)
        seen += _ids(response)
        cursor = response.json_body["next_cursor"]
        pages += 1
        if not cursor:
            break
        assert pages < 10
    assert seen == expected, (now, [b["occurred_at"] for b in bodies], seen)
    first = _get(client, analyst, "/v1/history/contacts", team=team, limit=2, **window)
    cursor = first.json_body["next_cursor"]
    assert cursor
    for changed in ({"topic": "fraud_scams"}, {"kind": "online"}, {"limit": 3}, {"team": f"{team}-z"},
                    {"from": to_rfc3339(now - timedelta(days=39))}):
        params = {"team": team, "limit": 2, **window, **changed}
        response = _get(client, analyst, "/v1/history/contacts", cursor=cursor, **params)
        assert response.status_code == 400, changed
        assert response.json_body["errors"][0]["field"] == "cursor"
    other_analyst = staff_token("analyst")
    assert _get(client, other_analyst, "/v1/history/contacts", team=team, limit=2, cursor=cursor,
                **window).status_code == 400
    assert _get(client, analyst, "/v1/history/contacts", team=team, limit=2, cursor=cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),
                **window).status_code == 400
    # The CSV export continues the same listing with the same cursor.
    export = _get(client, analyst, "/v1/history/contacts.csv", team=team, limit=2, cursor=cursor, **window)
    assert export.status_code == 200
    assert _contact_ids(csv.DictReader(io.StringIO(export.body.decode()))) == expected[2:4]


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_is_rfc4180_paged_and_neutralises_formulas(client, staff_token, now):
    evil_team = "=HYPERLINK(\"http://x\",\"y\")"
    officer = staff_token("officer", team=evil_team)
    bodies = [_online(now - timedelta(minutes=m + 1)) for m in range(3)]
    for body in bodies:
        _log(client, officer, body)
    analyst = staff_token("analyst")
    params = {"team": evil_team, "limit": 2, **_window(now, days=1)}
    response = _get(client, analyst, "/v1/history/contacts.csv", **params)
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.body.decode()
    assert text.endswith("\r\n") and text.split("\n", 1)[0].endswith("\r")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == history.CSV_COLUMNS
    data = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert len(data) == 2
    assert {d["team"] for d in data} == {"'" + evil_team}
    assert _contact_ids(data) == [b["id"] for b in bodies[:2]]
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    next_cursor = response.headers["X-Next-Cursor"]
    assert 'rel="next"' in response.headers["Link"] and "cursor=" in response.headers["Link"]
    rest = _get(client, analyst, "/v1/history/contacts.csv", cursor=next_cursor, **params)
    rest_rows = list(csv.DictReader(io.StringIO(rest.body.decode(), newline="")))
    assert _contact_ids(rest_rows) == [bodies[2]["id"]]
    assert "X-Next-Cursor" not in rest.headers


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise_prefixes_formula_starts(value):
    assert history.neutralise(value) == "'" + value
    assert history.neutralise("plain") == "plain"
    assert history.neutralise(None) == ""


# --- areas ---------------------------------------------------------------------------------------


def test_area_tag_is_fixed_at_write_time(client, staff_token, team, now):
    officer = staff_token("officer", team=team)
    lat, lon = _rng.uniform(41, 59), _rng.uniform(-9, 29)
    before = _street(now - timedelta(hours=3), lat, lon)
    _log(client, officer, before)  # no area here yet: untagged
    area_id = str(uuid.uuid4())
    admin = staff_token("admin")
    put = client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin),
                          body=json.dumps({"name": "New beat", "team": team, "geometry": _square(lat, lon)}))
    assert put.status_code == 201
    after = _street(now - timedelta(hours=2), lat, lon)
    _log(client, officer, after)
    # Redraw the area elsewhere: existing contacts keep their tag, new ones follow the new shape.
    moved = client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin),
                            body=json.dumps({"name": "New beat", "team": team, "geometry": _square(lat + 2, lon)}))
    assert moved.status_code == 200
    outside_now = _street(now - timedelta(hours=1), lat, lon)
    inside_now = _street(now - timedelta(minutes=30), lat + 2, lon)
    _log(client, officer, outside_now)
    _log(client, officer, inside_now)
    analyst = staff_token("analyst")
    window = _window(now, days=1)
    assert _ids(_get(client, analyst, "/v1/history/contacts", area_id=area_id, **window)) == [inside_now["id"], after["id"]]
    stats = _get(client, analyst, "/v1/history/stats", by="area", team=team, group_by="month", **window)
    assert stats.json_body["buckets"] == [{"period": now.strftime("%Y-%m"), "key": area_id, "contacts": 2}]
    # Amending the location re-tags from the current shapes (and moves the counters).
    got = client.http.get(f"/v1/contacts/{before['id']}", headers=bearer(officer)).json_body
    patch = {"version": got["version"], "location": {"lat": lat + 2, "lon": lon}}
    amended = client.http.patch(f"/v1/contacts/{before['id']}", headers=bearer(officer), body=json.dumps(patch))
    assert amended.status_code == 200, amended.body
    assert amended.json_body["area_id"] == area_id
    expected = [inside_now["id"], after["id"], before["id"]]
    for _ in range(100):  # the amendment reaches the area GSI eventually
        got_ids = _ids(_get(client, analyst, "/v1/history/contacts", area_id=area_id, **window))
        if got_ids == expected:
            break
        time.sleep(0.05)
    assert got_ids == expected


# --- statistics ----------------------------------------------------------------------------------

contact_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=29),  # days before now
        st.sampled_from(["street", "online"]),
        st.sampled_from(["burglary", "youth", "drugs"]),
        st.sampled_from(["facebook", "x", "email"]),
        st.integers(min_value=0, max_value=2),  # 0: outside any area, 1/2: in area A/B
    ),
    min_size=1, max_size=40,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=contact_specs)
def test_stats_recount_matches_every_bucket(client, staff_token, now, specs):
    team = f"team-{uuid.uuid4().hex[:10]}"
    areas = [None, _new_area(client, staff_token, team), _new_area(client, staff_token, team)]
    bodies, facts = [], []
    for days, kind, topic, platform, area_no in specs:
        at = now - timedelta(days=days, minutes=_rng.randrange(0, 600))
        if kind == "street":
            area = areas[area_no]
            lat, lon = (area[1], area[2]) if area else (_rng.uniform(-40, -30), _rng.uniform(100, 120))
            bodies.append(_street(at, lat, lon, topic=topic))
            facts.append({"day": at.date(), "kind": kind, "topic": topic, "platform": None,
                          "area": area[0] if area else None, "team": team})
        else:
            bodies.append(_online(at, topic=topic, platform=platform))
            facts.append({"day": at.date(), "kind": kind, "topic": topic, "platform": platform, "area": None,
                          "team": team})
    _sync(client, staff_token("officer", team=team), bodies)
    analyst = staff_token("analyst")
    supervisor = staff_token("supervisor", team=team)
    window = {"from": (now - timedelta(days=40)).date().isoformat(), "to": now.date().isoformat()}
    for by in ("area", "team", "kind", "platform", "topic"):
        for group_by in ("day", "week", "month"):
            expected = Counter()
            for fact in facts:
                if fact[by] is not None:
                    expected[(history.period_of(fact["day"].isoformat(), group_by), fact[by])] += 1
            want = sorted([{"period": p, "key": k, "contacts": n} for (p, k), n in expected.items()],
                          key=lambda b: (b["period"], b["key"]))
            for token, extra in ((analyst, {"team": team}), (supervisor, {})):
                got = _get(client, token, "/v1/history/stats", by=by, group_by=group_by, **window, **extra)
                assert got.status_code == 200, got.body
                assert got.json_body["buckets"] == want, (by, group_by)
            if by == "team":  # the force-wide view, restricted to this example's team
                got = _get(client, analyst, "/v1/history/stats", by=by, group_by=group_by, **window)
                assert [b for b in got.json_body["buckets"] if b["key"] == team] == want


def test_stats_is_one_query_per_request(client, staff_token, team, now):
    """The counters of one key over a year are one Query call (a 1 MB page holds them)."""
    from chalicelib.store.models import StatCounterModel

    _sync(client, staff_token("officer", team=team), [_online(now - timedelta(days=d)) for d in range(20)])
    calls = []
    events = StatCounterModel._get_connection().connection.client.meta.events

    def handler(**kwargs):
        calls.append(kwargs["parsed"].get("Count"))

    events.register("after-call.dynamodb.Query", handler)
    try:
        year = {"from": (now - timedelta(days=365)).date().isoformat(), "to": now.date().isoformat()}
        for by in ("topic", "team", "platform"):
            calls.clear()
            response = _get(client, staff_token("supervisor", team=team), "/v1/history/stats", by=by,
                            group_by="week", **year)
            assert response.status_code == 200
            assert len(calls) == 1, (by, calls)
    finally:
        events.unregister("after-call.dynamodb.Query", handler)


def test_stats_periods_are_iso_weeks_and_utc_months():
    assert history.period_of("2026-01-01", "week") == "2026-W01"
    assert history.period_of("2027-01-01", "week") == "2026-W53"
    assert history.period_of("2024-12-30", "week") == "2025-W01"
    assert history.period_of("2026-11-28", "month") == "2026-11"
    assert history.period_of("2026-11-28", "day") == "2026-11-28"


def test_stats_rejects_bad_ranges(client, staff_token):
    analyst = staff_token("analyst")
    for params in ({"from": "2026-01-01", "to": "2027-02-01"}, {"from": "2026-02-01", "to": "2026-01-01"},
                   {"from": "yesterday", "to": "2026-01-01"}, {"from": "2026-01-01T00:00:00", "to": "2026-01-02"}):
        assert _get(client, analyst, "/v1/history/stats", by="kind", **params).status_code == 400, params
    assert _get(client, analyst, "/v1/history/stats", by="officer", **{"from": "2026-01-01", "to": "2026-01-02"}).status_code == 400


# --- alerts figures ------------------------------------------------------------------------------


def test_alert_figures_and_totals_from_the_alerts_source(client, staff_token):
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.domain.history import AlertFigures, AlertHistoryQuery
    from chalicelib.services import services
    from chalicelib.usecases import history as usecase

    calls = []

    def source(start, end, position, limit):
        calls.append((start, end, position, limit))
        return [
            AlertFigures(id="a1", team="north", headline="Burglaries", status="published",
                         published_at="2026-11-02T10:00:00Z", targeted=100, sent=98, failed=2, read=40, responses=3),
            AlertFigures(id="a2", team="north", headline="Scam calls", status="expired",
                         published_at="2026-11-01T10:00:00Z", targeted=50, sent=50, read=10),
        ], {"m": "2026-11", "k": None}

    ctx = RequestContext(request_id="r1", now=datetime(2026, 11, 28, tzinfo=UTC),
                         principal=Principal(sub="an-1", roles=frozenset({"analyst"}), kind="staff"))
    query = AlertHistoryQuery(from_=datetime(2026, 11, 1, tzinfo=UTC), to=datetime(2026, 11, 28, tzinfo=UTC),
                              purpose="alert reach review", limit=2)
    page = usecase.alerts(services(), ctx, query, source=source)
    assert calls == [("2026-11-01T00:00:00Z", "2026-11-28T00:00:00Z", None, 2)]
    assert (page.totals.alerts, page.totals.targeted, page.totals.sent, page.totals.failed, page.totals.read,
            page.totals.responses) == (2, 150, 148, 2, 50, 3)
    assert page.next_cursor
    # Over HTTP against the real alerts table: see tests/test_history_alerts.py.


# --- the access log ------------------------------------------------------------------------------


def test_audit_lists_by_time_and_by_actor_newest_first(client, staff_token, team, now):
    analyst_sub = f"an-{uuid.uuid4().hex[:8]}"
    analyst = staff_token("analyst", sub=analyst_sub)
    for n in range(3):
        assert _get(client, analyst, "/v1/history/contacts", purpose=f"review number {n}", **_window(now)).status_code == 200
    admin_sub = f"ad-{uuid.uuid4().hex[:8]}"
    admin = staff_token("admin", sub=admin_sub)
    window = {"from": to_rfc3339(now), "to": to_rfc3339(now + timedelta(hours=1))}
    seen, cursor = [], None
    while True:
        page = _get(client, admin, "/v1/audit", actor=analyst_sub, limit=2, cursor=cursor, **window)
        assert page.status_code == 200, page.body
        seen += page.json_body["items"]
        cursor = page.json_body["next_cursor"]
        if not cursor:
            break
    assert [e["purpose"] for e in seen] == ["review number 2", "review number 1", "review number 0"]
    first = _get(client, admin, "/v1/audit", actor=analyst_sub, limit=2, **window).json_body["next_cursor"]
    assert first
    assert _get(client, admin, "/v1/audit", actor="someone-else", limit=2, cursor=first, **window).status_code == 400
    # Over the time range (all actors): newest first, and our analyst's entries are among them.
    everything, cursor = [], None
    for _ in range(50):
        page = _get(client, admin, "/v1/audit", limit=100, cursor=cursor, **window)
        assert page.status_code == 200
        everything += page.json_body["items"]
        cursor = page.json_body["next_cursor"]
        if not cursor:
            break
    times = [e["at"] for e in everything]
    assert times == sorted(times, reverse=True)
    assert [e["purpose"] for e in everything if e["actor"] == analyst_sub] == [
        "review number 2", "review number 1", "review number 0"]
    # Reading the log is itself logged.
    own = _get(client, admin, "/v1/audit", actor=admin_sub, **window).json_body["items"]
    assert own and own[0]["action"] == "audit.read"


def test_audit_walks_empty_days_in_bounded_steps(client, staff_token):
    admin = staff_token("admin")
    old = {"from": "2001-01-01T00:00:00Z", "to": "2001-12-31T23:59:59Z"}
    page = _get(client, admin, "/v1/audit", **old)
    assert page.status_code == 200
    assert page.json_body["items"] == []
    steps = 1
    cursor = page.json_body["next_cursor"]
    while cursor:
        cursor = _get(client, admin, "/v1/audit", cursor=cursor, **old).json_body["next_cursor"]
        steps += 1
    assert steps == 12  # 365 days, 31 per call


def test_no_code_path_updates_or_deletes_access_log_records():
    from chalicelib.store import access_log

    public = {name for name in dir(access_log) if not name.startswith("_")}
    assert not {name for name in public if re.search(r"update|delete|remove|erase|put_item|overwrite", name, re.I)}
    root = Path(__file__).resolve().parents[1] / "chalicelib"
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text()
        if "AccessLogModel" not in text and "access_log" not in text:
            continue
        for line in text.splitlines():
            if re.search(r"(AccessLogModel|access_log|audit_model)\S*\.(update|delete|batch_write)\b", line) or \
               re.search(r"tx\.(update|delete)\(\s*audit", line):
                offenders.append(f"{path.name}: {line.strip()}")
    assert offenders == []
    # Writes are conditional puts that never overwrite an entry.
    assert "attribute_not_exists" in str(access_log.append_condition()).lower() or \
        "not_exists" in repr(access_log.append_condition()).lower()


def test_backfill_indexes_contacts_written_before_the_history_indexes(client, staff_token, team, now):
    from chalicelib.store.models import ContactModel
    from infra.history_backfill import backfill

    body = _online(now - timedelta(hours=1))
    _log(client, staff_token("officer", team=team), body)
    old = ContactModel.get(body["id"])
    for name in ("hsk", "hrow", *history.INDEX_ATTRIBUTES):
        setattr(old, name, None)
    old.save()  # as a contact written before this change looks
    analyst = staff_token("analyst")

    def rows_settle_to(expected: list[str]) -> bool:
        for _ in range(100):  # the GSIs follow the base item eventually
            if _ids(_get(client, analyst, "/v1/history/contacts", team=team, **_window(now))) == expected:
                return True
            time.sleep(0.05)
        return False

    assert rows_settle_to([])
    seen, updated = backfill()
    assert seen >= 1 and updated >= 1
    assert rows_settle_to([body["id"]])


def test_period_counters_roll_up_and_cancel_within_a_period():
    from chalicelib.domain.stats_keys import with_period_grains

    moved_in_week = with_period_grains({("force|kind", "2026-11-23|street"): -1, ("force|kind", "2026-11-24|street"): 1})
    assert moved_in_week == {("force|kind", "2026-11-23|street"): -1, ("force|kind", "2026-11-24|street"): 1}
    created = with_period_grains({("team:n|topic", "2026-12-31|youth"): 1})
    assert created == {("team:n|topic", "2026-12-31|youth"): 1, ("team:n|topic|week", "2026-W53|youth"): 1,
                       ("team:n|topic|month", "2026-12|youth"): 1}


def test_amending_occurred_at_moves_week_and_month_counters(client, staff_token, team, now):
    officer = staff_token("officer", team=team)
    body = _online(now - timedelta(hours=1))
    _log(client, officer, body)
    supervisor = staff_token("supervisor", team=team)
    window = {"from": (now - timedelta(days=40)).date().isoformat(), "to": now.date().isoformat()}

    def monthly() -> list[dict]:
        return _get(client, supervisor, "/v1/history/stats", by="kind", group_by="month", **window).json_body["buckets"]

    assert monthly() == [{"period": now.strftime("%Y-%m"), "key": "online", "contacts": 1}]
    earlier = now - timedelta(days=10)  # the previous month (now is the 3rd)
    patch = {"version": 1, "occurred_at": to_rfc3339(earlier)}
    assert client.http.patch(f"/v1/contacts/{body['id']}", headers=bearer(officer), body=json.dumps(patch)).status_code == 200
    assert monthly() == [{"period": earlier.strftime("%Y-%m"), "key": "online", "contacts": 1}]
    weekly = _get(client, supervisor, "/v1/history/stats", by="kind", group_by="week", **window).json_body["buckets"]
    assert weekly == [{"period": history.period_of(earlier.date().isoformat(), "week"), "key": "online", "contacts": 1}]


def test_stats_by_direction_counts_online_inbound_and_outbound(client, staff_token, team, now):
    """`by=direction` (the dashboard's listening-against-talking chart): online contacts only,
    amended direction moves the counters, street contacts are not counted."""
    officer = staff_token("officer", team=team)
    inbound = [_online(now - timedelta(hours=h)) for h in (1, 2, 3)]
    outbound = [_online(now - timedelta(hours=4), direction="outbound")]
    _sync(client, officer, [*inbound, *outbound, _street(now - timedelta(hours=5), 51.5, -0.14)])
    moved = client.http.patch(f"/v1/contacts/{inbound[0]['id']}", headers=bearer(officer),
                              body=json.dumps({"version": 1, "direction": "outbound"}))
    assert moved.status_code == 200, moved.json_body
    day = now.date().isoformat()
    response = _get(client, staff_token("supervisor", team=team), "/v1/history/stats", by="direction",
                    group_by="day", **{"from": day, "to": day})
    assert response.status_code == 200, response.json_body
    counts = {b["key"]: b["contacts"] for b in response.json_body["buckets"]}
    assert counts == {"inbound": 2, "outbound": 2}
