"""Named neighbourhood teams: the public page, who may change what, and the display-text rules."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.alerting import spot, square
from tests.conftest import bearer


def put_team(client: Any, token: str, team: str, body: dict[str, Any]) -> Any:
    return client.http.put(f"/v1/teams/{team}", headers=bearer(token), body=json.dumps(body))


def a_team() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


PEOPLE = [
    {"name": "Sian Morgan", "rank": "sergeant", "bio": "Leads the team.",
     "contact_details": {"email": "sian.morgan@police.example", "telephone": "01234 567890"}},
    {"name": "Dafydd ap Gwŷn", "rank": "pcso", "bio": "Ar batrôl bob dydd."},
]


def test_admin_creates_a_page_and_anyone_reads_it_with_its_neighbourhoods(client, staff_token):
    admin, team = staff_token("admin"), a_team()
    lat, lon = spot()
    area_id = str(uuid.uuid4())
    assert client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin), body=json.dumps(
        {"name": "Riverside", "team": team, "geometry": square(lat, lon)})).status_code == 201
    body = {"name": "Riverside NPT", "description": "Your neighbourhood team.",
            "contact_details": {"email": "riverside@police.example", "twitter": "RiversideCops"}, "people": PEOPLE}
    created = put_team(client, admin, team, body)
    assert created.status_code == 201, created.body
    assert put_team(client, admin, team, body).status_code == 200
    page = client.http.get(f"/v1/teams/{team}")
    assert page.status_code == 200
    out = page.json_body
    assert out["name"] == "Riverside NPT" and out["neighbourhoods"] == [area_id]
    assert [p["name"] for p in out["people"]] == ["Sian Morgan", "Dafydd ap Gwŷn"]
    assert out["people"][0]["contact_details"]["email"] == "sian.morgan@police.example"
    assert out["contact_details"] == {"email": "riverside@police.example", "twitter": "RiversideCops"}


def test_a_team_with_areas_but_no_page_shows_its_id_and_nobody(client, staff_token):
    admin, team = staff_token("admin"), a_team()
    lat, lon = spot()
    area_id = str(uuid.uuid4())
    client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin), body=json.dumps(
        {"name": "Hillside", "team": team, "geometry": square(lat, lon)}))
    out = client.http.get(f"/v1/teams/{team}").json_body
    assert (out["name"], out["people"], out["neighbourhoods"]) == (team, [], [area_id])


@pytest.mark.parametrize("team", ["nobody-here", "x" * 64])
def test_unknown_team_is_404(client, team):
    assert client.http.get(f"/v1/teams/{team}").status_code == 404


@pytest.mark.parametrize("team", ["-lead", "a" * 65, "sp ace", "dot%2F..%2F"])
def test_malformed_team_id_is_400(client, staff_token, team):
    assert client.http.get(f"/v1/teams/{team}").status_code == 400
    assert put_team(client, staff_token("admin"), team, {"name": "X"}).status_code == 400


def test_supervisor_of_the_team_changes_people_and_description_only(client, staff_token):
    admin, team = staff_token("admin"), a_team()
    put_team(client, admin, team, {"name": "North NPT", "contact_details": {"telephone": "101"}})
    sergeant = staff_token("supervisor", team=team)
    changed = put_team(client, sergeant, team, {"name": "North NPT", "description": "New text", "people": PEOPLE})
    assert changed.status_code == 200, changed.body
    out = client.http.get(f"/v1/teams/{team}").json_body
    assert out["description"] == "New text" and len(out["people"]) == 2
    assert out["contact_details"] == {"telephone": "101"}  # kept: the supervisor sent none
    renamed = put_team(client, sergeant, team, {"name": "Renamed", "people": []})
    assert renamed.status_code == 403
    recontact = put_team(client, sergeant, team, {"name": "North NPT", "contact_details": {"telephone": "999"}})
    assert recontact.status_code == 403
    assert client.http.get(f"/v1/teams/{team}").json_body["name"] == "North NPT"


@pytest.mark.parametrize("role,own_team", [("supervisor", False), ("officer", True), ("analyst", True), ("leader", True)])
def test_others_may_not_write(client, staff_token, role, own_team):
    team = a_team()
    token = staff_token(role, team=team if own_team else "elsewhere")
    assert put_team(client, token, team, {"name": team}).status_code == 403
    assert client.http.get(f"/v1/teams/{team}").status_code == 404  # nothing was written


def test_anonymous_may_not_write(client):
    response = client.http.put(f"/v1/teams/{a_team()}", body=json.dumps({"name": "X"}),
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 401


@pytest.mark.parametrize("body,field", [
    ({"name": "<img src=x onerror=alert(1)>"}, "name"),
    ({"name": "Line\nbreak"}, "name"),
    ({"name": ""}, "name"),
    ({"name": "T", "people": [{"name": "<b>PC</b>", "rank": "constable"}]}, "people[0].name"),
    ({"name": "T", "people": [{"name": "PC Jones", "rank": "general"}]}, "people[0].rank"),
    ({"name": "T", "people": [{"name": "PC Jones", "rank": "constable", "bio": "<script>x</script>"}]}, "people[0].bio"),
    ({"name": "T", "contact_details": {"email": "not-an-email"}}, "contact_details.email"),
    ({"name": "T", "contact_details": {"web": "javascript:alert(1)"}}, "contact_details.web"),
    ({"name": "T", "contact_details": {"web": "http://plain.example"}}, "contact_details.web"),
    ({"name": "T", "contact_details": {"fax": "0123"}}, "contact_details"),
    ({"name": "T", "people": [{"name": "P", "rank": "constable"}] * 61}, "people"),
])
def test_display_text_and_contact_rules(client, staff_token, body, field):
    team = a_team()
    response = put_team(client, staff_token("admin"), team, body)
    assert response.status_code == 400, response.body
    assert field in json.dumps(response.json_body)
    assert client.http.get(f"/v1/teams/{team}").status_code == 404


def test_every_change_is_access_logged(client, staff_token):
    admin, team = staff_token("admin", sub="admin-teams-log"), a_team()
    put_team(client, admin, team, {"name": "Logged NPT", "people": PEOPLE})
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    query = (f"/v1/audit?from={(now - timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
             f"&to={(now + timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%M:%SZ')}&actor=admin-teams-log"
             "&purpose=checking+team+page+changes")
    entries = client.http.get(query, headers=bearer(admin)).json_body["items"]
    assert any(e["action"] == "team.write" and e.get("record_id") == team for e in entries)
