"""The confidence pulse end to end on DynamoDB Local: an admin posts it (written and queued, not
delivered in the request), the `pulse_worker` function takes the queued message, residents find it
in their inbox and answer once; a redelivered message sends nothing twice; a large area goes out in
several steps whose positions survive the queue's JSON. The rules on fakes: tests/test_pulse_rules.py."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest

from chalicelib.domain.pulses import PulseStep, decode_step, encode_step
from tests.alerting import inbox, post, resident, spot, square
from tests.conftest import bearer
from tests.fakes import FakeQueue


class Steps:
    """The pulse queue as SQS holds it: message bodies (what the worker function receives)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, step: PulseStep) -> None:
        self.bodies.append(encode_step(step))

    def take(self) -> list[str]:
        taken, self.bodies = self.bodies, []
        return taken


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """Lambda's SQS event for these message bodies (a fresh message id each: a redelivery keeps
    the body)."""
    return {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "r", "body": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:eu-west-2:123456789012:beatline-test-pulses",
                         "awsRegion": "eu-west-2"} for body in bodies]}


class Ward:
    def __init__(self, client: Any, staff_token: Any, services_override: Any) -> None:
        self.client = client
        self.steps, self.pushes = Steps(), FakeQueue()
        self.svc = services_override(pulse_queue=self.steps, fanout_queue=self.pushes)
        self.team, self.area = f"t-{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
        self.admin = staff_token("admin", team=None)
        lat, lon = spot()
        assert client.http.put(f"/v1/areas/{self.area}", headers=bearer(self.admin), body=json.dumps(
            {"name": "Castle Ward", "team": self.team, "geometry": square(lat, lon)})).status_code == 201

    def follower(self) -> tuple[str, str]:
        return resident(self.client, [{"area_id": self.area}])

    def get(self, pulse_id: str, token: str | None = None) -> Any:
        return self.client.http.get(f"/v1/pulses/{pulse_id}", headers=bearer(token or self.admin))

    def work(self, bodies: list[str]) -> dict[str, Any]:
        """The pulse_worker function (app.py) on an SQS event."""
        from app import pulse_worker

        result: dict[str, Any] = pulse_worker(sqs_event(bodies), None)
        return result

    def pushed(self, pulse_id: str) -> Counter[str]:
        from chalicelib.ports import NoticePush

        return Counter(s for m in self.pushes.messages if isinstance(m, NoticePush) and m.ref == pulse_id
                       for s in m.subscribers)


@pytest.fixture
def ward(client: Any, staff_token: Any, services_override: Any) -> Ward:
    return Ward(client, staff_token, services_override)


def _pulse_items(client: Any, token: str) -> list[dict[str, Any]]:
    return [i for i in inbox(client, token) if i.get("kind") == "pulse"]


