"""Neighbourhood priorities and "you said, we did": propose, support, set, act, the supporters'
inboxes, linked conversations, the review flag, state rules and erasure (docs/guarantee.md)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import fixed_clock
from chalicelib.notify.payloads import push_payload
from tests.alerting import FakeChannel, RecordingQueue, inbox, post, resident, spot, square, webpush_channel
from tests.conftest import bearer


class Hood:
    def __init__(self, client: Any, staff_token: Any) -> None:
        self.client = client
        self.team = f"t-{uuid.uuid4().hex[:10]}"
        self.lat, self.lon = spot()
        self.area = str(uuid.uuid4())
        admin = staff_token("admin")
        assert client.http.put(f"/v1/areas/{self.area}", headers=bearer(admin), body=json.dumps(
            {"name": "Market Ward", "team": self.team, "geometry": square(self.lat, self.lon)})).status_code == 201
        self.sergeant = staff_token("supervisor", team=self.team)
        self.officer = staff_token("officer", team=self.team)
        self.other_sergeant = staff_token("supervisor", team="someone-else")

    def follower(self) -> tuple[str, str]:
        return resident(self.client, [{"area_id": self.area}])

    def propose(self, token: str | None = None, **overrides: Any) -> Any:
        body = {"id": str(uuid.uuid4()), "issue": "Speeding on Mill Lane at school times", "topic": "road_safety",
                **overrides}
        return post(self.client, f"/v1/areas/{self.area}/priorities", token or self.sergeant, body)

    def listed(self) -> list[dict[str, Any]]:
        response = self.client.http.get(f"/v1/areas/{self.area}/priorities")
        assert response.status_code == 200, response.body
        return response.json_body["items"]


@pytest.fixture
def hood(client: Any, staff_token: Any) -> Hood:
    return Hood(client, staff_token)


def action(text: str = "Speed checks on Mill Lane: 14 drivers stopped.") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "text": text, "at": (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_the_loop_from_proposal_to_we_did(client, hood):
    proposed = hood.propose()
    assert proposed.status_code == 201, proposed.body
    priority = proposed.json_body
    assert (priority["status"], priority["supporters"], priority["review_due"]) == ("proposed", 0, None)
    pid = priority["id"]
    _, alice = hood.follower()
    _, bob = hood.follower()
    first = post(client, f"/v1/priorities/{pid}/support", alice)
    assert (first.status_code, first.json_body["supporters"]) == (201, 1)
    again = post(client, f"/v1/priorities/{pid}/support", alice)
    assert (again.status_code, again.json_body["supporters"]) == (200, 1)  # once per resident
    assert post(client, f"/v1/priorities/{pid}/support", bob).json_body["supporters"] == 2
    assert [p["supporters"] for p in hood.listed() if p["id"] == pid] == [2]

    made_current = client.http.patch(f"/v1/priorities/{pid}", headers=bearer(hood.sergeant),
                                     body=json.dumps({"status": "current"}))
    assert made_current.status_code == 200, made_current.body
    assert made_current.json_body["set_at"] and made_current.json_body["review_due"]
    assert post(client, f"/v1/priorities/{pid}/support", bob).status_code == 422  # consultation over

    did = action()
    posted = post(client, f"/v1/priorities/{pid}/actions", hood.officer, did)
    assert posted.status_code == 201, posted.body
    assert post(client, f"/v1/priorities/{pid}/actions", hood.officer, did).status_code == 200  # identical retry
    assert post(client, f"/v1/priorities/{pid}/actions", hood.officer, {**did, "text": "Other words"}).status_code == 409
    for token in (alice, bob):
        items = [i for i in inbox(client, token) if i["kind"] == "priority_action"]
        assert [(i["priority_id"], i["text"]) for i in items] == [(pid, did["text"])]  # once, retry or not
    public = next(p for p in hood.listed() if p["id"] == pid)
    assert [a["text"] for a in public["actions"]] == [did["text"]]
    assert "subscriber" not in json.dumps(public)


def test_a_linked_conversation_hears_of_actions(client, hood):
    pid = hood.propose(status="current").json_body["id"]
    _, carol = hood.follower()
    conversation = {"id": str(uuid.uuid4()), "topic": "road_safety", "text": "Cars race past the school",
                    "area_id": hood.area}
    assert post(client, "/v1/conversations", carol, conversation).status_code == 201
    linked = post(client, f"/v1/priorities/{pid}/links", hood.officer, {"conversation_id": conversation["id"]})
    assert linked.status_code == 200, linked.body
    post(client, f"/v1/priorities/{pid}/actions", hood.sergeant, action("Camera van booked for Mondays."))
    assert [i["text"] for i in inbox(client, carol) if i["kind"] == "priority_action"] == ["Camera van booked for Mondays."]


def test_a_supporter_on_web_push_is_pushed_each_action_once(client, hood, services_override):
    """Inbox and push: the action's NoticePush runs through the worker on DynamoDB Local (the
    delivery claim is the real conditional write), delivered twice as SQS may."""
    push, queue = FakeChannel(), RecordingQueue()
    svc = services_override(channels={"webpush": push}, fanout_queue=queue)
    channel = webpush_channel()
    _, pushed = resident(client, [{"area_id": hood.area}], channel, language="cy")
    _, inbox_only = hood.follower()
    pid = hood.propose().json_body["id"]
    for token in (pushed, inbox_only):
        assert post(client, f"/v1/priorities/{pid}/support", token).status_code == 201
    did = action()
    assert post(client, f"/v1/priorities/{pid}/actions", hood.officer, did).status_code == 201
    assert post(client, f"/v1/priorities/{pid}/actions", hood.officer, did).status_code == 200  # a retry
    assert {m.kind for m in queue.messages} == {"priority_action"}
    worker = svc.push_worker()
    for message in queue.messages + queue.messages:
        assert worker.process(message) is True
    (note,) = push.sent_to(channel["subscription"]["endpoint"])  # once, however often queued
    assert [key for key, _ in push.sends] == [channel["subscription"]["endpoint"]]  # none to the inbox-only one
    assert (note.kind, note.title, note.body) == ("priority_action", "Eich tîm cymdogaeth: beth wnaethom ni",
                                                  "Speeding on Mill Lane at school times")
    assert did["text"] not in json.dumps(push_payload(note)) and note.url.endswith("/app/")
    # and the inbox copy (alerts of other tests over the same random spot may be there too)
    assert [i["kind"] for i in inbox(client, pushed) if i["kind"] != "alert"] == ["priority_action"]


def test_only_followers_support_and_only_proposals(client, hood):
    pid = hood.propose().json_body["id"]
    lat, lon = spot()
    _, stranger = resident(client, [{"type": "Circle", "center": {"lat": lat, "lon": lon}, "radius_m": 300}])
    assert post(client, f"/v1/priorities/{pid}/support", stranger).status_code == 404
    current = hood.propose(status="current").json_body["id"]
    _, follower = hood.follower()
    assert post(client, f"/v1/priorities/{current}/support", follower).status_code == 422
    assert post(client, f"/v1/priorities/{uuid.uuid4()}/support", follower).status_code == 404
    assert post(client, "/v1/priorities/not-a-uuid/support", follower).status_code == 404


def test_consultation_window_closes(client, hood, services_override):
    pid = hood.propose().json_body["id"]
    _, follower = hood.follower()
    services_override(clock=fixed_clock(datetime.now(UTC) + timedelta(days=29)))
    assert post(client, f"/v1/priorities/{pid}/support", follower).status_code == 422


def test_review_is_due_after_90_days(client, hood, services_override):
    pid = hood.propose(status="current").json_body["id"]
    assert [p["review_overdue"] for p in hood.listed() if p["id"] == pid] == [False]
    services_override(clock=fixed_clock(datetime.now(UTC) + timedelta(days=91)))
    assert [p["review_overdue"] for p in hood.listed() if p["id"] == pid] == [True]
    reviewed = post(client, f"/v1/priorities/{pid}/review", hood.sergeant)
    assert reviewed.status_code == 200 and reviewed.json_body["review_overdue"] is False


def test_who_may_manage(client, hood):
    assert hood.propose(token=hood.officer).status_code == 403
    assert hood.propose(token=hood.other_sergeant).status_code == 403
    pid = hood.propose().json_body["id"]
    for path in ("review", "close"):
        assert post(client, f"/v1/priorities/{pid}/{path}", hood.other_sergeant).status_code == 403
    assert post(client, f"/v1/priorities/{pid}/actions", hood.other_sergeant, action()).status_code == 403
    assert post(client, f"/v1/areas/{uuid.uuid4()}/priorities", hood.sergeant,
                {"id": str(uuid.uuid4()), "issue": "Litter", "topic": "other"}).status_code == 404


def test_idempotent_proposal_and_closed_state(client, hood):
    body = {"id": str(uuid.uuid4()), "issue": "Dog fouling in the park", "topic": "other"}
    assert post(client, f"/v1/areas/{hood.area}/priorities", hood.sergeant, body).status_code == 201
    assert post(client, f"/v1/areas/{hood.area}/priorities", hood.sergeant, body).status_code == 200
    assert post(client, f"/v1/areas/{hood.area}/priorities", hood.sergeant, {**body, "issue": "Different"}).status_code == 409
    pid = body["id"]
    assert post(client, f"/v1/priorities/{pid}/review", hood.sergeant).status_code == 422  # not current
    assert post(client, f"/v1/priorities/{pid}/close", hood.sergeant).status_code == 200
    assert post(client, f"/v1/priorities/{pid}/close", hood.sergeant).status_code == 422
    assert post(client, f"/v1/priorities/{pid}/actions", hood.officer, action()).status_code == 422
    assert client.http.patch(f"/v1/priorities/{pid}", headers=bearer(hood.sergeant),
                             body=json.dumps({"issue": "Edited"})).status_code == 422


@pytest.mark.parametrize("body", [
    {"issue": "<script>x</script>", "topic": "other"},
    {"issue": "ok issue", "topic": "not-a-topic"},
    {"issue": "ok issue", "topic": "other", "status": "closed"},
    {"issue": "no", "topic": "other"},
])
def test_bad_proposals_are_400(client, hood, body):
    assert hood.propose(**body).status_code == 400


def test_erasure_removes_supports_and_keeps_counts(client, hood):
    from chalicelib.store.models import NeighbourhoodModel

    pid = hood.propose().json_body["id"]
    subscriber_id, token = hood.follower()
    post(client, f"/v1/priorities/{pid}/support", token)
    assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 204
    left = [row.sk for row in NeighbourhoodModel.query(f"priority#{pid}")]
    assert left == ["priority"] and not any(subscriber_id in sk for sk in left)
    assert [p["supporters"] for p in hood.listed() if p["id"] == pid] == [1]
