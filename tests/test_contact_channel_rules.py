"""Contact channel rules on fakes (docs/channels.md): registration by email or phone, adding and
removing a channel, confirmation by link token (single use, lapses) or by code (attempts), the
one-click unsubscribe token, nothing sent to a pending channel, the address never in the access
log, and the push path sending to confirmed contacts once. HTTP: tests/test_contact_channels.py."""

from __future__ import annotations

import json
from datetime import timedelta

import msgspec
import pytest

from chalicelib.domain.contact_channels import ChannelToken, CodeIn, ConfirmedOut, ConfirmIn, ContactPut
from chalicelib.domain.errors import NotFound, RuleViolation, StateForbids, Unauthenticated
from chalicelib.usecases import alerts as alert_cases
from chalicelib.usecases import contact_channels as usecase
from chalicelib.usecases import subscribers as subscriber_cases
from tests.fakes import FakeChannel
from tests.scenes import Scene, circle, webpush_channel

pytestmark = pytest.mark.no_database

ADDRESS = "jo.resident@Example.ORG"
STORED = "jo.resident@example.org"  # the domain is case-insensitive
PHONE = "+447911123456"


def email_scene() -> Scene:
    scene = Scene()
    scene.fakes.channels["email"] = FakeChannel()
    scene.fakes.channels["sms"] = FakeChannel()
    return scene


def confirm(scene: Scene, token: str) -> object:
    return usecase.confirm_token(scene.svc, scene.context(), ConfirmIn(token=token))


def put(scene: Scene, subscriber_id: str, contact_type: str, **body: str) -> object:
    return usecase.put_channel(scene.svc, scene.as_resident(subscriber_id), contact_type,
                               msgspec.convert(body, ContactPut))


def test_registering_by_email_keeps_the_inbox_and_a_pending_address_that_lapses_unconfirmed() -> None:
    scene = email_scene()
    subscriber_id = scene.register({"type": "email", "address": ADDRESS}, language="cy")
    record = scene.record(subscriber_id)
    assert record is not None and record.channel == {"type": "inbox"}
    (contact,) = record.contacts
    assert (contact.type, contact.address, contact.status) == ("email", STORED, "pending")
    # The confirmation carries a `c.` token naming this subscriber; only its digest is stored.
    (sent,) = scene.fakes.confirmations["email"].sent
    token = ChannelToken.decode(sent[1])
    assert sent[0] == STORED and sent[2] == "cy"
    assert token is not None and (token.purpose, token.type, token.subscriber_id) == ("c", "email", subscriber_id)
    assert token.secret not in json.dumps(contact.__dict__)
    # Unconfirmed, the whole record lapses with the address (TTL) after 48 hours.
    assert record.expires_at == scene.fakes.clock() + timedelta(hours=48)
    out = subscriber_cases.get_me(scene.svc, scene.as_resident(subscriber_id))
    assert out.contacts is not None and out.contacts[0].hint == "j•••@example.org"
    assert STORED not in msgspec.json.encode(out).decode()


def test_the_link_token_confirms_once_and_gives_the_record_its_full_life() -> None:
    scene = email_scene()
    subscriber_id = scene.resident([circle(Scene.LAT, Scene.LON, 300)], {"type": "email", "address": ADDRESS})
    token = scene.fakes.confirmations["email"].last(STORED)
    scene.fakes.clock.advance(hours=47)
    assert confirm(scene, token) == ConfirmedOut(type="email", status="confirmed")
    record = scene.record(subscriber_id)
    assert record is not None and record.contacts[0].status == "confirmed" and record.contacts[0].check is None
    assert record.expires_at > scene.fakes.clock() + timedelta(days=300)
    index_expiry = {entries[subscriber_id][2] for entries in scene.fakes.db.subscriptions.values()
                    if subscriber_id in entries}
    assert index_expiry == {record.expires_at}  # the cell index entries live as long
    with pytest.raises(NotFound):
        confirm(scene, token)  # single use


