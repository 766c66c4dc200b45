"""POST /v1/contacts: create, idempotent retry, conflicts, and what is stored."""

from __future__ import annotations

import json
import uuid

from tests.support import (
    access_entries,
    error_fields,
    footprint,
    get,
    nonzero,
    online,
    patch,
    post,
    problem,
    recent,
    recount,
    street,
    team_contacts,
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


def test_identical_retry_is_200_and_writes_nothing(client, staff_token, team):
    token = staff_token("officer", sub=f"pc-retry-{team}", team=team)
    body = street()
    first = post(client, token, "/v1/contacts", body)
    assert first.status_code == 201
    before = footprint(team, f"pc-retry-{team}", [body["id"]])
    for _ in range(3):
        again = post(client, token, "/v1/contacts", body)
        assert again.status_code == 200, again.body
        assert again.json_body == first.json_body
    assert footprint(team, f"pc-retry-{team}", [body["id"]]) == before
    assert nonzero(team_counters(team)) == recount(team)
    assert len(team_contacts(team)) == 1


def test_retry_after_an_amendment_returns_it_and_logs_the_read(client, staff_token, team):
    sub = f"pc-retry-amended-{team}"
    token = staff_token("officer", sub=sub, team=team)
    body = street()
    assert post(client, token, "/v1/contacts", body).status_code == 201
    supervisor = staff_token("supervisor", team=team)
    assert patch(client, supervisor, body["id"], {"version": 1, "topic": "drugs"}).status_code == 200
    reads_before = [e for e in access_entries(sub) if e.action == "contact.read"]
    again = post(client, token, "/v1/contacts", body)
    assert again.status_code == 200
    assert again.json_body["topic"] == "drugs" and again.json_body["version"] == 2
    reads_after = [e for e in access_entries(sub) if e.action == "contact.read"]
    assert len(reads_after) == len(reads_before) + 1
    assert reads_after[-1].record_id == body["id"]


def test_retry_with_same_instant_in_another_offset_is_still_a_retry(client, staff_token, team):
    token = staff_token("officer", team=team)
    body = street(occurred_at=recent(2))
    assert post(client, token, "/v1/contacts", body).status_code == 201
    from datetime import datetime, timedelta, timezone

    moment = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
    shifted = moment.astimezone(timezone(timedelta(hours=1))).isoformat()
    again = post(client, token, "/v1/contacts", {**body, "occurred_at": shifted})
    assert again.status_code == 200, again.body


def test_same_id_other_content_is_409_and_changes_nothing(client, staff_token, team):
    token = staff_token("officer", sub=f"pc-conflict-{team}", team=team)
    body = street()
    assert post(client, token, "/v1/contacts", body).status_code == 201
    before = footprint(team, f"pc-conflict-{team}", [body["id"]])
    response = post(client, token, "/v1/contacts", {**body, "topic": "drugs"})
    assert response.status_code == 409
    assert problem(response)["title"] == "Conflict"
    assert footprint(team, f"pc-conflict-{team}", [body["id"]]) == before
    stored = get(client, token, f"/v1/contacts/{body['id']}").json_body
    assert stored["topic"] == "burglary"


def test_same_id_same_content_by_another_officer_is_409(client, staff_token, team):
    body = street()
    assert post(client, staff_token("officer", sub=f"pc-a-{team}", team=team), "/v1/contacts", body).status_code == 201
    other = staff_token("officer", sub=f"pc-b-{team}", team=team)
    response = post(client, other, "/v1/contacts", body)
    assert response.status_code == 409
    assert b"burglary" not in response.body  # nothing of the existing contact leaks
    assert access_entries(f"pc-b-{team}") == []
    assert nonzero(team_counters(team)) == recount(team)


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
