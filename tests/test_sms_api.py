"""SMS over HTTP on DynamoDB Local: a number is checked (a mobile, E.164), its code texted (the real
SmsConfirmations text over a fake SMS service) and limited, confirmed; the resident's own bar for
texts; a Severe alert texted once and a Moderate one not; the sms_sender function texting a job
the worker queued once however often SQS delivers it; STOP on the SMS topic removes the number;
erasure leaves no STOP index entry. Rules are tests/test_sms_rules.py (fakes)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from chalicelib.notify.sms import SmsConfirmations
from tests.alerting import circle, publish, register, set_areas, spot
from tests.conftest import bearer
from tests.sms_fakes import FakeSmsQueue, FakeSmsSender

NUMBER = "+447911123456"


@pytest.fixture
def sms(services_override: Any) -> FakeSmsSender:
    sender = FakeSmsSender()
    services_override(sms_sender=sender, confirmation_senders={
        "sms": SmsConfirmations(sender, force_name="Beatline Police", minutes=15)})
    return sender


def _code(sender: FakeSmsSender, number: str = NUMBER) -> str:
    match = re.search(r"\b([0-9]{6})\b", sender.texts_to(number)[-1])
    assert match, sender.texts_to(number)
    return match.group(1)


def _put(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.http.put("/v1/subscribers/me/channels/sms", headers=bearer(token), body=json.dumps(body))


def _confirmed(client: Any, sms: FakeSmsSender, number: str = NUMBER, **extra: Any) -> str:
    _, token = register(client)
    assert _put(client, token, {"phone": number, **extra}).status_code == 200
    done = client.http.post("/v1/subscribers/me/channels/sms/confirm", headers=bearer(token),
                            body=json.dumps({"code": _code(sms, number)}))
    assert done.status_code == 200, done.body
    return token


@pytest.mark.parametrize("phone", ["+442079460000", "+447700900123", "+44791112345"])
def test_numbers_texts_cannot_reach_are_400_and_nothing_is_sent(client: Any, sms: FakeSmsSender, phone: str) -> None:
    _, token = register(client)
    response = _put(client, token, {"phone": phone})
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json_body["errors"]] == ["phone"]
    assert sms.sent == []


def test_register_by_phone_code_text_and_confirm(client: Any, sms: FakeSmsSender) -> None:
    _, token = register(client, {"type": "sms", "phone": NUMBER}, language="cy")
    (text,) = sms.texts_to(NUMBER)
    assert text.startswith("Beatline Police: eich cod Beatline yw ") and "15 munud" in text
    done = client.http.post("/v1/subscribers/me/channels/sms/confirm", headers=bearer(token),
                            body=json.dumps({"code": _code(sms)}))
    assert done.status_code == 200
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert me["contacts"] == [{"type": "sms", "status": "confirmed", "hint": "+44••••••••56",
                               "confirmed_at": me["contacts"][0]["confirmed_at"]}]
    assert NUMBER not in json.dumps(me)


def test_register_with_a_landline_is_400_on_the_channel(client: Any, sms: FakeSmsSender) -> None:
    response = client.http.post("/v1/subscribers", headers={"Content-Type": "application/json"},
                                body=json.dumps({"channel": {"type": "sms", "phone": "+442079460000"}}))
    assert response.status_code == 400 and response.json_body["errors"][0]["field"] == "channel.phone"


def test_codes_are_rate_limited_per_number(client: Any, sms: FakeSmsSender) -> None:
    number = f"+4479111{uuid.uuid4().int % 100000:05d}"
    for _ in range(3):  # BEATLINE_SMS_CODES_PER_HOUR: a resend each time (still pending)
        _, token = register(client)
        assert _put(client, token, {"phone": number}).status_code == 200
    _, token = register(client)
    refused = _put(client, token, {"phone": number})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert len(sms.texts_to(number)) == 3


def test_own_bar_for_texts_changes_without_a_new_code(client: Any, sms: FakeSmsSender) -> None:
    token = _confirmed(client, sms, f"+4479111{uuid.uuid4().int % 100000:05d}")
    number = sms.sent[-1][0]
    changed = _put(client, token, {"phone": number, "min_severity": "Moderate"})
    assert changed.status_code == 200 and changed.json_body["contacts"][0]["min_severity"] == "Moderate"
    assert changed.json_body["contacts"][0]["status"] == "confirmed" and len(sms.texts_to(number)) == 1
    bad = _put(client, token, {"phone": number, "min_severity": "Catastrophic"})
    assert bad.status_code == 400
    email = client.http.put("/v1/subscribers/me/channels/email", headers=bearer(token),
                            body=json.dumps({"address": "jo@example.org", "min_severity": "Moderate"}))
    assert email.status_code in (400, 422)


def test_severe_alert_texted_once_moderate_not(client: Any, sms: FakeSmsSender, staff_token: Any) -> None:
    team = f"team-{uuid.uuid4().hex[:8]}"
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    number = f"+4479111{uuid.uuid4().int % 100000:05d}"
    lat, lon = spot()
    token = _confirmed(client, sms, number)
    assert set_areas(client, token, [circle(lat, lon, 300)]).status_code == 200
    publish(client, officer, supervisor, circle(lat, lon, 400), severity="Moderate")
    assert len(sms.texts_to(number)) == 1  # the code only
    severe = publish(client, officer, supervisor, circle(lat, lon, 400), severity="Severe", headline="Gas leak")
    texts = sms.texts_to(number)
    assert len(texts) == 2 and "Severe: Gas leak." in texts[-1] and texts[-1].endswith(f"/app/#alert={severe}")


def _sqs_event(records: list[tuple[str, str]]) -> dict[str, Any]:
    return {"Records": [{"messageId": message_id, "receiptHandle": "r", "body": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:eu-west-2:1:beatline-test-sms", "awsRegion": "eu-west-2"}
                        for message_id, body in records]}


def test_sms_sender_function_texts_a_queued_job_once_however_often_delivered(
        client: Any, sms: FakeSmsSender, staff_token: Any, services_override: Any) -> None:
    import app

    queue = FakeSmsQueue()
    services_override(sms_sender=sms, sms_queue=queue, confirmation_senders={
        "sms": SmsConfirmations(sms, force_name="Beatline Police", minutes=15)})
    team = f"team-{uuid.uuid4().hex[:8]}"
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    number = f"+4479111{uuid.uuid4().int % 100000:05d}"
    lat, lon = spot()
    token = _confirmed(client, sms, number)
    assert set_areas(client, token, [circle(lat, lon, 300)]).status_code == 200
    severe = publish(client, officer, supervisor, circle(lat, lon, 400), severity="Severe")
    assert len(sms.texts_to(number)) == 1  # the code: the worker queued the alert's text
    event = _sqs_event(queue.take())
    assert len(event["Records"]) == 1 and number[1:] not in json.dumps(event)
    for _ in range(2):  # delivered twice (SQS is at least once): texted once
        assert app.sms_sender(event, None) == {"batchItemFailures": []}
    texts = sms.texts_to(number)
    assert len(texts) == 2 and texts[-1].endswith(f"/app/#alert={severe}")


def test_stop_on_the_sms_topic_removes_the_number(client: Any, sms: FakeSmsSender) -> None:
    import app

    number = f"+4479111{uuid.uuid4().int % 100000:05d}"
    token = _confirmed(client, sms, number)
    event = {"Records": [{"EventSource": "aws:sns", "EventSubscriptionArn": "arn:aws:sns:eu-west-2:1:t:s", "Sns": {
        "Message": json.dumps({"originationNumber": number, "messageBody": "STOP"}), "MessageId": "m",
        "TopicArn": "arn:aws:sns:eu-west-2:1:t", "Subject": None, "Timestamp": "2026-12-03T13:00:00Z",
        "MessageAttributes": {}}}]}
    assert app.sms_inbound(event, None) == {"handled": "stop"}
    assert "contacts" not in client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body


def test_erasure_leaves_no_stop_index_entry(client: Any, sms: FakeSmsSender) -> None:
    from chalicelib.services import services
    from chalicelib.usecases.sms_numbers import number_digest

    number = f"+4479111{uuid.uuid4().int % 100000:05d}"
    token = _confirmed(client, sms, number)
    svc = services()
    assert len(svc.store.sms.holders(number_digest(svc, number))) == 1
    assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 204
    assert svc.store.sms.holders(number_digest(svc, number)) == []
