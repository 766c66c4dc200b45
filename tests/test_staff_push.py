"""Staff pushes exactly once, on fakes (usecases/staff_push.py): each (kind, record, occurrence,
device) is claimed before its send, so a redelivered queue message pushes no device again; a
transient failure is retried for that device only (bounded); a gone device is erased; a new wait
on the same conversation and a new proposal on the same alert are new pushes. The claim's
condition on DynamoDB Local: tests/test_staff_devices.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.conversations import ConversationIn, MessageIn
from chalicelib.domain.staff_devices import StaffDevice
from chalicelib.ports import SendOutcome, StaffPush
from chalicelib.usecases import conversations as conversation_cases
from chalicelib.usecases.staff_push import KEEP, MAX_ATTEMPTS, delivery_id, device_target
from tests.scenes import Scene, square

pytestmark = pytest.mark.no_database


class Team:
    """Team `north` with an officer's and a supervisor's device, a named area and a resident."""

    def __init__(self) -> None:
        self.scene = Scene()
        self.officer = self.device("pc-1", ("officer",))
        self.supervisor = self.device("sgt-1", ("supervisor",))
        self.area_id = self.scene.area("north")
        self.resident = self.scene.register()

    def device(self, staff: str, roles: tuple[str, ...]) -> StaffDevice:
        device = StaffDevice(staff=staff, device_id=str(uuid.uuid4()), team="north", roles=roles,
                             subscription={"endpoint": f"https://push.example.test/{staff}", "keys": {}},
                             updated_at="", expires_at=self.scene.fakes.clock() + timedelta(days=60))
        self.scene.fakes.db.staff_devices[(staff, device.device_id)] = device
        return device

    def sends(self, device: StaffDevice) -> list[Any]:
        return self.scene.push.sent_to(str(device.subscription["endpoint"]))

    def start(self) -> str:
        body = ConversationIn(id=uuid.uuid4(), topic="noise", text="Loud music", area_id=uuid.UUID(self.area_id))
        return conversation_cases.start(self.scene.svc, self.scene.as_resident(self.resident), body).value.id

    def write(self, conv_id: str, who: Any) -> None:
        conversation_cases.post_message(self.scene.svc, who, conv_id, MessageIn(id=uuid.uuid4(), text="Again"))

    def staff_pushes(self) -> list[StaffPush]:
        return [m for m in self.scene.fakes.queue.take() if isinstance(m, StaffPush)]

    def run(self, message: StaffPush) -> bool:
        return self.scene.svc.push_worker().process(message)


def test_a_redelivered_staff_push_reaches_each_device_once_with_an_expiring_claim() -> None:
    team = Team()
    conv_id = team.start()
    [message] = team.staff_pushes()
    assert (message.kind, message.record_id) == ("conversation_waiting", conv_id)
    assert team.run(message) and team.run(message) and team.run(message)  # SQS delivers at least once
    assert (len(team.sends(team.officer)), len(team.sends(team.supervisor))) == (1, 1)
    claim = team.scene.fakes.db.deliveries[(delivery_id(message), device_target(team.officer))]
    assert (claim.state, claim.attempts) == ("claimed", 1)
    assert claim.expires_at == team.scene.fakes.clock() + KEEP  # the claim's TTL
    assert "pc-1" not in claim.subscriber_id  # the deliveries table keeps no staff id


def test_a_transient_failure_is_retried_for_that_device_only_and_bounded() -> None:
    team = Team()
    team.start()
    [message] = team.staff_pushes()
    officer_endpoint = str(team.officer.subscription["endpoint"])
    team.scene.push.failing.add(officer_endpoint)
    assert team.run(message) is False  # the queue redelivers it
    team.scene.push.failing.clear()
    assert team.run(message) is True
    assert (len(team.sends(team.officer)), len(team.sends(team.supervisor))) == (2, 1)  # only the failed one again
    assert team.scene.push.delivered(officer_endpoint) == 1
    assert team.run(message) is True and len(team.sends(team.officer)) == 2  # sent: never again

    other = Team()
    other.start()
    [message] = other.staff_pushes()
    other.scene.push.failing.add(str(other.officer.subscription["endpoint"]))
    results = [other.run(message) for _ in range(MAX_ATTEMPTS + 2)]
    assert results == [False] * (MAX_ATTEMPTS - 1) + [True] * 3  # given up after MAX_ATTEMPTS claims
    assert len(other.sends(other.officer)) == MAX_ATTEMPTS
    assert other.scene.fakes.db.deliveries[(delivery_id(message), device_target(other.officer))].state == "failed"


def test_a_channel_raising_is_a_retry_and_a_gone_device_is_erased() -> None:
    team = Team()
    team.start()
    [message] = team.staff_pushes()
    real = team.scene.push
    real.script[str(team.supervisor.subscription["endpoint"])] = [SendOutcome.GONE]

    class Raising:
        def send(self, target: dict[str, Any], notification: Any) -> Any:
            if target["subscription"]["endpoint"].endswith("pc-1"):
                raise RuntimeError("push service down")
            return real.send(target, notification)

    channels = team.scene.fakes.channels
    channels["webpush"] = Raising()  # type: ignore[assignment]
    assert team.run(message) is False
    channels["webpush"] = real
    assert ("sgt-1", team.supervisor.device_id) not in team.scene.fakes.db.staff_devices  # gone: erased
    assert team.scene.fakes.db.deliveries[(delivery_id(message), device_target(team.supervisor))].state == "gone"
    assert team.run(message) is True
    assert (len(team.sends(team.officer)), len(team.sends(team.supervisor))) == (1, 1)


def test_a_new_wait_and_a_new_proposal_push_again_but_each_only_once() -> None:
    team = Team()
    conv_id = team.start()
    first = team.staff_pushes()
    team.write(conv_id, team.scene.staff("officer", sub="pc-1"))  # answered: the wait ends
    team.write(conv_id, team.scene.as_resident(team.resident))  # the resident again: a new wait
    second = team.staff_pushes()
    assert [m.record_id for m in first + second] == [conv_id, conv_id]
    assert first[0].occurrence != second[0].occurrence
    for message in first + second + first + second:
        team.run(message)
    assert len(team.sends(team.officer)) == 2

    officer = team.scene.staff("officer", sub="pc-1")
    supervisor = team.scene.staff("supervisor", sub="sgt-2")
    area = square(Scene.LAT, Scene.LON)
    alert_id = team.scene.publish(officer, supervisor, area)  # the draft's push is delivered with it
    team.scene.propose(officer, alert_id, headline="Arrest made")
    team.scene.propose(officer, alert_id, headline="Two arrests made")  # replaces the first proposal
    proposed = team.staff_pushes()
    approvals = [m for m in proposed if m.kind == "alert_awaiting_approval"]
    assert len({m.occurrence for m in approvals} | {"draft"}) == 3
    for message in approvals + approvals:
        team.run(message)
    assert [n.extra["kind"] for n in team.sends(team.supervisor)] == ["conversation_waiting"] * 2 + \
        ["alert_awaiting_approval"] * 3
    assert [n.extra["kind"] for n in team.sends(team.officer)] == ["conversation_waiting"] * 2  # not to the author


def test_the_web_push_payload_names_the_staff_kind_beside_its_own_kind() -> None:
    """The payload's own `kind` is `alert` (notify/payloads.py keeps it over an extra of that name):
    the service worker reads `staff_kind` to title the notification."""
    import json
    from datetime import UTC, datetime

    from chalicelib.domain.staff_devices import notification
    from chalicelib.notify.payloads import webpush_body

    body = json.loads(webpush_body(notification("alert_awaiting_approval", "north", "a-1", 2,
                                                datetime(2026, 12, 3, tzinfo=UTC), "https://beatline.example")))
    assert (body["kind"], body["staff_kind"], body["count"], body["url"]) == \
        ("alert", "alert_awaiting_approval", "2", "https://beatline.example/team/#approvals")
