"""Alert lifecycle over HTTP: draft, approve (fan-out to the inbox), update, cancel, expiry, 422s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.alerting import (
    FakeChannel,
    circle,
    draft,
    inbox,
    post,
    publish,
    resident,
    spot,
    square,
    update_published,
    webpush_channel,
)
from tests.conftest import bearer


@pytest.fixture
def push(services_override) -> FakeChannel:
    channel = FakeChannel()
    services_override(channels={"webpush": channel, "sns": channel})
    return channel


def test_draft_approve_update_cancel_reach_the_same_audience(client, staff_token, team, push):
    lat, lon = spot()
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    _, inside = resident(client, [circle(lat, lon, 300)])
    web_channel = webpush_channel()
    _, _web = resident(client, [square(lat + 0.004, lon, 0.003)], web_channel)
    _, outside = resident(client, [circle(lat + 0.2, lon, 300)])

    drafted = draft(client, officer, square(lat, lon, 0.005))
    assert drafted.status_code == 201, drafted.body
    assert drafted.json_body["status"] == "draft"
    alert_id = drafted.json_body["id"]
    assert inbox(client, inside) == []

    approved = post(client, f"/v1/alerts/{alert_id}/approve", supervisor)
    assert approved.status_code == 200, approved.body
    assert approved.json_body["status"] == "published"
    assert [i["msg_type"] for i in inbox(client, inside)] == ["Alert"]
    assert inbox(client, outside) == []
    assert len(push.sent_to(web_channel["subscription"]["endpoint"])) == 1

    figures = client.http.get(f"/v1/alerts/{alert_id}", headers=bearer(officer)).json_body["delivery"]
    assert figures == {"targeted": 2, "sent": 2, "failed": 0, "read": 0, "responses": 0}

    # A resident who subscribes after publication is not part of the Update's audience.
    _, late = resident(client, [circle(lat, lon, 300)])
    second = staff_token("supervisor", team=team)
    updated = update_published(client, supervisor, second, alert_id, {"headline": "Arrests made on Elm Street"})
    assert updated.json_body["msg_type"] == "Update" and updated.json_body["revision"] == 1
    items = inbox(client, inside)
    assert [i["msg_type"] for i in items] == ["Update", "Alert"]
    assert items[0]["headline"] == "Arrests made on Elm Street"
    assert inbox(client, late) == []

    cancelled = post(client, f"/v1/alerts/{alert_id}/cancel", supervisor)
    assert cancelled.status_code == 200
    assert cancelled.json_body["status"] == "cancelled"
    assert [i["msg_type"] for i in inbox(client, inside)] == ["Cancel", "Update", "Alert"]
    assert [n.msg_type for n in push.sent_to(web_channel["subscription"]["endpoint"])] == ["Alert", "Update", "Cancel"]

    for action in ("approve", "update", "cancel"):
        response = post(client, f"/v1/alerts/{alert_id}/{action}", supervisor, {"headline": "x"} if action == "update" else None)
        assert response.status_code == 422, (action, response.body)
        assert response.headers["Content-Type"] == "application/problem+json"
    public = client.http.get(f"/v1/public/alerts?lat={lat}&lon={lon}").json_body["items"]
    assert alert_id not in [a["id"] for a in public]


def test_expired_alerts_refuse_changes_and_stop_showing(client, staff_token, team, services_override):
    lat, lon = spot()
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    _, token = resident(client, [circle(lat, lon, 300)])
    soon = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    alert_id = publish(client, officer, supervisor, square(lat, lon, 0.005), expires_at=soon)
    assert [a["id"] for a in client.http.get(f"/v1/public/alerts?lat={lat}&lon={lon}").json_body["items"]] == [alert_id]
    assert len(inbox(client, token)) == 1

    later = datetime.now(UTC) + timedelta(minutes=20)
    services_override(clock=lambda: later)
    got = client.http.get(f"/v1/alerts/{alert_id}", headers=bearer(officer))
    assert got.json_body["status"] == "expired"
    assert post(client, f"/v1/alerts/{alert_id}/update", supervisor, {"headline": "Too late"}).status_code == 422
    assert post(client, f"/v1/alerts/{alert_id}/cancel", supervisor).status_code == 422
    assert client.http.get(f"/v1/public/alerts?lat={lat}&lon={lon}").json_body["items"] == []
    assert client.http.get(f"/v1/public/alerts/{alert_id}.cap").status_code == 404
    assert inbox(client, token) == []
    expired = client.http.get("/v1/alerts?status=expired", headers=bearer(officer)).json_body["items"]
    assert [a["id"] for a in expired] == [alert_id]
    assert client.http.get("/v1/alerts?status=published", headers=bearer(officer)).json_body["items"] == []


def test_approval_rules(client, staff_token, team):
    lat, lon = spot()
    author = staff_token("supervisor", team=team)
    drafted = draft(client, author, square(lat, lon))
    alert_id = drafted.json_body["id"]
    assert post(client, f"/v1/alerts/{alert_id}/approve", author).status_code == 403
    assert post(client, f"/v1/alerts/{alert_id}/approve", staff_token("officer", team=team)).status_code == 403
    assert post(client, f"/v1/alerts/{alert_id}/approve", staff_token("supervisor", team="other-team")).status_code == 404
    assert post(client, f"/v1/alerts/{alert_id}/update", staff_token("supervisor", team=team), {"headline": "x"}).status_code == 422
    approved = post(client, f"/v1/alerts/{alert_id}/approve", staff_token("supervisor", team=team))
    assert approved.status_code == 200
    assert approved.json_body["approved_by"] != approved.json_body["author"]


def test_draft_validation(client, staff_token, team):
    lat, lon = spot()
    officer = staff_token("officer", team=team)
    assert draft(client, officer, square(lat, lon), severity="Bad").status_code == 400
    assert draft(client, officer, square(lat, lon), category="security").status_code == 400
    past = draft(client, officer, square(lat, lon), expires_at="2020-01-01T00:00:00Z")
    assert past.status_code == 400 and past.json_body["errors"][0]["field"] == "expires_at"
    assert draft(client, officer, {"area_id": "6a3f0b56-1111-4111-8111-111111111111"}).status_code == 400
    same_language = draft(client, officer, square(lat, lon), translations={"en-GB": {"headline": "h", "description": "d"}})
    assert same_language.status_code == 400
    huge = draft(client, officer, square(lat, lon, 1.0))
    assert huge.status_code == 400 and huge.json_body["errors"][0]["field"] == "area"


def test_area_of_another_team_is_forbidden(client, staff_token, team):
    import json
    import uuid

    lat, lon = spot()
    area_id = str(uuid.uuid4())
    put = client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin")),
                          body=json.dumps({"name": "Elm", "team": "someone-else", "geometry": square(lat, lon)}))
    assert put.status_code == 201
    assert draft(client, staff_token("officer", team=team), {"area_id": area_id}).status_code == 403
    own = str(uuid.uuid4())
    client.http.put(f"/v1/areas/{own}", headers=bearer(staff_token("admin")),
                    body=json.dumps({"name": "Oak", "team": team, "geometry": square(lat, lon)}))
    drafted = draft(client, staff_token("officer", team=team), {"area_id": own})
    assert drafted.status_code == 201
    assert drafted.json_body["area"]["name"] == "Oak"


def test_team_list_is_own_team_only(client, staff_token, team):
    lat, lon = spot()
    mine = draft(client, staff_token("officer", team=team), square(lat, lon)).json_body["id"]
    draft(client, staff_token("officer", team=team + "-other"), square(lat, lon))
    listed = client.http.get("/v1/alerts?status=draft", headers=bearer(staff_token("supervisor", team=team)))
    assert [a["id"] for a in listed.json_body["items"]] == [mine]
    other = staff_token("officer", team=team + "-other")
    assert client.http.get(f"/v1/alerts/{mine}", headers=bearer(other)).status_code == 404


def test_alert_list_and_inbox_paginate(client, staff_token, team, services_override):
    import itertools

    ticks = itertools.count()
    start = datetime.now(UTC)
    # Times are kept to the second: a ticking clock makes "newest first" observable.
    services_override(channels={}, clock=lambda: start + timedelta(seconds=next(ticks)))
    lat, lon = spot()
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    _, token = resident(client, [circle(lat, lon, 300)])
    ids = [publish(client, officer, supervisor, square(lat, lon, 0.01), headline=f"Alert {i}") for i in range(3)]
    first = client.http.get("/v1/alerts?status=published&limit=2", headers=bearer(officer)).json_body
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.http.get(f"/v1/alerts?status=published&limit=2&cursor={first['next_cursor']}", headers=bearer(officer)).json_body
    assert sorted(a["id"] for a in first["items"] + second["items"]) == sorted(ids)
    other_query = client.http.get(f"/v1/alerts?status=draft&limit=2&cursor={first['next_cursor']}", headers=bearer(officer))
    assert other_query.status_code == 400  # cursors are bound to their query
    page = client.http.get("/v1/subscribers/me/inbox?limit=2", headers=bearer(token)).json_body
    assert [i["headline"] for i in page["items"]] == ["Alert 2", "Alert 1"]
    rest = client.http.get(f"/v1/subscribers/me/inbox?limit=2&cursor={page['next_cursor']}", headers=bearer(token)).json_body
    assert [i["headline"] for i in rest["items"]] == ["Alert 0"]