@pytest.mark.parametrize("tamper", ["secret", "subscriber", "purpose", "lapsed"])
def test_a_wrong_or_lapsed_token_confirms_nothing(tamper: str) -> None:
    scene = email_scene()
    subscriber_id = scene.register({"type": "email", "address": ADDRESS})
    other = scene.register({"type": "email", "address": "someone@example.org"})
    good = ChannelToken.decode(scene.fakes.confirmations["email"].last(STORED))
    assert good is not None
    token = {"secret": ChannelToken("c", "email", subscriber_id, "x" * 43),
             "subscriber": ChannelToken("c", "email", other, good.secret),
             "purpose": ChannelToken("u", "email", subscriber_id, good.secret), "lapsed": good}[tamper]
    if tamper == "lapsed":
        scene.fakes.clock.advance(hours=48, seconds=1)
    with pytest.raises(NotFound):
        confirm(scene, token.encode())
    stored = scene.fakes.db.subscribers[subscriber_id]
    assert stored.contacts[0].status == "pending"


def test_nothing_but_the_confirmation_goes_to_a_pending_address_and_alerts_go_once_confirmed() -> None:
    scene = email_scene()
    area = circle(Scene.LAT, Scene.LON, 300)
    scene.resident([area], {"type": "email", "address": ADDRESS})
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    scene.publish(officer, supervisor, area)
    email = scene.fakes.channels["email"]
    assert email.sent == []
    confirm(scene, scene.fakes.confirmations["email"].last(STORED))
    scene.publish(officer, supervisor, area, headline="Second")
    assert [(key, n.info.headline) for key, n, _ in email.sent] == [(STORED, "Second")]  # type: ignore[union-attr]


def test_a_push_subscriber_adds_an_email_address_and_both_channels_receive_once() -> None:
    scene = email_scene()
    push = webpush_channel()
    area = circle(Scene.LAT, Scene.LON, 300)
    subscriber_id = scene.resident([area], push)
    put(scene, subscriber_id, "email", address=ADDRESS)
    confirm(scene, scene.fakes.confirmations["email"].last(STORED))
    record = scene.record(subscriber_id)
    assert record is not None and record.channel["type"] == "webpush"  # the main channel stays
    scene.push.failing.add(push["subscription"]["endpoint"])
    drafted = scene.draft(scene.staff("officer"), area)
    alert_cases.approve(scene.svc, scene.staff("supervisor"), drafted.id)
    messages = scene.fakes.queue.take_alert_work()
    worker = scene.svc.fanout_worker()
    assert False in [worker.process(m) for m in messages]  # the push failed: redelivered later
    assert scene.fakes.channels["email"].sent == []  # the email waits for the attempt that settles it
    scene.push.failing.clear()
    assert all(worker.process(m) for m in messages)
    assert scene.push.delivered(push["subscription"]["endpoint"]) == 1
    assert [key for key, _, _ in scene.fakes.channels["email"].sent] == [STORED]
    assert all(worker.process(m) for m in messages)  # a third delivery sends nothing
    assert len(scene.fakes.channels["email"].sent) == 1


def test_adding_the_same_address_again_resends_and_voids_the_older_link() -> None:
    scene = email_scene()
    subscriber_id = scene.register(webpush_channel())
    put(scene, subscriber_id, "email", address=ADDRESS)
    first = scene.fakes.confirmations["email"].last(STORED)
    unsubscribe = scene.fakes.db.subscribers[subscriber_id].contacts[0].unsubscribe
    put(scene, subscriber_id, "email", address=ADDRESS)
    second = scene.fakes.confirmations["email"].last(STORED)
    assert first != second
    assert scene.fakes.db.subscribers[subscriber_id].contacts[0].unsubscribe == unsubscribe
    with pytest.raises(NotFound):
        confirm(scene, first)
    confirm(scene, second)
    put(scene, subscriber_id, "email", address=ADDRESS)  # confirmed: nothing is sent again
    assert len(scene.fakes.confirmations["email"].sent) == 2


