"""Notice pushes on fakes ("you said, we did" and beat meeting reminders): each resident on a push
channel gets one push per notice however often the queue message is delivered, quiet hours hold it
and housekeeping releases it once, inbox-only and erased residents get none, audiences go out in
messages of at most 50, Welsh residents read Welsh titles. The worker is the real one
(`Services.push_worker()`); storage, queue, channels and clock are tests/fakes.py."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain.meetings import MeetingIn
from chalicelib.domain.notices import MEETING_REMINDER, PRIORITY_ACTION
from chalicelib.domain.priorities import ActionIn, PriorityIn
from chalicelib.notify.payloads import webpush_body
from chalicelib.ports import NoticePush, SendOutcome
from chalicelib.usecases import meetings as meeting_cases
from chalicelib.usecases import priorities as priority_cases
from chalicelib.usecases import subscribers as subscriber_cases
from tests.scenes import Scene, endpoint, webpush_channel

pytestmark = pytest.mark.no_database

ISSUE = "Speeding on Mill Lane at school times"


def follower(scene: Scene, area: str, channel: dict[str, Any] | None = None, **prefs: Any) -> str:
    return scene.resident([{"area_id": area}], channel, **prefs)


def priority(scene: Scene, area: str) -> str:
    body = msgspec.convert({"id": str(uuid.uuid4()), "issue": ISSUE, "topic": "road_safety"}, PriorityIn)
    return priority_cases.propose(scene.svc, scene.staff("supervisor"), area, body)[1].id


def support(scene: Scene, pid: str, *residents: str) -> None:
    for resident in residents:
        priority_cases.support(scene.svc, scene.as_resident(resident), pid)


def act(scene: Scene, pid: str) -> list[NoticePush]:
    """An officer posts an action; the notice messages it queued (not yet run)."""
    body = msgspec.convert({"id": str(uuid.uuid4()), "text": "Speed checks: 14 drivers stopped.",
                            "at": to_rfc3339(scene.fakes.clock() - timedelta(hours=1))}, ActionIn, strict=False)
    priority_cases.post_action(scene.svc, scene.staff("officer"), pid, body)
    taken = scene.fakes.queue.take()
    assert all(isinstance(m, NoticePush) for m in taken), taken
    return [m for m in taken if isinstance(m, NoticePush)]


def run(scene: Scene, messages: list[NoticePush]) -> list[bool]:
    worker = scene.svc.push_worker()
    return [worker.process(m) for m in messages]


def quiet_now(scene: Scene) -> dict[str, str]:
    now = scene.fakes.clock()
    return {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M"),
            "tz": "UTC"}


def test_an_action_is_pushed_once_to_each_supporter_however_often_delivered() -> None:
    scene = Scene()
    area = scene.area()
    channels = [webpush_channel(), webpush_channel()]
    residents = [follower(scene, area, c) for c in channels]
    pid = priority(scene, area)
    support(scene, pid, *residents)
    messages = act(scene, pid)
    assert [(m.kind, m.ref.split(":")[0], sorted(m.subscribers)) for m in messages] == [
        (PRIORITY_ACTION, pid, sorted(residents))]
    for _ in range(3):  # SQS delivers at least once
        assert run(scene, messages) == [True]
    for channel in channels:
        notices = scene.push.notices_to(endpoint(channel))
        assert [(n.kind, n.title, n.body, n.language) for n in notices] == [
            (PRIORITY_ACTION, "Your neighbourhood team: what we did", ISSUE, "en-GB")]
        payload = json.loads(webpush_body(notices[0]))
        assert (payload["kind"], payload["notice"], payload["description"]) == ("notice", PRIORITY_ACTION, ISSUE)
        assert payload["url"].endswith("/app/") and "Speed checks" not in json.dumps(payload)


def test_inbox_only_and_erased_residents_get_no_push_but_the_rest_do() -> None:
    scene = Scene()
    area = scene.area()
    pushed, erased_channel = webpush_channel(), webpush_channel()
    on_push = follower(scene, area, pushed)
    inbox_only = follower(scene, area)
    erased = follower(scene, area, erased_channel)
    pid = priority(scene, area)
    support(scene, pid, on_push, inbox_only, erased)
    messages = act(scene, pid)
    subscriber_cases.erase_me(scene.svc, scene.as_resident(erased))
    assert run(scene, messages) == [True]
    assert len(scene.push.notices_to(endpoint(pushed))) == 1
    assert scene.push.notices_to(endpoint(erased_channel)) == []
    assert [key for key, _, _ in scene.push.sent] == [endpoint(pushed)]  # nothing for the inbox-only one
    assert [type(i).__name__ for i in scene.inbox(inbox_only)] == ["PriorityActionInboxItem"]  # the inbox has it


def test_quiet_hours_hold_a_notice_and_housekeeping_releases_it_once() -> None:
    scene = Scene()
    area = scene.area()
    channel = webpush_channel()
    resident = follower(scene, area, channel, quiet_hours=quiet_now(scene))
    pid = priority(scene, area)
    support(scene, pid, resident)
    messages = act(scene, pid)
    assert run(scene, messages) == [True]
    assert run(scene, messages) == [True]  # redelivered while held: still held, nothing sent
    assert scene.push.notices_to(endpoint(channel)) == []
    assert scene.release_held() == 0  # quiet hours still on
    scene.fakes.clock.advance(minutes=70)
    assert scene.release_held() == 1
    assert scene.release_held() == 0
    assert run(scene, messages) == [True]  # a late redelivery sends nothing again
    assert [n.kind for n in scene.push.notices_to(endpoint(channel))] == [PRIORITY_ACTION]


def test_a_failed_send_is_retried_and_a_gone_endpoint_falls_back_to_the_inbox() -> None:
    scene = Scene()
    area = scene.area()
    flaky, gone = webpush_channel(), webpush_channel()
    residents = [follower(scene, area, flaky), follower(scene, area, gone)]
    pid = priority(scene, area)
    support(scene, pid, *residents)
    scene.push.script[endpoint(flaky)] = [SendOutcome.RETRY]
    scene.push.script[endpoint(gone)] = [SendOutcome.GONE]
    messages = act(scene, pid)
    assert run(scene, messages) == [False]  # SQS redelivers it
    assert run(scene, messages) == [True]
    assert scene.push.delivered(endpoint(flaky)) == 1
    assert len(scene.push.notices_to(endpoint(gone))) == 1  # tried once, not again
    record = scene.record(residents[1])
    assert record is not None and record.channel["type"] == "inbox"


def test_a_large_audience_goes_out_in_messages_of_at_most_50() -> None:
    scene = Scene()
    area = scene.area()
    residents = [follower(scene, area) for _ in range(120)]
    pid = priority(scene, area)
    support(scene, pid, *residents)
    messages = act(scene, pid)
    assert [len(m.subscribers) for m in messages] == [50, 50, 20]
    assert sorted(s for m in messages for s in m.subscribers) == sorted(residents)


def test_a_meeting_reminder_is_pushed_the_day_before_in_the_residents_language() -> None:
    scene = Scene()
    area = scene.area()
    english, welsh = webpush_channel(), webpush_channel()
    attendees = [follower(scene, area, english), follower(scene, area, welsh, language="cy")]
    start = scene.fakes.clock() + timedelta(days=3)
    body = msgspec.convert({"id": str(uuid.uuid4()), "title": "Beat surgery", "type": "surgery",
                            "address": "Mill Lane library", "start": to_rfc3339(start),
                            "end": to_rfc3339(start + timedelta(hours=1))}, MeetingIn, strict=False)
    meeting_id = meeting_cases.publish(scene.svc, scene.staff("officer"), area, body)[1].id
    for resident in attendees:
        meeting_cases.attend(scene.svc, scene.as_resident(resident), meeting_id)
    scene.fakes.queue.take()
    later = start - timedelta(hours=23)
    scene.fakes.clock.now = later
    assert meeting_cases.remind_meetings(scene.svc, later) == 2
    assert meeting_cases.remind_meetings(scene.svc, later) == 0  # reminded once
    messages = scene.fakes.queue.take()
    assert [(m.kind, m.ref) for m in messages if isinstance(m, NoticePush)] == [(MEETING_REMINDER, meeting_id)]
    for _ in range(2):
        assert [scene.svc.push_worker().process(m) for m in messages] == [True]
    (in_english,) = scene.push.notices_to(endpoint(english))
    (in_welsh,) = scene.push.notices_to(endpoint(welsh))
    assert (in_english.title, in_english.language) == ("Beat meeting tomorrow", "en-GB")
    assert (in_welsh.title, in_welsh.language) == ("Cyfarfod cymdogaeth yfory", "cy")
    assert in_english.body.startswith("Beat surgery · ") and in_english.body == in_welsh.body
    assert in_english.body.endswith("/12/2026 12:00")  # NOW is 12:00 UTC = 12:00 in London in December
