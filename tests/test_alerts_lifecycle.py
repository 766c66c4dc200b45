"""Alerts over HTTP: draft validation (400s), named areas of another team, list and inbox cursors.
The lifecycle and approval rules are tests/test_alert_rules.py, on fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.alerting import (
    circle,
    draft,
    publish,
    resident,
    spot,
    square,
)
from tests.conftest import bearer


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
