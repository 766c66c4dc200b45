"""PATCH /v1/contacts/{id} (versioned) and GET /v1/contacts/{id}/amendments (who, when, what)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import (
    access_entries,
    error_fields,
    footprint,
    get,
    iso,
    nonzero,
    online,
    patch,
    post,
    problem,
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


def test_amend_keeps_history_and_moves_counters(client, author_token, author, contact, team):
    day = contact["occurred_at"][:10]
    response = patch(client, author_token, contact["id"], {"version": 1, "topic": "drugs", "tags": ["follow-up"]})
    assert response.status_code == 200, response.body
    amended = response.json_body
    assert amended["version"] == 2 and amended["topic"] == "drugs" and amended["tags"] == ["follow-up"]
    assert amended["created_at"] == contact_created(client, author_token, contact["id"])
    counters = nonzero(team_counters(team))
    assert counters == recount(team)
    assert (f"team:{team}|topic", f"{day}|burglary") not in counters  # old bucket back to 0
    assert counters[(f"team:{team}|topic", f"{day}|drugs")] == 1
    assert team_counters(team)[(f"team:{team}|topic", f"{day}|burglary")] == 0
    assert counters[(f"team:{team}|kind", f"{day}|street")] == 1  # untouched dimensions stay

    history = get(client, author_token, f"/v1/contacts/{contact['id']}/amendments")
    assert history.status_code == 200
    (entry,) = history.json_body["items"]
    assert entry["version"] == 2 and entry["by"] == author and entry["by_role"] == "officer"
    assert entry["at"] == amended["updated_at"]
    changes = {c["field"]: (c["old"], c["new"]) for c in entry["changes"]}
    assert changes == {"topic": ("burglary", "drugs"), "tags": (["door-knock"], ["follow-up"])}
    actions = [e.action for e in access_entries(author)]
    assert actions.count("contact.amend") == 1 and "contact.amendments.read" in actions


def contact_created(client, token, contact_id):
    return get(client, token, f"/v1/contacts/{contact_id}").json_body["created_at"]


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


def test_successive_amendments_are_all_kept_oldest_first(client, author_token, contact):
    assert patch(client, author_token, contact["id"], {"version": 1, "outcome": "referred"}).status_code == 200
    assert patch(client, author_token, contact["id"], {"version": 2, "notes": None}).status_code == 200
    items = get(client, author_token, f"/v1/contacts/{contact['id']}/amendments").json_body["items"]
    assert [i["version"] for i in items] == [2, 3]
    assert items[1]["changes"] == [{"field": "notes", "old": contact["notes"], "new": None}]
    assert get(client, author_token, f"/v1/contacts/{contact['id']}").json_body.get("notes") is None


def test_stale_version_is_409_and_changes_nothing(client, author_token, author, contact, team):
    assert patch(client, author_token, contact["id"], {"version": 1, "outcome": "referred"}).status_code == 200
    before = footprint(team, author, [contact["id"]])
    response = patch(client, author_token, contact["id"], {"version": 1, "topic": "drugs"})
    assert response.status_code == 409
    problem(response)
    assert footprint(team, author, [contact["id"]]) == before
    assert get(client, author_token, f"/v1/contacts/{contact['id']}").json_body["topic"] == "burglary"


def test_future_version_is_409(client, author_token, contact):
    assert patch(client, author_token, contact["id"], {"version": 7, "topic": "drugs"}).status_code == 409


def test_supervisor_of_the_team_may_amend(client, staff_token, contact, team):
    sgt = f"sgt-{team}"
    response = patch(client, staff_token("supervisor", sub=sgt, team=team), contact["id"], {"version": 1, "outcome": "referred"})
    assert response.status_code == 200
    assert response.json_body["author"] != sgt  # authorship does not move
    items = get(client, staff_token("supervisor", sub=sgt, team=team), f"/v1/contacts/{contact['id']}/amendments").json_body["items"]
    assert items[0]["by"] == sgt and items[0]["by_role"] == "supervisor"


@pytest.mark.parametrize(("role", "same_team", "status"), [
    ("officer", True, 404), ("supervisor", False, 404), ("officer", False, 404),
    ("analyst", True, 403), ("admin", True, 403),
])
def test_others_may_not_amend_or_see_history(client, staff_token, author_token, contact, team, role, same_team, status):
    token = staff_token(role, team=team if same_team else f"other-{team}")
    response = patch(client, token, contact["id"], {"version": 1, "topic": "drugs"})
    assert response.status_code == status
    assert get(client, token, f"/v1/contacts/{contact['id']}/amendments").status_code == status
    assert get(client, author_token, f"/v1/contacts/{contact['id']}").json_body["version"] == 1


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


def test_patch_that_changes_nothing_keeps_the_version(client, author_token, contact):
    response = patch(client, author_token, contact["id"], {"version": 1, "topic": contact["topic"]})
    assert response.status_code == 200
    assert response.json_body["version"] == 1
    assert get(client, author_token, f"/v1/contacts/{contact['id']}/amendments").json_body["items"] == []


def test_amended_contact_still_answers_the_original_retry(client, author_token, contact):
    """The client's id + original content stays a retry after an amendment (sync can be late)."""
    assert patch(client, author_token, contact["id"], {"version": 1, "topic": "drugs"}).status_code == 200
    again = post(client, author_token, "/v1/contacts", contact)
    assert again.status_code == 200
    assert again.json_body["version"] == 2
