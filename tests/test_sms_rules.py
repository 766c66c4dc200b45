"""SMS rules on fakes: one-time codes (digest only, expiry, attempts, rate limits per number and per
subscriber), alert texts (severity threshold and the resident's own choice, exactly once, per-alert
and per-day ceilings, retries, Welsh within the budget), the SMS queue between the push worker
(queues one job per text, ids only, sends nothing) and the SMS sender (texts each job once however
often it is delivered), inbound STOP and delivery status."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from chalicelib.domain.alerts import AlertRecord, notification_for
from chalicelib.domain.contact_channels import CodeIn, ContactPut
from chalicelib.domain.errors import RateLimited, RuleViolation, StateForbids
from chalicelib.domain.sms import SmsJob, count_segments
from chalicelib.domain.subscribers import SubscriberRecord
from chalicelib.ports import SendOutcome
from chalicelib.services import Services
from chalicelib.usecases import alerts as alert_cases
from chalicelib.usecases import contact_channels, sms_inbound, sms_numbers
from chalicelib.usecases.sms_alerts import AlertTexts, SmsJobs, delivery_key
from tests.scenes import Scene, circle, square
from tests.sms_fakes import FakeSmsQueue

pytestmark = pytest.mark.no_database

NUMBER = "+447911123456"
OTHER = "+447400123456"


def settings_with(scene: Scene, **changes: object) -> None:
    import dataclasses

    scene.svc.settings = dataclasses.replace(scene.svc.settings, **changes)  # type: ignore[arg-type]


def resident(scene: Scene, **prefs: Any) -> SubscriberRecord:
    record = scene.record(scene.register(**prefs))
    assert record is not None
    return record


# --- numbers: which may be added, how often a code may be texted ---------------------------------

def admit(scene: Scene, sub: SubscriberRecord, raw: str) -> str:
    return sms_numbers.admit(scene.svc, scene.as_resident(sub.id), sub.id, raw)


def test_admitted_number_is_e164() -> None:
    scene = Scene()
    sub = resident(scene)
    assert admit(scene, sub, "+44 7911 123456") == NUMBER


def test_codes_limited_per_number_across_subscribers() -> None:
    scene = Scene()
    allowed = scene.svc.settings.sms_codes_per_hour
    for _ in range(allowed):
        admit(scene, resident(scene), NUMBER)
    sub = resident(scene)
    with pytest.raises(RateLimited) as refused:
        admit(scene, sub, NUMBER)
    assert 0 < refused.value.retry_after <= 3600
    admit(scene, sub, OTHER)  # another number is fine


def test_codes_limited_per_subscriber_across_numbers() -> None:
    scene = Scene()
    sub = resident(scene)
    numbers = [f"+4479111234{n:02d}" for n in range(10)]
    for number in numbers[:scene.svc.settings.sms_codes_per_hour]:
        admit(scene, sub, number)
    with pytest.raises(RateLimited):
        admit(scene, sub, numbers[-1])
    scene.fakes.clock.advance(hours=1)
    admit(scene, sub, numbers[-1])  # a new hour


def test_codes_limited_per_day() -> None:
    scene = Scene()
    sub = resident(scene)
    for _ in range(scene.svc.settings.sms_codes_per_day):
        admit(scene, sub, NUMBER)
        scene.fakes.clock.advance(hours=1)
    with pytest.raises(RateLimited):
        admit(scene, sub, NUMBER)


@pytest.mark.parametrize("raw", ["07911123456", "+442079460000", "+44791112345", "+447911123456\n"])
def test_numbers_refused_with_a_field_error(raw: str) -> None:
    scene = Scene()
    sub = resident(scene)
    with pytest.raises(RuleViolation) as refused:
        admit(scene, sub, raw)
    assert refused.value.errors[0].field == "phone"


def test_opted_out_number_is_told_how_to_opt_in() -> None:
    scene = Scene()
    sub = resident(scene)
    scene.fakes.sms.opted.add(NUMBER)
    with pytest.raises(StateForbids, match="START"):
        admit(scene, sub, NUMBER)


def test_stop_index_holds_no_number() -> None:
    scene = Scene()
    sub = resident(scene)
    sms_numbers.confirmed(scene.svc, sub.id, NUMBER, sub.expires_at)
    assert scene.svc.store.sms.holders(sms_numbers.number_digest(scene.svc, NUMBER)) == [sub.id]
    assert scene.svc.store.sms.numbers_held() == []  # type: ignore[attr-defined]
    sms_numbers.forget(scene.svc, sub.id, NUMBER)
    assert scene.svc.store.sms.holders(sms_numbers.number_digest(scene.svc, NUMBER)) == []


# --- alert texts ---------------------------------------------------------------------------------

def texts(svc: Services, scene: Scene) -> AlertTexts:
    return AlertTexts(store=svc.store, sender=scene.fakes.sms, settings=svc.settings, clock=scene.fakes.clock)


def target(sub: SubscriberRecord, number: str, asked: str | None = None) -> dict[str, Any]:
    """A confirmed sms contact as PushSender hands it to the channel."""
    return {"type": "sms", "address": number, "subscriber_id": sub.id, **({"min_severity": asked} if asked else {})}


def deliver(scene: Scene, alert: AlertRecord, targets: list[tuple[SubscriberRecord, str, str | None]]) -> list[SendOutcome]:
    channel = texts(scene.svc, scene)
    return [channel.send(target(sub, number, asked), notification_for(alert, sub.preferences.language,
                                                                      base_url=scene.svc.settings.public_base_url))
            for sub, number, asked in targets]


def published(scene: Scene, **overrides: object) -> str:
    officer, supervisor = scene.staff("officer"), scene.staff("supervisor")
    return scene.publish(officer, supervisor, square(scene.LAT, scene.LON), **overrides)


@pytest.mark.parametrize(("severity", "asked", "sent"), [
    ("Severe", None, 1), ("Extreme", None, 1), ("Moderate", None, 0), ("Moderate", "Moderate", 1),
    ("Severe", "Extreme", 0),
])
def test_severity_rule(severity: str, asked: str | None, sent: int) -> None:
    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity=severity))
    assert deliver(scene, alert, [(sub, NUMBER, asked)]) == [SendOutcome.SENT]
    assert len(scene.fakes.sms.texts_to(NUMBER)) == sent


def test_one_text_per_alert_however_often_delivered() -> None:
    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity="Severe", headline="Gas leak on Elm Street"))
    for _ in range(3):
        deliver(scene, alert, [(sub, NUMBER, None)])
    assert len(scene.fakes.sms.texts_to(NUMBER)) == 1
    text = scene.fakes.sms.texts_to(NUMBER)[0]
    assert "Severe: Gas leak on Elm Street." in text and text.endswith(f"/app/#alert={alert.id}")
    assert count_segments(text).count <= scene.svc.settings.sms_segment_budget


def test_retry_then_sent_once() -> None:
    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity="Severe"))
    scene.fakes.sms.outcomes = [SendOutcome.RETRY]
    assert deliver(scene, alert, [(sub, NUMBER, None)]) == [SendOutcome.RETRY]  # the queue redelivers
    assert deliver(scene, alert, [(sub, NUMBER, None)]) == [SendOutcome.SENT]
    assert deliver(scene, alert, [(sub, NUMBER, None)]) == [SendOutcome.SENT]
    assert len(scene.fakes.sms.texts_to(NUMBER)) == 1


def test_refused_text_is_failed_and_not_retried() -> None:
    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity="Severe"))
    scene.fakes.sms.outcomes = [SendOutcome.FAILED]
    assert deliver(scene, alert, [(sub, NUMBER, None)]) == [SendOutcome.FAILED]
    assert deliver(scene, alert, [(sub, NUMBER, None)]) == [SendOutcome.SENT]  # claimed: nothing more
    delivery = scene.svc.store.deliveries.get(delivery_key(alert.id), sub.id)
    assert delivery is not None and delivery.state == "failed" and scene.fakes.sms.sent == []


def test_per_alert_ceiling() -> None:
    scene = Scene()
    settings_with(scene, sms_per_alert_ceiling=2)
    subs = [resident(scene) for _ in range(4)]
    alert = scene.stored(published(scene, severity="Severe"))
    deliver(scene, alert, [(s, f"+4479111234{i:02d}", None) for i, s in enumerate(subs)])
    assert len(scene.fakes.sms.sent) == 2
    day = scene.svc.store.sms.figures("sms", "2026-11-30", "2026-11-30")[0][1]
    assert (day["sent"], day["capped"]) == (2, 2)
    capped = [scene.svc.store.deliveries.get(delivery_key(alert.id), s.id) for s in subs[2:]]
    assert all(d is not None and d.state == "capped" for d in capped)
    other = scene.stored(published(scene, severity="Severe"))  # the next alert has its own ceiling
    deliver(scene, other, [(subs[0], "+447911123400", None)])
    assert len(scene.fakes.sms.sent) == 3


def test_per_day_ceiling_across_alerts_and_the_next_day() -> None:
    scene = Scene()
    settings_with(scene, sms_per_day_ceiling=3)
    sub_a, sub_b = resident(scene), resident(scene)
    for _ in range(2):
        alert = scene.stored(published(scene, severity="Severe"))
        deliver(scene, alert, [(sub_a, NUMBER, None), (sub_b, OTHER, None)])
    assert len(scene.fakes.sms.sent) == 3
    scene.fakes.clock.advance(days=1)
    alert = scene.stored(published(scene, severity="Severe"))
    deliver(scene, alert, [(sub_a, NUMBER, None)])
    assert len(scene.fakes.sms.sent) == 4


def test_welsh_resident_gets_welsh_within_the_budget() -> None:
    scene = Scene()
    sub = resident(scene, language="cy")
    long_cy = "Mae'r ffordd ar gau ger y bont; dilynwch y gwyriadau tua'r dŵr. " * 8
    alert = scene.stored(published(scene, severity="Severe", translations={
        "cy": {"headline": "Ffordd ar gau ger Llanfair ŷ", "description": long_cy}}, instruction=None))
    deliver(scene, alert, [(sub, NUMBER, None)])
    (text,) = scene.fakes.sms.texts_to(NUMBER)
    assert text.startswith("Beatline Police Difrifol: Ffordd ar gau ger Llanfair ŷ. Mae'r")
    assert "\u2026 http" in text  # UCS-2 already: the one-unit ellipsis
    segments = count_segments(text)
    assert segments.encoding == "UCS-2" and segments.count == 2


def test_cut_before_a_welsh_letter_when_that_keeps_more() -> None:
    """A body whose only UCS-2 letter comes late is cut before it: GSM-7 holds more than UCS-2."""
    scene = Scene()
    sub = resident(scene, language="cy")
    long_cy = "Mae'r ffordd ar gau ger y bont; dilynwch y gwyriadau. " * 4 + "dŵr " * 40
    alert = scene.stored(published(scene, severity="Severe", translations={
        "cy": {"headline": "Ffordd ar gau", "description": long_cy}}, instruction=None))
    deliver(scene, alert, [(sub, NUMBER, None)])
    (text,) = scene.fakes.sms.texts_to(NUMBER)
    segments = count_segments(text)
    assert segments.encoding == "GSM-7" and segments.count == 2 and segments.units > 2 * 67 * 1.5


# --- the SMS queue: the push worker queues, the SMS sender texts ----------------------------------

def texter(scene: Scene, number: str = NUMBER) -> str:
    """A resident following the scene's spot with `number` confirmed for texts: the id."""
    sub_id = scene.resident([circle(scene.LAT, scene.LON, 300)])
    contact_channels.put_channel(scene.svc, scene.as_resident(sub_id), "sms", msgspec.convert({"phone": number}, ContactPut))
    code = scene.fakes.confirmations["sms"].last(number)
    contact_channels.confirm_code(scene.svc, scene.as_resident(sub_id), "sms", CodeIn(code=code))
    return sub_id


