"""Which channels a conversation reaches, for staff (issue 22; the team app's "Reaches" line): the
kinds only (app, push, email, sms), never an address or a number; a pending contact channel does
not count; nothing once the resident is erased; absent from the resident's own read. On fakes."""

from __future__ import annotations

import json
import uuid

import msgspec
import pytest

from chalicelib.domain.contact_channels import ConfirmIn, ContactPut
from chalicelib.domain.conversations import ConversationIn
from chalicelib.usecases import contact_channels as channel_cases
from chalicelib.usecases import conversations as conversation_cases
from chalicelib.usecases import subscribers as subscriber_cases
from tests.fakes import FakeChannel
from tests.scenes import Scene, webpush_channel

pytestmark = pytest.mark.no_database

ADDRESS = "jo.resident@example.org"
PHONE = "+447911123456"  # a real-format mobile: libphonenumber refuses Ofcom drama numbers


def scene_with_contact_channels() -> Scene:
    scene = Scene()
    scene.fakes.channels["email"] = FakeChannel()
    scene.fakes.channels["sms"] = FakeChannel()
    return scene


def start(scene: Scene, resident: str) -> str:
    body = ConversationIn(id=uuid.uuid4(), topic="noise", text="Loud music", area_id=uuid.UUID(scene.area("north")))
    return conversation_cases.start(scene.svc, scene.as_resident(resident), body).value.id


def staff_read(scene: Scene, conv_id: str) -> list[str] | None:
    return conversation_cases.get(scene.svc, scene.staff("officer", team="north"), conv_id).reaches


def add(scene: Scene, resident: str, contact_type: str, **body: str) -> None:
    channel_cases.put_channel(scene.svc, scene.as_resident(resident), contact_type, msgspec.convert(body, ContactPut))


def test_staff_see_the_kinds_of_channel_an_answer_reaches_and_never_the_address() -> None:
    scene = scene_with_contact_channels()
    pushed = scene.register(webpush_channel())
    add(scene, pushed, "email", address=ADDRESS)
    add(scene, pushed, "sms", phone=PHONE)
    conv_id = start(scene, pushed)
    assert staff_read(scene, conv_id) == ["app", "push"]  # both contact channels still pending
    channel_cases.confirm_token(scene.svc, scene.context(), ConfirmIn(
        token=scene.fakes.confirmations["email"].last(ADDRESS)))
    out = conversation_cases.get(scene.svc, scene.staff("officer", team="north"), conv_id)
    assert out.reaches == ["app", "push", "email"]
    assert ADDRESS not in json.dumps(msgspec.to_builtins(out)) and "7700" not in json.dumps(msgspec.to_builtins(out))
    own = conversation_cases.get(scene.svc, scene.as_resident(pushed), conv_id)
    assert own.reaches is None and b"reaches" not in msgspec.json.encode(own)  # not in the resident's read

    inbox_only = scene.register()
    conv_inbox = start(scene, inbox_only)
    assert staff_read(scene, conv_inbox) == ["app"]
    subscriber_cases.erase_me(scene.svc, scene.as_resident(inbox_only))
    assert staff_read(scene, conv_inbox) == []
