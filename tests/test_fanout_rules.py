"""Fan-out rules on fakes: who is selected (exact geometry, preferences, erased or stale index
entries), claims before sends (a redelivered message sends nothing twice), retries, gone
endpoints, quiet hours. The worker is the real one (`Services.fanout_worker()`); its storage,
queue, channels and clock are tests/fakes.py. DynamoDB's side of claims is tests/test_port_contract.py."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.ports import FanoutMessage, SendOutcome
from chalicelib.usecases import alerts as alert_cases
from chalicelib.usecases import subscribers as subscriber_cases
from chalicelib.usecases.fanout import MAX_ATTEMPTS
from tests.scenes import Scene, circle, endpoint, square, webpush_channel

pytestmark = pytest.mark.no_database

LONDON = ZoneInfo("Europe/London")
DAY = datetime(2026, 12, 7, tzinfo=UTC).date()


def approved(scene: Scene, **overrides: object) -> tuple[str, list[FanoutMessage]]:
    """A published alert over the scene's spot, and the fan-out messages it queued (not yet run)."""
    drafted = scene.draft(scene.staff("officer"), square(scene.LAT, scene.LON, 0.01), **overrides)
    alert_cases.approve(scene.svc, scene.staff("supervisor"), drafted.id)
    return drafted.id, scene.fakes.queue.take_alert_work()


def figures(scene: Scene, alert_id: str) -> tuple[int, int, int]:
    f = scene.stored(alert_id).figures
    return f["targeted"], f["sent"], f["failed"]


def test_a_redelivered_message_sends_nothing_twice() -> None:
    scene = Scene()
    channels = [webpush_channel() for _ in range(3)]
    for channel in channels:
        scene.resident([circle(scene.LAT, scene.LON, 400)], channel)
    alert_id, messages = approved(scene)
    worker = scene.svc.fanout_worker()
    for _ in range(2):  # SQS delivers at least once
        assert [worker.process(m) for m in messages] == [True] * len(messages)
    assert [scene.push.delivered(endpoint(c)) for c in channels] == [1, 1, 1]
    assert figures(scene, alert_id) == (3, 3, 0)


def test_a_failed_send_is_retried_without_resending_the_others() -> None:
    scene = Scene()
    good, flaky = webpush_channel(), webpush_channel()
    for channel in (good, flaky):
        scene.resident([circle(scene.LAT, scene.LON, 400)], channel)
    scene.push.failing.add(endpoint(flaky))
    alert_id, messages = approved(scene)
    worker = scene.svc.fanout_worker()
    assert False in [worker.process(m) for m in messages]  # reported failed: SQS redelivers it
    assert figures(scene, alert_id) == (2, 1, 1)
    scene.push.failing.clear()
    assert all(worker.process(m) for m in messages)
    assert len(scene.push.sent_to(endpoint(good))) == 1  # never re-sent
    assert scene.push.delivered(endpoint(flaky)) == 1
    assert figures(scene, alert_id) == (2, 2, 0)


def test_a_send_failing_every_attempt_ends_failed_and_stops_being_retried() -> None:
    scene = Scene()
    flaky = webpush_channel()
    scene.resident([circle(scene.LAT, scene.LON, 400)], flaky)
    scene.push.failing.add(endpoint(flaky))
    alert_id, messages = approved(scene)
    worker = scene.svc.fanout_worker()
    results = [all(worker.process(m) for m in messages) for _ in range(MAX_ATTEMPTS)]
    assert results == [False] * (MAX_ATTEMPTS - 1) + [True]  # the last attempt gives up
    assert len(scene.push.sent_to(endpoint(flaky))) == MAX_ATTEMPTS
    assert all(worker.process(m) for m in messages)
    assert len(scene.push.sent_to(endpoint(flaky))) == MAX_ATTEMPTS  # not claimable any more
    assert figures(scene, alert_id) == (1, 0, 1)


def test_a_gone_endpoint_falls_back_to_the_inbox_and_is_never_pushed_to_again() -> None:
    scene = Scene()
    channel = webpush_channel()
    subscriber_id = scene.resident([circle(scene.LAT, scene.LON, 400)], channel)
    scene.push.script[endpoint(channel)] = [SendOutcome.GONE]
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    scene.publish(officer, supervisor, square(scene.LAT, scene.LON, 0.01))
    record = scene.record(subscriber_id)
    assert record is not None and record.channel == {"type": "inbox", "gone": "webpush"}
    scene.publish(officer, supervisor, square(scene.LAT, scene.LON, 0.01))
    assert len(scene.push.sent_to(endpoint(channel))) == 1
    assert len(scene.inbox(subscriber_id)) == 2  # both alerts reached the inbox


def test_preferences_choose_the_language_and_filter_categories_and_severity() -> None:
    scene = Scene()
    here = [circle(scene.LAT, scene.LON, 300)]
    welsh, french, fire_only, severe_only = (webpush_channel() for _ in range(4))
    scene.resident(here, welsh, language="cy")
    scene.resident(here, french, language="fr")
    scene.resident(here, fire_only, categories=["Fire"])
    scene.resident(here, severe_only, min_severity="Severe")
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    scene.publish(officer, supervisor, square(scene.LAT, scene.LON, 0.01),
                  translations={"cy": {"headline": "Lladradau ar Stryd Elm", "description": "Sawl lladrad."}})
    assert scene.headlines_to(welsh) == ["Lladradau ar Stryd Elm"]
    assert [n.info.language for n in scene.notifications_to(french)] == ["en-GB"]
    assert scene.notifications_to(fire_only) == [] and scene.notifications_to(severe_only) == []
    scene.publish(officer, supervisor, square(scene.LAT, scene.LON, 0.01), severity="Severe", category="Fire")
    assert len(scene.notifications_to(fire_only)) == 1 and len(scene.notifications_to(severe_only)) == 1