def queued_scene() -> tuple[Scene, FakeSmsQueue]:
    queue = FakeSmsQueue()
    return Scene(sms_queue=queue), queue


def run_sender(scene: Scene, records: list[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """The sms_sender function's turn on one batch (what app.sms_sender calls)."""
    return scene.svc.alert_texts.handle_sqs_records(records)


def test_the_worker_queues_one_job_per_text_holding_no_number_and_texts_nothing() -> None:
    scene, queue = queued_scene()
    sub_id = texter(scene)
    published(scene, severity="Moderate")  # below the force's bar: no job at all
    assert queue.bodies == []
    alert_id = published(scene, severity="Severe")
    assert queue.jobs() == [SmsJob(kind="alert", alert_id=alert_id, subscriber_id=sub_id)]
    assert NUMBER not in queue.bodies[0] and NUMBER[1:] not in queue.bodies[0]
    assert scene.fakes.sms.sent == []  # the worker sends no text (its role may not)
    records = queue.take()
    for _ in range(3):  # SQS redelivers (a visibility timeout, a lost delete): one text
        assert run_sender(scene, records) == {"batchItemFailures": []}
    (text,) = scene.fakes.sms.texts_to(NUMBER)
    assert "Severe:" in text and text.endswith(f"/app/#alert={alert_id}")
    day = scene.svc.store.sms.figures("sms", "2026-11-30", "2026-11-30")[0][1]
    assert day["sent"] == 1
    alert_cases.cancel(scene.svc, scene.staff("supervisor"), alert_id)
    scene.deliver()
    assert queue.bodies == []  # a Cancel queues no second text


def test_a_job_retried_after_a_transient_failure_texts_once() -> None:
    scene, queue = queued_scene()
    sub_id = texter(scene)
    alert_id = published(scene, severity="Severe")
    records = queue.take()
    scene.fakes.sms.outcomes = [SendOutcome.RETRY]
    assert run_sender(scene, records) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}  # SQS redelivers
    delivery = scene.svc.store.deliveries.get(delivery_key(alert_id), sub_id)
    assert delivery is not None and delivery.state == "retry"
    for _ in range(2):
        assert run_sender(scene, records) == {"batchItemFailures": []}
    assert len(scene.fakes.sms.texts_to(NUMBER)) == 1


def test_a_job_texts_nothing_once_the_number_is_removed_or_the_alert_cancelled() -> None:
    scene, queue = queued_scene()
    texter(scene, NUMBER)
    removed = texter(scene, OTHER)
    published(scene, severity="Severe")
    contact_channels.delete_channel(scene.svc, scene.as_resident(removed), "sms")
    assert run_sender(scene, queue.take()) == {"batchItemFailures": []}
    assert scene.fakes.sms.texts_to(OTHER) == [] and len(scene.fakes.sms.texts_to(NUMBER)) == 1
    cancelled = published(scene, severity="Severe")
    alert_cases.cancel(scene.svc, scene.staff("supervisor"), cancelled)
    assert run_sender(scene, queue.take()) == {"batchItemFailures": []}
    assert len(scene.fakes.sms.texts_to(NUMBER)) == 1


@pytest.mark.parametrize("body", ["not json", "{}", json.dumps({"type": "sms", "kind": "notice", "alert_id": "a",
                                                                  "subscriber_id": "s"}),
                                  json.dumps({"type": "sms", "kind": "alert", "alert_id": 5, "subscriber_id": "s"})])
def test_a_body_that_is_not_a_job_is_reported_failed(body: str) -> None:
    scene = Scene()
    assert run_sender(scene, [("m-1", body)]) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert scene.fakes.sms.sent == []


def test_a_queue_that_refuses_the_job_is_retry() -> None:
    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity="Severe"))
    note = notification_for(alert, None, base_url=scene.svc.settings.public_base_url)
    jobs = SmsJobs(queue=FakeSmsQueue(refuse=True), settings=scene.svc.settings)
    assert jobs.send(target(sub, NUMBER), note) is SendOutcome.RETRY
    below = SmsJobs(queue=FakeSmsQueue(refuse=True), settings=scene.svc.settings)
    assert below.send(target(sub, NUMBER, "Extreme"), note) is SendOutcome.SENT  # nothing to text: not queued


