"""PATCH /v1/contacts/{id} over HTTP: counters by day and cell on DynamoDB, bad patches (400s), online
handles as pseudonyms. The versioning, history and who-may rules are tests/test_contact_rules.py, on fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import (
    error_fields,
    footprint,
    get,
    iso,
    nonzero,
    online,
    patch,
    post,
    recount,
    street,
    team_counters,
)


@pytest.fixture
def author(team):
    return f"pc-amend-{team}"


@pytest.fixture
def author_token(staff_token, author, team):
    return staff_token("officer", sub=author, team=team)


@pytest.fixture
def contact(client, author_token):
    body = street()
    assert post(client, author_token, "/v1/contacts", body).status_code == 201
    return body


def test_moving_the_day_and_location_moves_day_and_cell_counters(client, author_token, contact, team):
    new_time = iso(datetime.now(UTC) - timedelta(days=3))
    body = {"version": 1, "occurred_at": new_time, "location": {"lat": 53.4808, "lon": -2.2426}}
    response = patch(client, author_token, contact["id"], body)
    assert response.status_code == 200, response.body
    assert response.json_body["cell"] != contact_cell_of(contact)
    counters = nonzero(team_counters(team))
    assert counters == recount(team)
    assert all(bucket.startswith(new_time[:10]) for (_, bucket) in counters)


def contact_cell_of(body):
    import h3

    return h3.latlng_to_cell(body["location"]["lat"], body["location"]["lon"], 9)


BAD_PATCHES = [
    ({"topic": "drugs"}, "version"),
    ({"version": 0, "topic": "drugs"}, "version"),
    ({"version": 1, "topic": "parking"}, "topic"),
    ({"version": 1, "platform": "x"}, "platform"),  # street contact
    ({"version": 1, "kind": "online"}, "kind"),  # kind never changes
    ({"version": 1, "id": "00000000-0000-0000-0000-000000000000"}, "id"),
    ({"version": 1, "location": {"lat": 91, "lon": 0}}, "location.lat"),
    ({"version": 1, "occurred_at": "2001-01-01T00:00:00Z"}, "occurred_at"),
    ({"version": 1, "notes": "n" * 501}, "notes"),
    ({"version": 1, "author": "someone-else"}, "author"),
]


@pytest.mark.parametrize(("body", "field"), BAD_PATCHES, ids=[json.dumps(b)[:40] for b, _ in BAD_PATCHES])
def test_bad_patch_is_400_and_changes_nothing(client, author_token, author, contact, team, body, field):
    before = footprint(team, author, [contact["id"]])
    response = patch(client, author_token, contact["id"], body)
    assert response.status_code == 400, response.body
    assert field in error_fields(response)
    assert footprint(team, author, [contact["id"]]) == before
    assert get(client, author_token, f"/v1/contacts/{contact['id']}").json_body["version"] == 1


def test_online_handle_change_is_recorded_as_pseudonyms(client, staff_token, team):
    token = staff_token("officer", team=team)
    body = online(handle="@first_handle")
    created = post(client, token, "/v1/contacts", body).json_body
    response = patch(client, token, body["id"], {"version": 1, "handle": "@second_handle"})
    assert response.status_code == 200
    history = get(client, token, f"/v1/contacts/{body['id']}/amendments")
    assert b"first_handle" not in history.body and b"second_handle" not in history.body
    (change,) = history.json_body["items"][0]["changes"]
    assert change["field"] == "handle_pseudonym"
    assert change["old"] == created["handle_pseudonym"] and change["new"].startswith("hdl_")


def test_platform_change_needs_the_handle_again(client, staff_token, team):
    token = staff_token("officer", team=team)
    body = online()
    assert post(client, token, "/v1/contacts", body).status_code == 201
    response = patch(client, token, body["id"], {"version": 1, "platform": "x"})
    assert response.status_code == 400
    assert error_fields(response) == ["handle"]
    ok = patch(client, token, body["id"], {"version": 1, "platform": "x", "handle": body["handle"]})
    assert ok.status_code == 200
    day = body["occurred_at"][:10]
    counters = nonzero(team_counters(team))
    assert counters == recount(team)
    assert counters[(f"team:{team}|platform", f"{day}|x")] == 1