def test_only_subscribers_whose_own_shape_meets_the_alert_and_who_still_exist_are_told() -> None:
    scene = Scene()
    inside, outside, erased = webpush_channel(), webpush_channel(), webpush_channel()
    scene.resident([circle(scene.LAT, scene.LON, 300)], inside)
    scene.resident([circle(scene.LAT + 0.05, scene.LON, 300)], outside)  # ~5.5 km north: no overlap
    gone = scene.resident([circle(scene.LAT, scene.LON, 300)], erased)
    subscriber_cases.erase_me(scene.svc, scene.as_resident(gone))
    scene.publish(scene.staff("officer"), scene.staff("supervisor"), square(scene.LAT, scene.LON, 0.01))
    assert len(scene.notifications_to(inside)) == 1
    assert scene.notifications_to(outside) == [] and scene.notifications_to(erased) == []


def test_quiet_hours_hold_pushes_until_they_end_unless_the_alert_is_severe() -> None:
    night = datetime.combine(DAY, time(23, 30), tzinfo=LONDON).astimezone(UTC)
    morning = datetime.combine(DAY + timedelta(days=1), time(7, 5), tzinfo=LONDON).astimezone(UTC)
    scene = Scene(now=night)
    sleeper = webpush_channel()
    subscriber_id = scene.resident([circle(scene.LAT, scene.LON, 300)], sleeper,
                                   quiet_hours={"start": "22:00", "end": "07:00", "tz": "Europe/London"})
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    scene.publish(officer, supervisor, square(scene.LAT, scene.LON, 0.01))
    assert scene.notifications_to(sleeper) == []  # held back
    scene.publish(officer, supervisor, square(scene.LAT, scene.LON, 0.01), severity="Extreme",
                  headline="Gas leak: leave the area")
    assert scene.headlines_to(sleeper) == ["Gas leak: leave the area"]  # not held
    assert len(scene.inbox(subscriber_id)) == 2  # the inbox has both at once
    assert scene.release_held() == 0  # still night
    scene.fakes.clock.now = morning
    assert scene.release_held() == 1
    assert [n.severity for n in scene.notifications_to(sleeper)] == ["Extreme", "Moderate"]
    assert scene.release_held() == 0  # released once


def test_a_held_push_that_fails_is_held_again_for_five_minutes() -> None:
    night = datetime.combine(DAY, time(1, 0), tzinfo=LONDON).astimezone(UTC)
    scene = Scene(now=night)
    sleeper = webpush_channel()
    scene.resident([circle(scene.LAT, scene.LON, 300)], sleeper,
                   quiet_hours={"start": "00:00", "end": "06:00", "tz": "Europe/London"})
    scene.publish(scene.staff("officer"), scene.staff("supervisor"), square(scene.LAT, scene.LON, 0.01))
    scene.push.failing.add(endpoint(sleeper))
    scene.fakes.clock.now = datetime.combine(DAY, time(6, 1), tzinfo=LONDON).astimezone(UTC)
    assert scene.release_held() == 1 and scene.push.delivered(endpoint(sleeper)) == 0
    scene.push.failing.clear()
    assert scene.release_held() == 0  # held again until five minutes later
    scene.fakes.clock.advance(minutes=6)
    assert scene.release_held() == 1 and scene.push.delivered(endpoint(sleeper)) == 1


def test_an_update_and_a_cancel_reach_the_first_messages_audience_only() -> None:
    """The audience: whoever has the alert. A resident who follows the area once it is in force
    gets it in the inbox (not pushed: usecases/fanout.deliver_in_force), and so its Update and
    Cancel; a resident who follows it after the Cancel gets nothing."""
    scene = Scene()
    first, later, last = webpush_channel(), webpush_channel(), webpush_channel()
    scene.resident([circle(scene.LAT, scene.LON, 300)], first)
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    alert_id = scene.publish(officer, supervisor, square(scene.LAT, scene.LON, 0.01))
    later_id = scene.resident([circle(scene.LAT, scene.LON, 300)], later)  # subscribed after the Alert went out
    assert scene.notifications_to(later) == [] and [i.msg_type for i in scene.inbox(later_id)] == ["Alert"]
    proposal = scene.propose(officer, alert_id, headline="Arrest made")
    alert_cases.approve(scene.svc, supervisor, alert_id, proposal)
    scene.deliver()
    alert_cases.cancel(scene.svc, supervisor, alert_id)
    scene.deliver()
    assert [n.msg_type for n in scene.notifications_to(first)] == ["Alert", "Update", "Cancel"]
    assert [n.msg_type for n in scene.notifications_to(later)] == ["Update", "Cancel"]
    scene.resident([circle(scene.LAT, scene.LON, 300)], last)  # after the Cancel: not in force
    scene.deliver()
    assert scene.notifications_to(last) == []
