"""The data.police.uk neighbourhood API for this force: paths and fields as that API writes them
(data.police.uk/docs, "Neighbourhood related" and "Forces"), so its existing clients work here."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.police_uk import local_time
from tests.alerting import spot, square
from tests.conftest import bearer

BASE = "/v1/police-uk"
FORCE = "beatline"  # BEATLINE_FORCE_ID's default


@pytest.fixture(scope="module")
def neighbourhood(client: Any, staff_token: Any) -> dict[str, Any]:
    admin = staff_token("admin")
    team = f"t-{uuid.uuid4().hex[:10]}"
    lat, lon = spot()
    area_id = str(uuid.uuid4())
    geometry = square(lat, lon)
    assert client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin), body=json.dumps(
        {"name": "Canal Side", "team": team, "geometry": geometry})).status_code == 201
    assert client.http.put(f"/v1/teams/{team}", headers=bearer(admin), body=json.dumps({
        "name": "Canal Side NPT", "description": "Canal Side and the marina.",
        "contact_details": {"email": "canal@police.example", "telephone": "101"},
        "people": [{"name": "Sian Morgan", "rank": "sergeant", "bio": "Leads the team.",
                    "contact_details": {"email": "sian.morgan@police.example"}},
                   {"name": "Rhys Evans", "rank": "pcso"}]})).status_code == 201
    return {"id": area_id, "lat": lat, "lon": lon, "geometry": geometry, "team": team}


def test_forces_and_specific_force(client):
    forces = client.http.get(f"{BASE}/forces").json_body
    assert forces == [{"id": FORCE, "name": "Beatline Police"}]
    force = client.http.get(f"{BASE}/forces/{FORCE}").json_body
    assert set(force) == {"description", "url", "engagement_methods", "telephone", "id", "name"}
    assert (force["id"], force["telephone"], force["engagement_methods"]) == (FORCE, "101", [])
    assert client.http.get(f"{BASE}/forces/{FORCE.upper()}").status_code == 200  # ids are case-insensitive
    assert client.http.get(f"{BASE}/forces/metropolitan").status_code == 404


def test_neighbourhoods_list(client, neighbourhood):
    listed = client.http.get(f"{BASE}/{FORCE}/neighbourhoods").json_body
    assert {"id": neighbourhood["id"], "name": "Canal Side"} in listed
    assert all(set(item) == {"id", "name"} for item in listed)
    assert client.http.get(f"{BASE}/leicestershire/neighbourhoods").status_code == 404


def test_specific_neighbourhood(client, neighbourhood):
    out = client.http.get(f"{BASE}/{FORCE}/{neighbourhood['id']}").json_body
    assert set(out) == {"url_force", "contact_details", "name", "links", "centre", "locations", "description",
                        "id", "population"}
    assert out["contact_details"] == {"email": "canal@police.example", "telephone": "101"}
    assert (out["name"], out["id"], out["description"]) == ("Canal Side", neighbourhood["id"], "Canal Side and the marina.")
    assert isinstance(out["centre"]["latitude"], str) and isinstance(out["centre"]["longitude"], str)
    assert float(out["centre"]["latitude"]) == pytest.approx(neighbourhood["lat"], abs=1e-6)
    assert float(out["centre"]["longitude"]) == pytest.approx(neighbourhood["lon"], abs=1e-6)
    assert out["population"] == "0"


def test_team_people_with_police_uk_ranks(client, neighbourhood):
    people = client.http.get(f"{BASE}/{FORCE}/{neighbourhood['id']}/people").json_body
    assert all(set(p) == {"bio", "contact_details", "name", "rank"} for p in people)
    assert [(p["name"], p["rank"]) for p in people] == [("Sian Morgan", "Sgt"), ("Rhys Evans", "PCSO")]
    assert people[0]["contact_details"] == {"email": "sian.morgan@police.example"}
    assert people[1]["bio"] is None and people[1]["contact_details"] == {}


def test_boundary_is_the_ring_as_strings(client, neighbourhood):
    points = client.http.get(f"{BASE}/{FORCE}/{neighbourhood['id']}/boundary").json_body
    ring = neighbourhood["geometry"]["coordinates"][0]
    assert [(float(p["latitude"]), float(p["longitude"])) for p in points] == [
        pytest.approx((lat, lon)) for lon, lat in ring]
    assert all(isinstance(p["latitude"], str) and set(p) == {"latitude", "longitude"} for p in points)


def test_locate_neighbourhood(client, neighbourhood):
    q = f"{neighbourhood['lat']},{neighbourhood['lon']}"
    assert client.http.get(f"{BASE}/locate-neighbourhood?q={q}").json_body == {
        "force": FORCE, "neighbourhood": neighbourhood["id"]}
    assert client.http.get(f"{BASE}/locate-neighbourhood?q=-33.8,151.2").status_code == 404  # not this force


@pytest.mark.parametrize("q", ["", "51.5", "abc,def", "91,0", "51.5,181", "51.5;-0.1", "51.5,-0.1,3", "1e3,2"])
def test_locate_rejects_what_is_not_lat_lng(client, q):
    assert client.http.get(f"{BASE}/locate-neighbourhood?q={q}").status_code == 400


@pytest.mark.parametrize("path", [
    "crimes-street/all-crime", "crimes-at-location", "crime-categories", "crime-last-updated",
    "stops-force", "outcomes-for-crime/abc", "stops-street", "crimes-no-location",
])
def test_crime_routes_are_404(client, path):
    response = client.http.get(f"{BASE}/{path}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("neighbourhood_id", ["NC04", str(uuid.uuid4()), "..%2F..%2Fareas"])
def test_unknown_neighbourhood_is_404(client, neighbourhood_id):
    for suffix in ("", "/people", "/boundary"):
        assert client.http.get(f"{BASE}/{FORCE}/{neighbourhood_id}{suffix}").status_code == 404


def test_times_are_uk_local_without_offset():
    assert local_time(datetime(2026, 12, 3, 19, 0, tzinfo=UTC)) == "2026-12-03T19:00:00"  # GMT
    assert local_time(datetime(2026, 7, 1, 18, 30, tzinfo=UTC)) == "2026-07-01T19:30:00"  # BST


def test_priorities_and_events_in_police_uk_shapes(client, staff_token):
    from tests.alerting import post
    from tests.test_priorities import Hood

    hood = Hood(client, staff_token)
    current = post(client, f"/v1/areas/{hood.area}/priorities", hood.sergeant,
                   {"id": str(uuid.uuid4()), "issue": "Anti-social driving on the ring road", "topic": "road_safety",
                    "status": "current"}).json_body
    post(client, f"/v1/areas/{hood.area}/priorities", hood.sergeant,
         {"id": str(uuid.uuid4()), "issue": "A proposal, not yet current", "topic": "other"})
    did_at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    assert post(client, f"/v1/priorities/{current['id']}/actions", hood.officer,
                {"id": str(uuid.uuid4()), "text": "Two vehicles seized.", "at": "2026-11-20T14:00:00Z"}).status_code == 201
    listed = client.http.get(f"{BASE}/{FORCE}/{hood.area}/priorities").json_body
    assert listed == [{"action": "Two vehicles seized.", "issue-date": local_time(datetime.fromisoformat(current["set_at"])),
                       "action-date": local_time(did_at), "issue": "Anti-social driving on the ring road"}]
    assert "+" not in listed[0]["issue-date"] and not listed[0]["issue-date"].endswith("Z")

    start = datetime(2027, 1, 14, 19, 0, tzinfo=UTC)
    if start < datetime.now(UTC):  # keep the meeting in the future whenever this runs
        start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=7)
    assert post(client, f"/v1/areas/{hood.area}/events", hood.officer, {
        "id": str(uuid.uuid4()), "title": "Street briefing", "type": "street_meeting", "address": "Corner of Mill Lane",
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}).status_code == 201
    events = client.http.get(f"{BASE}/{FORCE}/{hood.area}/events").json_body
    assert events == [{"contact_details": {}, "description": None, "title": "Street briefing",
                       "address": "Corner of Mill Lane", "type": "street_meeting",
                       "start_date": local_time(start), "end_date": local_time(start + timedelta(hours=1))}]
