"""Beat meetings: publish, attend once, the reminder the day before (exactly once per resident),
record attendance and concerns, who may do what, and erasure (docs/guarantee.md)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import fixed_clock
from tests.alerting import inbox, post
from tests.conftest import bearer
from tests.test_priorities import Hood


@pytest.fixture
def hood(client: Any, staff_token: Any) -> Hood:
    return Hood(client, staff_token)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def meeting(start: datetime, **overrides: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "title": "Beat meeting: Market Ward", "type": "meeting",
            "description": "Bring your concerns.", "address": "Community Hall, 3 Mill Lane",
            "start": z(start), "end": z(start + timedelta(hours=1)), **overrides}


def publish(client: Any, hood: Hood, body: dict[str, Any], token: str | None = None) -> Any:
    return post(client, f"/v1/areas/{hood.area}/events", token or hood.officer, body)


def test_publish_attend_remind_record(client, hood, services_override):
    from chalicelib.services import services
    from chalicelib.usecases.meetings import remind_meetings

    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    body = meeting(start)
    created = publish(client, hood, body)
    assert created.status_code == 201, created.body
    assert publish(client, hood, body).status_code == 200
    assert publish(client, hood, {**body, "title": "Another title"}).status_code == 409
    _, alice = hood.follower()
    _, bob = hood.follower()
    assert post(client, f"/v1/events/{body['id']}/attend", alice).status_code == 201
    assert post(client, f"/v1/events/{body['id']}/attend", alice).status_code == 200
    assert post(client, f"/v1/events/{body['id']}/attend", bob).json_body["attending"] == 2
    listed = client.http.get(f"/v1/areas/{hood.area}/events").json_body["items"]
    assert [(m["id"], m["attending"]) for m in listed] == [(body["id"], 2)]

    svc = services()
    assert remind_meetings(svc, start - timedelta(hours=30)) == 0  # not yet due
    assert remind_meetings(svc, start - timedelta(hours=23)) == 2
    assert remind_meetings(svc, start - timedelta(hours=22)) == 0  # once
    for token in (alice, bob):
        reminders = [i for i in inbox(client, token) if i["kind"] == "meeting_reminder"]
        assert [(r["event_id"], r["address"]) for r in reminders] == [(body["id"], "Community Hall, 3 Mill Lane")]

    early = post(client, f"/v1/events/{body['id']}/record", hood.officer, {"attended": 9})
    assert early.status_code == 422  # not started yet
    services_override(clock=fixed_clock(start + timedelta(hours=2)))
    assert post(client, f"/v1/events/{body['id']}/attend", alice).status_code == 422  # over
    recorded = post(client, f"/v1/events/{body['id']}/record", hood.sergeant,
                    {"attended": 9, "concerns": ["Parking on pavements", "Speeding on Mill Lane"]})
    assert recorded.status_code == 200, recorded.body
    out = client.http.get(f"/v1/areas/{hood.area}/events").json_body["items"][0]
    assert (out["attended"], out["concerns"], out["attending"]) == (9, ["Parking on pavements", "Speeding on Mill Lane"], 2)
    assert "subscriber" not in json.dumps(out)


@pytest.mark.parametrize("overrides,field", [
    ({"address": None}, "address"),  # neither address nor link
    ({"online_url": "https://meet.example/abc"}, "address"),  # both
    ({"address": None, "online_url": "http://meet.example/abc"}, "online_url"),
    ({"address": None, "online_url": "javascript:alert(1)"}, "online_url"),
    ({"address": None, "online_url": "https://user:pw@meet.example/"}, "online_url"),
    ({"title": "<b>Meet</b>"}, "title"),
    ({"type": "party"}, "type"),
])
def test_bad_meetings_are_400(client, hood, overrides, field):
    body = {k: v for k, v in {**meeting(datetime.now(UTC) + timedelta(days=2)), **overrides}.items() if v is not None}
    response = publish(client, hood, body)
    assert response.status_code == 400, response.body
    assert field in json.dumps(response.json_body)


def test_time_rules(client, hood):
    start = datetime.now(UTC) + timedelta(days=2)
    assert publish(client, hood, meeting(start, end=z(start - timedelta(hours=1)))).status_code == 400
    assert publish(client, hood, meeting(start, end=z(start + timedelta(hours=13)))).status_code == 400
    far = datetime.now(UTC) + timedelta(days=400)
    assert publish(client, hood, meeting(far)).status_code == 400


def test_who_may_publish_and_attend(client, hood):
    body = meeting(datetime.now(UTC) + timedelta(days=2))
    assert publish(client, hood, body, token=hood.other_sergeant).status_code == 403
    assert publish(client, hood, body).status_code == 201
    from tests.alerting import resident, spot

    lat, lon = spot()
    _, stranger = resident(client, [{"type": "Circle", "center": {"lat": lat, "lon": lon}, "radius_m": 300}])
    assert post(client, f"/v1/events/{body['id']}/attend", stranger).status_code == 404
    assert post(client, f"/v1/events/{body['id']}/record", hood.other_sergeant, {"attended": 1}).status_code == 403
    assert post(client, f"/v1/events/{uuid.uuid4()}/attend", stranger).status_code == 404


def test_erasure_removes_attendance_and_keeps_the_count(client, hood):
    from chalicelib.store.models import NeighbourhoodModel

    body = meeting(datetime.now(UTC) + timedelta(days=2))
    publish(client, hood, body)
    _, token = hood.follower()
    post(client, f"/v1/events/{body['id']}/attend", token)
    assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 204
    assert [row.sk for row in NeighbourhoodModel.query(f"event#{body['id']}")] == ["event"]
    assert client.http.get(f"/v1/areas/{hood.area}/events").json_body["items"][0]["attending"] == 1