# --- inbound -------------------------------------------------------------------------------------

def confirmed(scene: Scene, number: str = NUMBER) -> SubscriberRecord:
    sub = resident(scene)
    sms_numbers.confirmed(scene.svc, sub.id, number, sub.expires_at)
    return sub


def inbound(number: str, body: str) -> str:
    return json.dumps({"originationNumber": number, "destinationNumber": "+447700000001", "messageKeyword": "KEYWORD",
                       "messageBody": body, "inboundMessageId": "in-1"})


def test_stop_unsubscribes_every_holder_of_the_number() -> None:
    scene = Scene()
    first, second, other = confirmed(scene), confirmed(scene), confirmed(scene, OTHER)
    removed: list[tuple[str, str]] = []

    def remove(svc: Services, subscriber_id: str, number: str) -> None:
        removed.append((subscriber_id, number))
        sms_numbers.forget(svc, subscriber_id, number)

    assert sms_inbound.handle(scene.svc, inbound(NUMBER, "Stop."), remove) == "stop"
    assert sorted(removed) == sorted([(first.id, NUMBER), (second.id, NUMBER)])
    assert scene.svc.store.sms.holders(sms_numbers.number_digest(scene.svc, NUMBER)) == []
    assert scene.svc.store.sms.holders(sms_numbers.number_digest(scene.svc, OTHER)) == [other.id]
    assert scene.svc.store.sms.figures("sms", "2026-11-30", "2026-11-30")[0][1]["stopped"] == 2