def test_removing_the_channel_deletes_the_address_and_is_access_logged_without_it() -> None:
    scene = email_scene()
    subscriber_id = scene.register({"type": "email", "address": ADDRESS})
    usecase.delete_channel(scene.svc, scene.as_resident(subscriber_id), "email")
    assert scene.fakes.db.subscribers[subscriber_id].contacts == ()
    actions = [r.action for r in scene.fakes.db.access]
    assert actions == ["subscriber.create", "subscriber.channel.email.remove"]
    assert all(STORED not in repr(r) and "example.org" not in repr(r) for r in scene.fakes.db.access)


def test_a_code_confirms_and_five_wrong_codes_void_it() -> None:
    scene = email_scene()
    subscriber_id = scene.register(webpush_channel())
    put(scene, subscriber_id, "sms", phone=PHONE)
    code = scene.fakes.confirmations["sms"].last(PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(RuleViolation):
            usecase.confirm_code(scene.svc, scene.as_resident(subscriber_id), "sms", CodeIn(code=wrong))
    assert usecase.confirm_code(scene.svc, scene.as_resident(subscriber_id), "sms", CodeIn(code=code)).status == "confirmed"
    put(scene, subscriber_id, "sms", phone="+447911123499")
    for _ in range(5):
        with pytest.raises(RuleViolation):
            usecase.confirm_code(scene.svc, scene.as_resident(subscriber_id), "sms", CodeIn(code=wrong))
    fresh = scene.fakes.confirmations["sms"].last("+447911123499")
    with pytest.raises(StateForbids):  # void after five: the right code no longer works
        usecase.confirm_code(scene.svc, scene.as_resident(subscriber_id), "sms", CodeIn(code=fresh))


def test_an_email_channel_is_not_confirmed_by_a_code_nor_sms_by_the_public_route() -> None:
    scene = email_scene()
    subscriber_id = scene.register({"type": "sms", "phone": PHONE})
    code = scene.fakes.confirmations["sms"].last(PHONE)
    with pytest.raises(NotFound):
        confirm(scene, ChannelToken("c", "sms", subscriber_id, code).encode())
    put(scene, subscriber_id, "email", address=ADDRESS)
    with pytest.raises(StateForbids):
        usecase.confirm_code(scene.svc, scene.as_resident(subscriber_id), "email", CodeIn(code="123456"))


def test_the_unsubscribe_token_removes_only_its_own_channel() -> None:
    scene = email_scene()
    subscriber_id = scene.register(webpush_channel())
    put(scene, subscriber_id, "email", address=ADDRESS)
    put(scene, subscriber_id, "sms", phone=PHONE)
    record = scene.fakes.db.subscribers[subscriber_id]
    target = record.contact("email").target(subscriber_id)  # type: ignore[union-attr]
    usecase.unsubscribe(scene.svc, scene.context(), ChannelToken("u", "email", subscriber_id, "y" * 43).encode())
    assert len(scene.fakes.db.subscribers[subscriber_id].contacts) == 2  # a wrong secret: nothing
    usecase.unsubscribe(scene.svc, scene.context(), target["unsubscribe_token"])
    assert [c.type for c in scene.fakes.db.subscribers[subscriber_id].contacts] == ["sms"]
    assert scene.fakes.db.subscribers[subscriber_id].channel["type"] == "webpush"


def test_without_a_sender_registration_by_email_is_refused_before_anything_is_written() -> None:
    scene = Scene(confirmation_senders={})
    with pytest.raises(StateForbids):
        scene.register({"type": "email", "address": ADDRESS})
    assert scene.fakes.db.subscribers == {} and scene.fakes.db.access == []


def test_erasure_takes_the_address_with_the_record() -> None:
    scene = email_scene()
    subscriber_id = scene.register({"type": "email", "address": ADDRESS})
    confirm(scene, scene.fakes.confirmations["email"].last(STORED))
    subscriber_cases.erase_me(scene.svc, scene.as_resident(subscriber_id))
    assert subscriber_id not in scene.fakes.db.subscribers
    with pytest.raises(Unauthenticated):
        put(scene, subscriber_id, "email", address=ADDRESS)
