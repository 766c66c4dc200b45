"""Residents keep their context (issue 17, item 14), on fakes: alerts already in force reach a
resident who starts following their area (once, whoever claims first); team answers say which
conversation they are in (topic, area, the alert's headline) in the inbox and the push; alert
copies carry every language's text so the app can switch language."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import msgspec
import pytest

from chalicelib.domain.alerts import InboxItemOut
from chalicelib.domain.conversations import AnswerNotification, ConversationIn, MessageIn, MyConversationsQuery
from chalicelib.domain.subscribers import AreasIn, ConversationInboxItem
from chalicelib.usecases import alerts as alert_cases
from chalicelib.usecases import conversations as conversation_cases
from chalicelib.usecases import subscribers as subscriber_cases
from tests.scenes import OLD, Scene, circle, endpoint, square, webpush_channel

pytestmark = pytest.mark.no_database

FAR = (Scene.LAT + 1.0, Scene.LON)  # about 110 km north: another neighbourhood
WELSH = {"cy": {"headline": "Lladradau ar Stryd Elm", "description": "Sawl lladrad dros nos."}}


def follow(scene: Scene, subscriber_id: str, *areas: dict[str, object]) -> None:
    body = msgspec.json.decode(json.dumps({"areas": list(areas)}), type=AreasIn)
    subscriber_cases.put_areas(scene.svc, scene.as_resident(subscriber_id), body)


def alerts_in(scene: Scene, subscriber_id: str) -> list[str]:
    return [i.headline for i in scene.inbox(subscriber_id) if isinstance(i, InboxItemOut)]


def test_alerts_in_force_reach_a_resident_who_starts_following_their_area() -> None:
    scene = Scene()
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    here = square(Scene.LAT, Scene.LON)
    scene.publish(officer, supervisor, here, headline="In force here")
    scene.publish(officer, supervisor, square(*FAR), headline="In force elsewhere")
    scene.publish(officer, supervisor, here, headline="Fire only", category="Fire")
    cancelled = scene.publish(officer, supervisor, here, headline="Withdrawn")
    alert_cases.cancel(scene.svc, supervisor, cancelled)
    scene.deliver()
    scene.publish(officer, supervisor, here, headline="Over soon",
                  expires_at=(scene.fakes.clock() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    scene.fakes.clock.advance(hours=2)  # ... and now expired
    channel = webpush_channel()
    resident = scene.register(channel, categories=["Security"])
    follow(scene, resident, circle(Scene.LAT, Scene.LON, 300))
    assert alerts_in(scene, resident) == ["In force here"]  # published, unexpired, over the area, wanted
    assert scene.push.sent_to(endpoint(channel)) == []  # the inbox only: not news
    follow(scene, resident, circle(Scene.LAT, Scene.LON, 300))  # saved again: nothing new
    follow(scene, resident, circle(Scene.LAT, Scene.LON, 300), circle(*FAR, 300))  # a second area
    assert sorted(alerts_in(scene, resident)) == ["In force elsewhere", "In force here"]
    figures = scene.stored(next(a.id for a in scene.fakes.db.alerts.values() if a.content.headline == "In force here"))
    assert figures.figures.get("targeted") == 1


def test_a_fan_out_running_meanwhile_adds_no_duplicate() -> None:
    """Approved, its fan-out not yet run: the resident follows the area (claimed by the follow),
    then the fan-out runs: one inbox copy and no push; and the other order the same."""
    scene = Scene()
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    drafted = scene.draft(officer, square(Scene.LAT, Scene.LON), headline="Racing")
    alert_cases.approve(scene.svc, supervisor, drafted.id)  # queued, not delivered
    channel = webpush_channel()
    first = scene.register(channel)
    follow(scene, first, circle(Scene.LAT, Scene.LON, 300))
    scene.deliver()
    assert alerts_in(scene, first) == ["Racing"] and scene.push.sent_to(endpoint(channel)) == []
    second = scene.resident([circle(Scene.LAT, Scene.LON, 300)])  # follows after: one copy
    scene.deliver()
    follow(scene, second, circle(Scene.LAT, Scene.LON, 300), circle(*FAR, 300))
    assert alerts_in(scene, second) == ["Racing"]


def start(scene: Scene, resident: str, area_id: str, topic: str) -> str:
    body = ConversationIn(id=uuid.uuid4(), topic=topic, text="Loud music at no. 4", area_id=uuid.UUID(area_id))
    return conversation_cases.start(scene.svc, scene.as_resident(resident), body).value.id


def answer(scene: Scene, conversation_id: str) -> None:
    conversation_cases.post_message(scene.svc, scene.staff("officer"), conversation_id,
                                    MessageIn(id=uuid.uuid4(), text="We will look into it"))


def test_answers_say_which_conversation_in_the_inbox_and_the_push() -> None:
    scene = Scene()
    area_id = scene.area()
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    alert_id = scene.publish(officer, supervisor, {"area_id": area_id}, translations=WELSH)
    english, welsh = webpush_channel(), webpush_channel()
    results = {}
    for channel, language in ((english, "en-GB"), (welsh, "cy")):
        resident = scene.register(channel, language=language)
        follow(scene, resident, {"area_id": area_id})
        about_noise = start(scene, resident, area_id, "noise")
        reply = alert_cases.respond(scene.svc, scene.as_resident(resident), alert_id,
                                    msgspec.convert({"message": "Seen a van"}, alert_cases.ResponseIn))
        for conversation_id in (about_noise, reply.conversation_id):
            answer(scene, conversation_id)
        scene.deliver()
        answers = {i.conversation_id: i for i in scene.inbox(resident) if isinstance(i, ConversationInboxItem)}
        noise, alert = answers[about_noise], answers[str(reply.conversation_id)]
        assert (noise.topic, noise.area_name, noise.alert_id, noise.alert_headlines) == ("noise", "Elm ward", None, None)
        assert (alert.topic, alert.alert_id) == ("other", alert_id)
        assert alert.alert_headlines == {"en-GB": OLD, "cy": "Lladradau ar Stryd Elm"}
        pushes = [n for n in scene.push.answers_to(endpoint(channel))]
        assert all(isinstance(n, AnswerNotification) for n in pushes)
        results[language] = sorted((n.title, n.context) for n in pushes)
        mine = conversation_cases.mine(scene.svc, scene.as_resident(resident), MyConversationsQuery())
        titled = {c.id: (c.area_name, c.alert_headlines) for c in mine.items}
        assert titled[str(reply.conversation_id)] == ("Elm ward", {"en-GB": OLD, "cy": "Lladradau ar Stryd Elm"})
    assert results["en-GB"] == sorted([("Your neighbourhood team answered", "Elm ward: Noise"),
                                       ("Your neighbourhood team answered", OLD)])
    assert results["cy"] == sorted([("Atebodd eich tîm cymdogaeth", "Elm ward: Sŵn"),
                                    ("Atebodd eich tîm cymdogaeth", "Lladradau ar Stryd Elm")])


def test_alert_copies_carry_every_language() -> None:
    scene = Scene()
    resident = scene.resident([circle(Scene.LAT, Scene.LON, 300)], language="cy")
    scene.publish(scene.staff("officer"), scene.staff("supervisor"), square(Scene.LAT, Scene.LON), translations=WELSH)
    [item] = scene.inbox(resident)
    assert (item.language, item.headline) == ("cy", "Lladradau ar Stryd Elm")  # in the resident's language
    assert {t.language: t.headline for t in item.translations} == {"en-GB": OLD, "cy": "Lladradau ar Stryd Elm"}