def test_the_worker_delivers_residents_answer_once_and_a_redelivery_sends_nothing_twice(client, ward):
    residents = [ward.follower() for _ in range(3)]
    _, stranger = resident(client, [{"type": "Circle", "center": {"lat": 51.0, "lon": -2.0}, "radius_m": 500}])
    body = {"id": str(uuid.uuid4()), "question": "police_good_job", "areas": [ward.area], "sample": 1}
    created = post(client, "/v1/pulses", ward.admin, body)
    assert created.status_code == 201, created.body
    assert (created.json_body["state"], created.json_body["sent"]) == ("queued", 0)
    assert _pulse_items(client, residents[0][1]) == []  # nothing delivered inside the request
    assert ward.get(body["id"]).json_body["state"] == "queued"
    [message] = ward.steps.take()
    assert decode_step(message) == PulseStep(pulse=body["id"])
    assert ward.work([message]) == {"batchItemFailures": []}
    read = ward.get(body["id"])
    assert read.status_code == 200 and (read.json_body["state"], read.json_body["sent"]) == ("sent", 3)
    assert ward.steps.take() == []  # one area, one page: no continuation
    assert ward.work([message]) == {"batchItemFailures": []}  # SQS delivers it again
    assert ward.get(body["id"]).json_body["sent"] == 3
    assert ward.pushed(body["id"]) == Counter({sid: 1 for sid, _ in residents})
    for _, token in residents:
        [item] = _pulse_items(client, token)
        assert (item["pulse_id"], item["answered"]) == (body["id"], False)

    from chalicelib.store.models import NeighbourhoodModel

    marks = list(NeighbourhoodModel.query(f"pulse#{body['id']}", NeighbourhoodModel.sk.startswith("sent#")))
    assert sorted(m.subscriber_id for m in marks) == sorted(sid for sid, _ in residents)
    # answered once, kept as a count; the inbox copy says that, never what
    token = residents[0][1]
    path = f"/v1/pulses/{body['id']}/answers"
    assert post(client, path, token, {"answer": "very_poor"}).status_code == 201
    assert post(client, path, token, {"answer": "good"}).status_code == 409
    assert post(client, path, stranger, {"answer": "poor"}).status_code == 404
    assert post(client, path, token, {"answer": "great"}).status_code == 400
    [item] = _pulse_items(client, token)
    assert item["answered"] is True and "poor" not in json.dumps(item)
    from chalicelib.store.models import StatCounterModel

    counted = [r.bucket for r in StatCounterModel.query(f"trust|team:{ward.team}|month") if r.contacts]
    assert len(counted) == 1 and "|confidence|very_poor|" in counted[0]  # a count, under the area it was sent for
    # the identical retry: 200 with the pulse as it is; other content 409; bad input 400
    again = post(client, "/v1/pulses", ward.admin, body)
    assert again.status_code == 200 and again.json_body["state"] == "sent" and ward.steps.take() == []
    assert post(client, "/v1/pulses", ward.admin, {**body, "sample": 0.5}).status_code == 409
    assert post(client, "/v1/pulses", ward.admin, {**body, "id": str(uuid.uuid4()), "sample": 2}).status_code == 400
    assert post(client, "/v1/pulses", ward.admin, {**body, "id": str(uuid.uuid4()),
                                                   "areas": [str(uuid.uuid4())]}).status_code == 400
    assert ward.steps.take() == []  # nothing queued for a refused request
    # who may read a pulse: the admin; anyone else 403; unknown ids 404
    assert ward.get(body["id"], token).status_code == 403
    missing = ward.get(str(uuid.uuid4()))
    assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/problem+json"
    assert ward.get("not-a-uuid").status_code == 404


def test_a_large_area_goes_out_in_steps_whose_positions_survive_the_queue(client, ward):
    from chalicelib.usecases.pulses import run_step

    residents = [ward.follower() for _ in range(5)]
    body = {"id": str(uuid.uuid4()), "question": "police_good_job", "areas": [ward.area]}
    assert post(client, "/v1/pulses", ward.admin, body).status_code == 201
    states, messages, delivered = [], [], 0
    while bodies := ward.steps.take():
        [message] = bodies
        messages.append(message)
        delivered += run_step(ward.svc, decode_step(message), page_size=2, budget=2)  # the position through JSON
        states.append(ward.get(body["id"]).json_body["state"])
        if len(messages) == 2:  # SQS delivers the second step again, mid-delivery: nobody twice
            assert run_step(ward.svc, decode_step(message), page_size=2, budget=2) == 0
            duplicate = ward.steps.bodies.pop()  # its continuation, queued again: the same step
            assert ward.steps.bodies == [duplicate]
    assert delivered == 5 and states == ["sending", "sending", "sent"]  # pages of 2: 2, 2, 1
    assert ward.get(body["id"]).json_body["sent"] == 5
    assert ward.pushed(body["id"]) == Counter({sid: 1 for sid, _ in residents})
    for _, token in residents:
        assert len(_pulse_items(client, token)) == 1
