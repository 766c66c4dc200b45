"""Who may read what: GET /v1/contacts/{id} and GET /v1/contacts (own, team=mine, cursors)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import access_entries, error_fields, get, iso, online, post, problem, street


@pytest.fixture
def logged(client, staff_token, team):
    """A contact logged by an officer of `team`."""
    author = f"pc-author-{team}"
    body = street()
    assert post(client, staff_token("officer", sub=author, team=team), "/v1/contacts", body).status_code == 201
    return {"id": body["id"], "author": author, "team": team}


def test_author_reads_own_contact_and_the_read_is_logged(client, staff_token, logged):
    token = staff_token("officer", sub=logged["author"], team=logged["team"])
    response = get(client, token, f"/v1/contacts/{logged['id']}")
    assert response.status_code == 200
    assert response.json_body["id"] == logged["id"]
    reads = [e for e in access_entries(logged["author"]) if e.action == "contact.read"]
    assert [e.record_id for e in reads] == [logged["id"]]
    assert reads[0].role == "officer" and reads[0].request_id == response.headers["X-Request-Id"]


def test_uppercase_id_reads_the_same_contact(client, staff_token, logged):
    token = staff_token("officer", sub=logged["author"], team=logged["team"])
    assert get(client, token, f"/v1/contacts/{logged['id'].upper()}").status_code == 200


def test_team_supervisor_reads_team_contact(client, staff_token, logged):
    supervisor = f"sgt-{logged['team']}"
    response = get(client, staff_token("supervisor", sub=supervisor, team=logged["team"]), f"/v1/contacts/{logged['id']}")
    assert response.status_code == 200
    assert response.json_body["notes"]  # supervisors read team contacts in full
    assert [e.action for e in access_entries(supervisor)] == ["contact.read"]


@pytest.mark.parametrize(
    ("role", "same_team", "status"),
    [
        ("officer", True, 404),      # another officer of the same team: not theirs
        ("officer", False, 404),
        ("supervisor", False, 404),  # another team's supervisor
        ("analyst", True, 403),      # analysts use the history API, never raw contacts
        ("admin", True, 403),
        ("resident", True, 403),     # not a staff role: the token carries no usable role
        ("wizard", True, 403),
    ],
)
def test_others_may_not_read(client, staff_token, logged, role, same_team, status):
    reader = f"reader-{uuid.uuid4().hex[:8]}"
    team = logged["team"] if same_team else f"other-{logged['team']}"
    response = get(client, staff_token(role, sub=reader, team=team), f"/v1/contacts/{logged['id']}")
    assert response.status_code == status
    assert b"burglary" not in response.body
    problem(response)
    assert access_entries(reader) == []


def test_unknown_and_malformed_ids_are_404(client, staff_token, team):
    token = staff_token("officer", team=team)
    assert get(client, token, f"/v1/contacts/{uuid.uuid4()}").status_code == 404
    assert get(client, token, "/v1/contacts/not-a-uuid").status_code == 404


def _log_many(client, token, count, start_hours=1.0, **overrides):
    ids = []
    for i in range(count):
        body = street(occurred_at=iso(datetime.now(UTC) - timedelta(hours=start_hours + i)), **overrides)
        assert post(client, token, "/v1/contacts", body).status_code == 201
        ids.append(body["id"])
    return ids  # newest first


def test_list_own_newest_first_with_pagination(client, staff_token, team):
    actor = f"pc-list-{team}"
    token = staff_token("officer", sub=actor, team=team)
    ids = _log_many(client, token, 5)
    _log_many(client, staff_token("officer", team=team), 2)  # a colleague's contacts are not listed
    seen, cursor, pages = [], None, 0
    while True:
        path = "/v1/contacts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = get(client, token, path)
        assert response.status_code == 200, response.body
        page = response.json_body
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    assert pages == 3
    lists = [e for e in access_entries(actor) if e.action == "contact.list"]
    assert len(lists) == 3 and lists[0].row_count in (1, 2)


def test_list_filters_by_kind_and_time(client, staff_token, team):
    token = staff_token("officer", team=team)
    street_ids = _log_many(client, token, 3)
    online_body = online()
    assert post(client, token, "/v1/contacts", online_body).status_code == 201
    only_online = get(client, token, "/v1/contacts?kind=online").json_body
    assert [i["id"] for i in only_online["items"]] == [online_body["id"]]
    only_street = get(client, token, "/v1/contacts?kind=street&limit=2")
    page1 = only_street.json_body
    assert [i["id"] for i in page1["items"]] == street_ids[:2]
    page2 = get(client, token, f"/v1/contacts?kind=street&limit=2&cursor={page1['next_cursor']}").json_body
    assert [i["id"] for i in page2["items"]] == street_ids[2:]
    since = iso(datetime.now(UTC) - timedelta(hours=1.5))
    recent = get(client, token, f"/v1/contacts?from={since}&kind=street").json_body
    assert [i["id"] for i in recent["items"]] == street_ids[:1]


def test_team_mine_for_supervisor_lists_the_team(client, staff_token, team):
    a = _log_many(client, staff_token("officer", team=team), 2)
    b = _log_many(client, staff_token("officer", team=team), 1, start_hours=0.5)
    _log_many(client, staff_token("officer", team=f"x-{team}"), 1)
    response = get(client, staff_token("supervisor", team=team), "/v1/contacts?team=mine")
    assert response.status_code == 200
    assert {i["id"] for i in response.json_body["items"]} == set(a + b)
    assert response.json_body["items"][0]["id"] == b[0]


def test_team_mine_is_403_for_an_officer(client, staff_token, team):
    response = get(client, staff_token("officer", team=team), "/v1/contacts?team=mine")
    assert response.status_code == 403
    problem(response)


@pytest.mark.parametrize("role", ["analyst", "admin", "resident"])
def test_list_is_403_for_other_roles(client, staff_token, team, role):
    assert get(client, staff_token(role, team=team), "/v1/contacts").status_code == 403


def test_tampered_cursor_is_400(client, staff_token, team):
    token = staff_token("officer", team=team)
    _log_many(client, token, 3)
    cursor = get(client, token, "/v1/contacts?limit=1").json_body["next_cursor"]
    body, signature = cursor.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{flipped}.{signature}", f"{body}.{signature[:-1]}", "garbage", "a.b.c", "é.é", f"{body}.é"):
        response = get(client, token, f"/v1/contacts?limit=1&cursor={bad}")
        assert response.status_code == 400, (bad, response.body)
        assert error_fields(response) == ["cursor"]


def test_cursor_replayed_with_other_filters_or_caller_is_400(client, staff_token, team):
    actor = f"pc-cur-{team}"
    token = staff_token("officer", sub=actor, team=team)
    _log_many(client, token, 3)
    cursor = get(client, token, "/v1/contacts?limit=1").json_body["next_cursor"]
    assert get(client, token, f"/v1/contacts?limit=1&cursor={cursor}").status_code == 200
    for other in ("limit=2", "limit=1&kind=street", f"limit=1&from={iso(datetime.now(UTC) - timedelta(days=2))}"):
        response = get(client, token, f"/v1/contacts?{other}&cursor={cursor}")
        assert response.status_code == 400, other
        assert error_fields(response) == ["cursor"]
    colleague = staff_token("officer", team=team)
    assert get(client, colleague, f"/v1/contacts?limit=1&cursor={cursor}").status_code == 400
    supervisor = staff_token("supervisor", sub=actor, team=team)  # same sub, team view
    assert get(client, supervisor, f"/v1/contacts?team=mine&limit=1&cursor={cursor}").status_code == 400


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("kind=carrier-pigeon", "kind"),
        ("team=theirs", "team"),
        ("from=yesterday", "from"),
        ("to=2026-11-28T10:00:00", "to"),
        ("colour=red", "colour"),
    ],
)
def test_bad_list_query_is_400_with_field(client, staff_token, team, query, field):
    response = get(client, staff_token("officer", team=team), f"/v1/contacts?{query}")
    assert response.status_code == 400, response.body
    assert error_fields(response) == [field]


def test_from_after_to_is_400(client, staff_token, team):
    now = datetime.now(UTC)
    path = f"/v1/contacts?from={iso(now)}&to={iso(now - timedelta(days=1))}"
    response = get(client, staff_token("officer", team=team), path)
    assert response.status_code == 400
    assert error_fields(response) == ["from"]


def test_repeated_query_parameter_is_400_not_500(client, staff_token, team):
    response = get(client, staff_token("officer", team=team), "/v1/contacts?kind=street&kind=online")
    assert 400 <= response.status_code < 500