def test_force_keyword_and_ordinary_texts() -> None:
    scene = Scene()
    settings_with(scene, sms_stop_keywords=("STOP", "DIWEDD"))
    sub = confirmed(scene)
    removed: list[str] = []

    def remove(svc: Services, subscriber_id: str, number: str) -> None:
        removed.append(subscriber_id)

    assert sms_inbound.handle(scene.svc, inbound(NUMBER, "There is a car on fire on Elm St"), remove) == "ignored"
    assert sms_inbound.handle(scene.svc, inbound(NUMBER, "unsubscribe"), remove) == "ignored"  # not this force's
    assert removed == []
    assert sms_inbound.handle(scene.svc, inbound(NUMBER, "diwedd"), remove) == "stop"
    assert removed == [sub.id]


@pytest.mark.parametrize("message", [
    "not json", "[]", "{}", json.dumps({"originationNumber": "12345", "messageBody": "STOP"}),
    json.dumps({"originationNumber": NUMBER, "messageBody": 5}), json.dumps({"eventType": "TEXT_DELIVERED"}),
    json.dumps({"originationNumber": NUMBER, "messageBody": "STOP " + "x" * 2000}), "[" * 100_000,
])
def test_malformed_inbound_changes_nothing(message: str) -> None:
    scene = Scene()
    confirmed(scene)
    assert sms_inbound.handle(scene.svc, message, lambda *_: pytest.fail("removed")) == "malformed"


