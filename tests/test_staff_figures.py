"""GET /v1/staff/me/figures on DynamoDB Local: the caller's own counts this week and month, and
nothing of anyone else's (another officer's contacts, alerts and answers are never counted; no
parameter names another member of staff)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.alerting import draft, register, spot, square
from tests.conftest import bearer
from tests.support import online, recent, street
from tests.test_conversations import make_area, start_body


def _post(client: Any, token: str, path: str, body: Any) -> Any:
    return client.http.post(path, headers=bearer(token), body=json.dumps(body))


def _figures(client: Any, token: str, query: str = "") -> Any:
    return client.http.get(f"/v1/staff/me/figures{query}", headers=bearer(token))


def test_own_figures_count_only_the_callers_work(client, staff_token, team, services_override):
    services_override(channels={})
    me = staff_token("officer", sub=f"pc-me-{uuid.uuid4().hex[:6]}", team=team)
    other = staff_token("officer", sub=f"pc-other-{uuid.uuid4().hex[:6]}", team=team)
    now = recent(hours=1 / 120)  # 30 s ago: in this week and month (but in the first 30 s of one)
    mine = [street(occurred_at=now), street(occurred_at=now), online(occurred_at=now, direction="outbound"),
            online(occurred_at=now)]
    for token, contacts in ((me, mine), (other, [street(occurred_at=now), online(occurred_at=now, direction="outbound")])):
        for body in contacts:
            assert _post(client, token, "/v1/contacts", body).status_code == 201
    lat, lon = spot()
    area = make_area(client, staff_token, team, lat, lon)
    assert draft(client, me, square(lat, lon)).status_code == 201
    assert draft(client, other, square(lat, lon)).status_code == 201
    assert draft(client, other, square(lat, lon)).status_code == 201
    _, resident = register(client)
    conv = start_body(area)
    assert _post(client, resident, "/v1/conversations", conv).status_code == 201
    for token in (me, me, other):  # two answers of mine to one conversation, one of the other officer's
        assert _post(client, token, f"/v1/conversations/{conv['id']}/messages",
                     {"id": str(uuid.uuid4()), "text": "On it"}).status_code == 201

    response = _figures(client, me)
    assert response.status_code == 200, response.body
    body = response.json_body
    for grain in ("week", "month"):  # the conversation answers are online outbound contacts too
        assert body[grain]["contacts"] == {"street": 2, "online": 4, "online_outbound": 3}
        assert (body[grain]["conversations_answered"], body[grain]["alerts_drafted"]) == (1, 1)
        assert body[grain]["team_signups"] == 0
    assert body["complete"] is True
    assert body["month"]["period"] == body["month"]["from"][:7]
    other_figures = _figures(client, other).json_body["month"]
    assert (other_figures["conversations_answered"], other_figures["alerts_drafted"]) == (1, 2)


def test_no_parameter_reaches_another_members_figures(client, staff_token, team):
    me = staff_token("officer", team=team)
    for query in ("?sub=pc-other", "?author=pc-other", "?team=other", "?period=week"):
        assert _figures(client, me, query).status_code == 400
    assert client.http.get("/v1/staff/pc-other/figures", headers=bearer(me)).status_code in (403, 404)
    assert _figures(client, staff_token("analyst", team=None)).status_code == 403
    assert _figures(client, staff_token("officer", team=None)).status_code == 403


def test_a_door_signup_counts_for_the_areas_team_and_names_nobody(client, staff_token, team, services_override):
    services_override(channels={})
    lat, lon = spot()
    area = make_area(client, staff_token, team, lat, lon)
    officer = staff_token("officer", team=team)
    headers = {"Content-Type": "application/json"}
    body = {"channel": {"type": "inbox"}, "signup": {"via": "team", "area_id": area}}
    registered = client.http.post("/v1/subscribers", headers=headers, body=json.dumps(body))
    assert registered.status_code == 201, registered.body
    me = client.http.get("/v1/subscribers/me", headers=bearer(registered.json_body["token"])).json_body
    assert "signup" not in me and team not in json.dumps(me)  # nothing of where it came from is kept
    bad = client.http.post("/v1/subscribers", headers=headers, body=json.dumps(
        {**body, "signup": {"via": "team", "area_id": str(uuid.uuid4())}}))
    assert bad.status_code == 400 and [e["field"] for e in bad.json_body["errors"]] == ["signup.area_id"]
    assert client.http.post("/v1/subscribers", headers=headers, body=json.dumps(
        {**body, "signup": {"via": "team", "area_id": area, "officer": "pc-1"}})).status_code == 400
    figures = _figures(client, officer).json_body
    assert (figures["week"]["team_signups"], figures["month"]["team_signups"]) == (1, 1)
    other_team = staff_token("officer", team=f"other-{uuid.uuid4().hex[:6]}")
    assert _figures(client, other_team).json_body["month"]["team_signups"] == 0
