"""Subscriber rules on fakes: channels (SNS endpoints made and dropped, refused push endpoints keep
the old channel), areas and their cell index, the inbox, what is access-logged, and erasure that
leaves nothing readable. HTTP parsing, tokens and rate limits are tests/test_subscribers.py."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta

import msgspec
import pytest

from chalicelib.context import RequestContext
from chalicelib.domain.errors import RuleViolation, Unauthenticated
from chalicelib.domain.subscribers import AreasIn, InboxQuery, SubscriberPatch
from chalicelib.settings import SETTINGS
from chalicelib.usecases import alerts as alert_cases
from chalicelib.usecases import subscribers as usecase
from chalicelib.usecases.residents import resident_name
from tests.scenes import Scene, circle, square, webpush_channel

pytestmark = pytest.mark.no_database

FCM_APP = "arn:aws:sns:eu-west-2:123456789012:app/GCM/beatline"


def patch(scene: Scene, subscriber_id: str, **fields: object) -> object:
    body = msgspec.json.decode(json.dumps(fields), type=SubscriberPatch)
    return usecase.patch_me(scene.svc, scene.as_resident(subscriber_id), body)


def test_an_sns_token_becomes_a_platform_endpoint_and_a_channel_change_drops_it() -> None:
    scene = Scene(settings=dataclasses.replace(SETTINGS, sns_platform_app_fcm_arn=FCM_APP))
    subscriber_id = scene.register({"type": "sns", "platform": "fcm", "token": "device-token-1"})
    record = scene.record(subscriber_id)
    assert record is not None
    (arn,) = scene.fakes.registrar.endpoints
    assert record.channel == {"type": "sns", "platform": "fcm", "endpoint_arn": arn}  # the raw token is not kept
    assert scene.fakes.registrar.endpoints[arn] == (FCM_APP, "device-token-1")
    patch(scene, subscriber_id, channel={"type": "inbox"})
    assert scene.fakes.registrar.deleted == [arn]
    assert scene.record(subscriber_id).channel == {"type": "inbox"}  # type: ignore[union-attr]


def test_a_push_endpoint_reaching_an_internal_address_is_refused_and_the_old_channel_stays() -> None:
    scene = Scene()
    good = webpush_channel()
    subscriber_id = scene.register(good)
    bad = {**good, "subscription": {**good["subscription"], "endpoint": "https://0x7f000001/push"}}
    with pytest.raises(RuleViolation) as refused:
        patch(scene, subscriber_id, channel=bad)
    assert refused.value.errors[0].field == "channel.subscription.endpoint"
    assert scene.record(subscriber_id).channel["subscription"]["endpoint"] == good["subscription"]["endpoint"]  # type: ignore[union-attr]


def test_replacing_areas_indexes_the_new_cells_and_drops_the_old_ones() -> None:
    scene = Scene()
    subscriber_id = scene.resident([circle(Scene.LAT, Scene.LON, 300)])
    first = scene.record(subscriber_id)
    assert first is not None and first.cells
    assert all(subscriber_id in scene.fakes.db.subscriptions[c] for c in first.cells)
    far = msgspec.json.decode(json.dumps({"areas": [circle(Scene.LAT + 1, Scene.LON, 300)]}), type=AreasIn)
    out = usecase.put_areas(scene.svc, scene.as_resident(subscriber_id), far)
    second = scene.record(subscriber_id)
    assert second is not None and out.cells == len(second.cells) and not set(first.cells) & set(second.cells)
    indexed = {c for c, entries in scene.fakes.db.subscriptions.items() if subscriber_id in entries}
    assert indexed == set(second.cells)


def test_the_inbox_shows_live_alerts_only() -> None:
    scene = Scene()
    subscriber_id = scene.resident([circle(Scene.LAT, Scene.LON, 300)])
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    scene.publish(officer, supervisor, square(Scene.LAT, Scene.LON), headline="Soon over",
                  expires_at=(scene.fakes.clock() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    scene.fakes.clock.advance(minutes=1)  # the inbox is newest first: one minute apart
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    scene.publish(officer, supervisor, square(Scene.LAT, Scene.LON), headline="Lasting")
    assert [i.headline for i in scene.inbox(subscriber_id)] == ["Lasting", "Soon over"]
    scene.fakes.clock.advance(hours=2)
    assert [i.headline for i in scene.inbox(subscriber_id)] == ["Lasting"]


def test_every_change_is_logged_under_a_pseudonym_and_own_reads_are_not() -> None:
    scene = Scene()
    subscriber_id = scene.register()
    record = scene.record(subscriber_id)
    assert record is not None
    name = resident_name(scene.svc, record)
    usecase.get_me(scene.svc, scene.as_resident(subscriber_id))
    usecase.inbox(scene.svc, scene.as_resident(subscriber_id), InboxQuery())
    patch(scene, subscriber_id, language="cy")
    usecase.erase_me(scene.svc, scene.as_resident(subscriber_id))
    entries = scene.fakes.db.access
    assert sorted(e.action for e in entries) == ["subscriber.create", "subscriber.erase", "subscriber.update"]
    assert {(e.actor, e.record_id) for e in entries} == {(name, name)}  # never the subscriber id


def test_erasure_leaves_nothing_readable() -> None:
    scene = Scene()
    subscriber_id = scene.resident([circle(Scene.LAT, Scene.LON, 300)])
    alert_id = scene.publish(scene.staff("officer"), scene.staff("supervisor"), square(Scene.LAT, Scene.LON))
    alert_cases.read_receipt(scene.svc, scene.as_resident(subscriber_id), alert_id)
    record = scene.record(subscriber_id)
    assert record is not None and record.cells and len(scene.inbox(subscriber_id)) == 1
    usecase.erase_me(scene.svc, scene.as_resident(subscriber_id))
    db = scene.fakes.db
    assert subscriber_id not in db.subscribers and subscriber_id not in db.inbox
    assert [k for k in db.deliveries if k[1] == subscriber_id] == []
    assert all(subscriber_id not in db.subscriptions.get(c, {}) for c in record.cells)
    calls: list[Callable[[RequestContext], object]] = [
        lambda ctx: usecase.get_me(scene.svc, ctx),
        lambda ctx: usecase.inbox(scene.svc, ctx, InboxQuery()),
        lambda ctx: usecase.erase_me(scene.svc, ctx),
        lambda ctx: usecase.put_areas(scene.svc, ctx, AreasIn(areas=[])),
        lambda ctx: usecase.patch_me(scene.svc, ctx, SubscriberPatch()),
        lambda ctx: alert_cases.read_receipt(scene.svc, ctx, alert_id),
    ]
    for call in calls:
        with pytest.raises(Unauthenticated):
            call(scene.as_resident(subscriber_id))
