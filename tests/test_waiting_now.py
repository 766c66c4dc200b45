"""GET /v1/history/waiting: conversations waiting for a team answer now and the day the oldest wait
began, from the open-wait gauge written with the messages (the dashboard's headline; issue 21)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import fixed_clock
from chalicelib.domain import conversations as rules
from tests.alerting import register, spot
from tests.conftest import bearer
from tests.test_conversations import make_area, start_body

PURPOSE = "purpose=backlog+review"


@pytest.fixture
def place(client, staff_token, team):
    lat, lon = spot()
    return {"area_id": make_area(client, staff_token, team, lat, lon), "team": team}


def _post(client: Any, token: str, path: str, body: Any) -> Any:
    return client.http.post(path, headers=bearer(token), body=json.dumps(body))


def _waiting(client: Any, token: str, query: str = "") -> Any:
    return client.http.get(f"/v1/history/waiting?{PURPOSE}{query}", headers=bearer(token))


def test_waits_open_now_and_the_oldest_follow_answers_closes_and_reopening(client, staff_token, place, services_override):
    team = place["team"]
    day1 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    services_override(clock=fixed_clock(day1), channels={})
    _, resident = register(client)
    first = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    day2 = day1 + timedelta(days=1)
    services_override(clock=fixed_clock(day2), channels={})
    second = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    third = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    # another message on a waiting conversation is the same wait: counted once
    assert _post(client, resident, f"/v1/conversations/{first}/messages", {"id": str(uuid.uuid4()), "text": "Still loud"}).status_code == 201
    supervisor = staff_token("supervisor", team=team)
    answer = _waiting(client, supervisor).json_body
    assert (answer["waiting"], answer["oldest_waiting_since"]) == (3, day1.date().isoformat())
    assert answer["teams"] == [{"team": team, "waiting": 3, "oldest_waiting_since": day1.date().isoformat()}]
    assert answer["as_of"] == day2.strftime("%Y-%m-%dT%H:%M:%SZ")

    officer = staff_token("officer", team=team)
    assert _post(client, officer, f"/v1/conversations/{first}/messages", {"id": str(uuid.uuid4()), "text": "On it"}).status_code == 201
    assert _post(client, supervisor, f"/v1/conversations/{second}/close", {"outcome": "advice_given"}).status_code == 200
    answer = _waiting(client, supervisor).json_body
    assert (answer["waiting"], answer["oldest_waiting_since"]) == (1, day2.date().isoformat())
    # the resident writes again after the answer: a new wait, begun today
    day3 = day2 + timedelta(days=1)
    services_override(clock=fixed_clock(day3), channels={})
    assert _post(client, resident, f"/v1/conversations/{first}/messages", {"id": str(uuid.uuid4()), "text": "Back again"}).status_code == 201
    analyst = staff_token("analyst", team=None)
    mine = _waiting(client, analyst, f"&team={team}").json_body
    assert (mine["waiting"], mine["oldest_waiting_since"]) == (2, day2.date().isoformat())
    # force-wide (leaders too): this team's row among the others, counts only
    leader = _waiting(client, staff_token("leader", team=None)).json_body
    assert {"team": team, "waiting": 2, "oldest_waiting_since": day2.date().isoformat()} in leader["teams"]
    assert leader["waiting"] == sum(t["waiting"] for t in leader["teams"]) >= 2
    assert third not in json.dumps(leader) and "loud" not in json.dumps(leader).lower()


def test_waiting_is_for_figure_roles_with_a_purpose(client, staff_token, team):
    supervisor = staff_token("supervisor", team=team)
    assert _waiting(client, supervisor, "&team=someone-else").status_code == 403
    assert _waiting(client, staff_token("officer", team=team)).status_code == 403
    no_purpose = client.http.get("/v1/history/waiting", headers=bearer(supervisor))
    assert no_purpose.status_code == 400 and no_purpose.headers["Content-Type"] == "application/problem+json"
    assert client.http.get(f"/v1/history/waiting?{PURPOSE}&extra=1", headers=bearer(supervisor)).status_code == 400
    fresh = _waiting(client, supervisor).json_body
    assert (fresh["waiting"], fresh["oldest_waiting_since"], fresh["teams"]) == (0, None, [])


@pytest.mark.no_database
def test_the_gauge_counts_each_wait_once_in_the_day_it_began():
    began = "2026-12-28T09:00:00Z"
    conv = rules.Conversation(
        id="c1", team="north", owner="s1", area_id="a1", alert_id=None, topic="noise", status="waiting",
        created_at=began, last_message_at=began, version=1, content_digest="d",
        expires_at=datetime(2029, 1, 1, tzinfo=UTC), waiting_since=began)
    keys = {("conv|waits", "2026-12-28|north"): 1, ("conv|team:north|waits", "2026-12-28|north"): 1}
    assert rules.wait_gauge(None, conv) == keys
    assert rules.wait_gauge(conv, replace(conv, last_message_at="2026-12-29T09:00:00Z")) == {}  # same wait
    answered = replace(conv, status="answered", waiting_since=None)
    assert rules.wait_gauge(conv, answered) == {k: -1 for k in keys}  # in the day it began, not today
    assert rules.figure_deltas(conv, answered, "2027-01-04T10:00:00Z")[("conv|waits", "2026-12-28|north")] == -1
    assert rules.wait_gauge(answered, replace(answered, status="closed")) == {}
    out = rules.waiting_now([("2026-12-27|south", 0), ("2026-12-28|north", 2), ("2026-12-29|south", 1)], "now")
    assert (out.waiting, out.oldest_waiting_since) == (3, "2026-12-28")
    assert [(t.team, t.waiting, t.oldest_waiting_since) for t in out.teams] == [("north", 2, "2026-12-28"), ("south", 1, "2026-12-29")]