def test_delivery_status_recorded_once_per_message() -> None:
    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity="Severe"))
    deliver(scene, alert, [(sub, NUMBER, None)])
    event = json.dumps({"eventType": "TEXT_DELIVERED", "messageId": "msg-1", "messageStatus": "DELIVERED"})
    for _ in range(2):
        assert sms_inbound.handle(scene.svc, event, lambda *_: None) == "status"
    assert scene.svc.store.sms.message_status("msg-1") == (f"sms:{alert.id}", "delivered")
    day = scene.svc.store.sms.figures("sms", "2026-11-30", "2026-11-30")[0][1]
    assert (day["sent"], day["delivered"]) == (1, 1)
    unknown = json.dumps({"eventType": "TEXT_CARRIER_UNREACHABLE", "messageId": "never-sent"})
    assert sms_inbound.handle(scene.svc, unknown, lambda *_: None) == "status"
    assert scene.svc.store.sms.message_status("never-sent") is None


def test_updates_and_cancels_are_not_texted() -> None:
    import dataclasses

    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity="Extreme"))
    note = notification_for(alert, None, base_url=scene.svc.settings.public_base_url)
    channel = texts(scene.svc, scene)
    for msg_type in ("Update", "Cancel"):
        assert channel.send(target(sub, NUMBER), dataclasses.replace(note, msg_type=msg_type)) is SendOutcome.SENT
    assert scene.fakes.sms.sent == []
    assert channel.send(target(sub, NUMBER), note) is SendOutcome.SENT
    assert len(scene.fakes.sms.sent) == 1


@pytest.mark.parametrize(("event", "status"), [
    ("TEXT_SENT", "sent"), ("TEXT_SUCCESSFUL", "sent"), ("TEXT_DELIVERED", "delivered"),
    ("TEXT_CARRIER_UNREACHABLE", "undelivered"), ("TEXT_SPAM", "undelivered"), ("TEXT_PENDING", "sent"),
    ("VOICE_COMPLETED", "sent"),  # not an SMS event: nothing changes
])
def test_delivery_events_map_to_statuses(event: str, status: str) -> None:
    scene = Scene()
    sub = resident(scene)
    alert = scene.stored(published(scene, severity="Severe"))
    deliver(scene, alert, [(sub, NUMBER, None)])
    assert sms_inbound.handle(scene.svc, json.dumps({"eventType": event, "messageId": "msg-1"}), lambda *_: None) == "status"
    assert scene.svc.store.sms.message_status("msg-1") == (f"sms:{alert.id}", status)


def test_code_limit_counters_hold_neither_number_nor_subscriber_id() -> None:
    scene = Scene()
    sub = resident(scene)
    admit(scene, sub, NUMBER)
    keys = " ".join(scene.fakes.db.rate_hits)
    assert "sms-code#" in keys and sub.id not in keys and NUMBER not in keys and NUMBER[1:] not in keys
