"""Staff devices and staff pushes on DynamoDB Local: registration with the residents' SSRF guard,
the per-person cap, erasure on DELETE and on a gone endpoint; pushes for a new waiting
conversation (the team), an alert awaiting approval (the team's other supervisors), never to
another team, never with a resident's words."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.alerting import FakeChannel, draft, register, spot, square, webpush_channel
from tests.conftest import bearer
from tests.test_conversations import make_area, start_body


def _put(client: Any, token: str, device_id: str, subscription: dict[str, Any]) -> Any:
    return client.http.put(f"/v1/staff/me/devices/{device_id}", headers=bearer(token), body=json.dumps(subscription))


def _device(client: Any, token: str) -> str:
    subscription = webpush_channel()["subscription"]
    assert _put(client, token, str(uuid.uuid4()), subscription).status_code == 200
    return str(subscription["endpoint"])


def _devices(staff: str) -> list[str]:
    from chalicelib.store import staff as store

    return store.device_ids(staff, 100)


def test_register_renew_delete_and_refuse_unsafe_endpoints(client, staff_token, team, services_override):
    services_override(channels={})
    sub = f"pc-{uuid.uuid4().hex[:6]}"
    officer = staff_token("officer", sub=sub, team=team)
    device_id, subscription = str(uuid.uuid4()), webpush_channel()["subscription"]
    first = _put(client, officer, device_id, subscription)
    assert first.status_code == 200, first.body
    assert first.json_body["id"] == device_id and first.json_body["expires_at"] > "2026"
    assert _put(client, officer, device_id, subscription).status_code == 200  # renewed, still one
    assert _devices(sub) == [device_id]
    for endpoint in ("https://127.0.0.1/push", "https://localhost./push", "http://push.example.test/x",
                     "https://push.example.test:8443/x", "https://nowhere.invalid/x"):
        refused = _put(client, officer, str(uuid.uuid4()), {**subscription, "endpoint": endpoint})
        assert refused.status_code == 400, (endpoint, refused.body)
        assert [e["field"] for e in refused.json_body["errors"]] == ["endpoint"]
    assert _put(client, officer, "not-a-uuid", subscription).status_code == 404
    assert _put(client, officer, str(uuid.uuid4()), {"endpoint": subscription["endpoint"]}).status_code == 400
    assert client.http.delete(f"/v1/staff/me/devices/{device_id}", headers=bearer(officer)).status_code == 204
    assert _devices(sub) == []
    assert client.http.delete(f"/v1/staff/me/devices/{device_id}", headers=bearer(officer)).status_code == 204
    assert _put(client, staff_token("analyst", team=None), device_id, subscription).status_code == 403


def test_at_most_ten_devices_each(client, staff_token, team, services_override):
    services_override(channels={})
    officer = staff_token("officer", team=team)
    for _ in range(10):
        _device(client, officer)
    assert _put(client, officer, str(uuid.uuid4()), webpush_channel()["subscription"]).status_code == 409


def test_staff_pushes_reach_the_team_without_words(client, staff_token, team, services_override):
    push = FakeChannel()
    services_override(channels={"webpush": push})
    officer_sub = f"pc-{uuid.uuid4().hex[:6]}"
    officer = staff_token("officer", sub=officer_sub, team=team)
    supervisor = staff_token("supervisor", team=team)
    elsewhere = staff_token("supervisor", team=f"other-{uuid.uuid4().hex[:6]}")
    officer_device, supervisor_device, other_device = (_device(client, t) for t in (officer, supervisor, elsewhere))

    lat, lon = spot()
    area = make_area(client, staff_token, team, lat, lon)
    _, resident = register(client)
    words = "Someone is trying car doors on Elm Street"
    conv = start_body(area, text=words)
    assert client.http.post("/v1/conversations", headers=bearer(resident), body=json.dumps(conv)).status_code == 201
    for endpoint in (officer_device, supervisor_device):
        (note,) = push.sent_to(endpoint)
        assert (note.extra["kind"], note.extra["id"], note.url.endswith("/team/#queue")) == \
            ("conversation_waiting", conv["id"], True)
        assert words not in json.dumps([note.info.headline, note.info.description, note.extra])
    assert push.sent_to(other_device) == []

    # The officer drafts an alert: the team's supervisor is asked to approve it, the author is not.
    assert draft(client, officer, square(lat, lon)).status_code == 201
    kinds = {endpoint: [n.extra["kind"] for n in push.sent_to(endpoint)] for endpoint in (officer_device, supervisor_device)}
    assert kinds == {officer_device: ["conversation_waiting"],
                     supervisor_device: ["conversation_waiting", "alert_awaiting_approval"]}

    # An answer does not push the team; the resident writing again after it is a new wait.
    answer = {"id": str(uuid.uuid4()), "text": "We will look"}
    assert client.http.post(f"/v1/conversations/{conv['id']}/messages", headers=bearer(officer),
                            body=json.dumps(answer)).status_code == 201
    assert len(push.sent_to(officer_device)) == 1
    push.script[officer_device] = ["gone"]  # the push service forgot this device: it is erased
    again = {"id": str(uuid.uuid4()), "text": "Thank you"}
    assert client.http.post(f"/v1/conversations/{conv['id']}/messages", headers=bearer(resident),
                            body=json.dumps(again)).status_code == 201
    assert len(push.sent_to(officer_device)) == 2 and _devices(officer_sub) == []


def test_a_redelivered_staff_push_is_claimed_once_per_device_on_dynamodb(client, staff_token, team, services_override):
    """The claim's condition on the real table: the same message twice pushes each device once; a
    transient failure is claimed again on redelivery (that device only); the claim has its TTL."""
    from chalicelib.domain.staff_devices import StaffDevice
    from chalicelib.ports import StaffPush
    from chalicelib.store import deliveries
    from chalicelib.usecases.staff_push import KEEP, delivery_id, device_target

    push = FakeChannel()
    svc = services_override(channels={"webpush": push})
    first, second = f"pc-{uuid.uuid4().hex[:6]}", f"pc-{uuid.uuid4().hex[:6]}"
    endpoints = [_device(client, staff_token("officer", sub=s, team=team)) for s in (first, second)]
    message = StaffPush(kind="conversation_waiting", record_id=str(uuid.uuid4()), team=team, occurrence=str(uuid.uuid4()))
    push.failing.add(endpoints[1])
    worker = svc.push_worker()
    assert worker.process(message) is False  # the second device: retry later
    push.failing.clear()
    assert worker.process(message) is True and worker.process(message) is True
    assert [len(push.sent_to(e)) for e in endpoints] == [1, 2]
    assert [push.delivered(e) for e in endpoints] == [1, 1]
    [device_id] = _devices(first)
    target = device_target(StaffDevice(staff=first, device_id=device_id, team=team, roles=(), subscription={},
                                       updated_at="", expires_at=svc.clock()))
    claim = deliveries.get(delivery_id(message), target)
    assert claim is not None and (claim.state, claim.attempts) == ("claimed", 1)
    assert claim.expires_at is not None and abs(claim.expires_at - (svc.clock() + KEEP)).total_seconds() < 60
