"""POST /v1/contacts over HTTP: what is stored (cell, counters, pseudonyms, TTL), roles, one round trip.
Idempotent retries and conflicts are tests/test_contact_rules.py, on fakes."""

from __future__ import annotations

import json
import uuid

from tests.support import (
    access_entries,
    error_fields,
    nonzero,
    online,
    post,
    problem,
    recount,
    street,
    team_counters,
)


def test_create_street_contact_returns_201_with_cell_and_counters(client, staff_token, team):
    token = staff_token("officer", sub=f"pc-create-1-{team}", team=team)
    body = street()
    response = post(client, token, "/v1/contacts", body)
    assert response.status_code == 201, response.body
    out = response.json_body
    assert out["id"] == body["id"]
    assert out["author"] == f"pc-create-1-{team}"
    assert out["team"] == team
    assert out["version"] == 1
    assert out["location"] == body["location"]
    assert out["cell"].startswith("89")  # resolution 9 H3 cells start with 0x89
    import h3

    assert h3.get_resolution(out["cell"]) == 9
    counters = nonzero(team_counters(team))
    assert counters == recount(team)
    day = body["occurred_at"][:10]
    assert counters[(f"team:{team}|topic", f"{day}|burglary")] == 1
    assert counters[(f"team:{team}|kind", f"{day}|street")] == 1
    assert counters[("force|team", f"{day}|{team}")] == 1
    coarse = h3.cell_to_parent(out["cell"], 7)
    assert counters[(f"team:{team}|cell", f"{day}|{coarse}")] == 1
    actions = [e.action for e in access_entries(f"pc-create-1-{team}")]
    assert actions == ["contact.create"]


def test_online_handle_is_stored_only_as_a_pseudonym(client, staff_token, team):
    token = staff_token("officer", team=team)
    body = online(handle="@Some.Resident")
    response = post(client, token, "/v1/contacts", body)
    assert response.status_code == 201, response.body
    out = response.json_body
    assert "handle" not in out
    assert out["handle_pseudonym"].startswith("hdl_")
    from chalicelib.store.models import ContactModel

    raw = ContactModel.get(body["id"]).to_simple_dict()
    assert "some.resident" not in json.dumps(raw).lower()
    # the same handle (case, @ and spaces aside) on the same platform maps to the same pseudonym
    again = post(client, token, "/v1/contacts", online(handle=" some.resident "))
    assert again.json_body["handle_pseudonym"] == out["handle_pseudonym"]
    other_platform = post(client, token, "/v1/contacts", online(handle="@Some.Resident", platform="x"))
    assert other_platform.json_body["handle_pseudonym"] != out["handle_pseudonym"]


def test_contact_carries_ttl_from_retention(client, staff_token, team):
    from chalicelib.settings import SETTINGS
    from chalicelib.store.models import ContactModel

    body = street()
    assert post(client, staff_token("officer", team=team), "/v1/contacts", body).status_code == 201
    stored = ContactModel.get(body["id"])
    from datetime import datetime

    occurred = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
    assert (stored.expires_at - occurred).days == SETTINGS.contact_retention_days


def test_supervisor_may_log_contacts(client, staff_token, team):
    response = post(client, staff_token("supervisor", team=team), "/v1/contacts", street())
    assert response.status_code == 201


def test_staff_without_team_cannot_log(client, staff_token):
    response = post(client, staff_token("officer", team=None), "/v1/contacts", street())
    assert response.status_code == 403
    problem(response)


def test_analyst_and_admin_cannot_log(client, staff_token, team):
    for role in ("analyst", "admin"):
        response = post(client, staff_token(role, team=team), "/v1/contacts", street())
        assert response.status_code == 403, role


def test_response_carries_request_id(client, staff_token, team):
    response = post(client, staff_token("officer", team=team), "/v1/contacts", street())
    assert uuid.UUID(response.headers["X-Request-Id"])
    bad = post(client, staff_token("officer", team=team), "/v1/contacts", {"nope": 1})
    assert problem(bad)["request_id"] == bad.headers["X-Request-Id"]
    assert error_fields(bad)


def test_create_and_identical_retry_are_one_round_trip_each(client, staff_token, team):
    from tests.support import DynamoCalls

    token = staff_token("officer", team=team)
    # The officer's first contact of the day also settles the engagement counters (a second
    # round trip, docs/history.md "Engagement"); every later create is one.
    assert post(client, token, "/v1/contacts", street()).status_code == 201
    body = street()
    with DynamoCalls() as calls:
        assert post(client, token, "/v1/contacts", body).status_code == 201
    assert calls.operations == ["TransactWriteItems"]
    with DynamoCalls() as calls:
        assert post(client, token, "/v1/contacts", body).status_code == 200
    assert calls.operations == ["TransactWriteItems"]  # the existing item came back with the cancellation
