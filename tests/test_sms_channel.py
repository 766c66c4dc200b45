"""SMS through SNS Publish on moto: what the service receives (number, text, Transactional type,
origination number), errors as outcomes, the opt-out list, the code text, and the alert texts'
rules (severity, exactly once, ceilings, segments) with moto as the SMS service; the SMS sender's
queue on moto's SQS (ids only) and in-process (an unfinished job runs again)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns import sns_backends

from chalicelib.domain.alerts import notification_for
from chalicelib.domain.sms import SmsJob, count_segments, decode_job
from chalicelib.notify.job_queue import LocalJobQueue, SqsJobQueue
from chalicelib.notify.sms import NoSms, SmsConfirmations, SnsSms, build_sms_sender
from chalicelib.ports import QueueUnavailable, SendOutcome
from chalicelib.usecases.sms_alerts import AlertTexts
from tests.scenes import Scene, square

pytestmark = pytest.mark.no_database

REGION = "eu-west-2"
NUMBER = "+447911123456"
ORIGIN = "+447700000001"


@pytest.fixture(scope="module")
def sns() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sns", region_name=REGION)


@pytest.fixture
def published(sns: Any) -> Iterator[list[dict[str, Any]]]:
    """Publish calls as the client made them (botocore's own event hook, no patching)."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    sns.meta.events.register("provide-client-params.sns.Publish", record, unique_id="test-sms-published")
    yield calls
    sns.meta.events.unregister("provide-client-params.sns.Publish", unique_id="test-sms-published")


def texts_to(number: str) -> list[str]:
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [text for to, text in backend.sms_messages.values() if to == number]


def test_text_is_published_to_the_number_as_transactional(sns: Any, published: list[dict[str, Any]]) -> None:
    receipt = SnsSms(sns, origination_number=ORIGIN, sender_id=None).send_text(NUMBER, "Severe: road closed")
    assert receipt.outcome is SendOutcome.SENT and receipt.message_id
    assert sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages[receipt.message_id] == (NUMBER, "Severe: road closed")
    attributes = published[-1]["MessageAttributes"]
    assert attributes["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"
    assert attributes["AWS.MM.SMS.OriginationNumber"]["StringValue"] == ORIGIN
    assert "AWS.SNS.SMS.SenderID" not in attributes


def test_refused_number_is_failed(sns: Any) -> None:
    assert SnsSms(sns).send_text("07911123456", "x").outcome is SendOutcome.FAILED  # not E.164


def test_opt_out_list(sns: Any) -> None:
    sender = SnsSms(sns)
    assert sender.opted_out("+447911123499")  # moto: numbers ending 99 opted out
    assert not sender.opted_out(NUMBER)


def _answer(status: int, code: str) -> Any:
    body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error>'
            '<RequestId>r</RequestId></ErrorResponse>').encode()

    def handler(**_: Any) -> AWSResponse:
        return AWSResponse("https://sns", status, {}, _Raw(body))  # type: ignore[arg-type]

    return handler


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (400, "Throttling", SendOutcome.RETRY), (500, "InternalError", SendOutcome.RETRY),
    (400, "InvalidParameter", SendOutcome.FAILED), (400, "OptedOut", SendOutcome.FAILED),
])
def test_service_errors_as_outcomes(status: int, code: str, outcome: SendOutcome) -> None:
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}))
    client.meta.events.register("before-send.sns.Publish", _answer(status, code))
    assert SnsSms(client).send_text(NUMBER, "x").outcome is outcome


def test_unreachable_service_is_retry() -> None:
    client = boto3.client("sns", region_name=REGION, endpoint_url="http://127.0.0.1:9", aws_access_key_id="x",
                          aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1))
    assert SnsSms(client).send_text(NUMBER, "x").outcome is SendOutcome.RETRY


def test_code_text_by_sms_in_welsh(sns: Any) -> None:
    number = "+447911123457"
    confirmations = SmsConfirmations(SnsSms(sns), force_name="Heddlu Gogledd Cymru", minutes=15)
    assert confirmations.send_confirmation(number, "042917", "cy") is SendOutcome.SENT
    (text,) = texts_to(number)
    assert "eich cod Beatline yw 042917" in text and count_segments(text).count == 1


def test_sms_switched_off() -> None:
    assert isinstance(build_sms_sender("none", REGION, origination_number=None, sender_id=None), NoSms)
    assert NoSms().send_text(NUMBER, "x").outcome is SendOutcome.FAILED


# --- the alert texts' rules with moto as the SMS service -----------------------------------------

def _published_alert(scene: Scene, **overrides: Any) -> Any:
    alert_id = scene.publish(scene.staff("officer"), scene.staff("supervisor"), square(scene.LAT, scene.LON), **overrides)
    return scene.stored(alert_id)


def test_alert_texts_on_moto(sns: Any) -> None:
    import dataclasses

    scene = Scene()
    scene.svc.settings = dataclasses.replace(scene.svc.settings, sms_per_alert_ceiling=2)
    sender = SnsSms(sns, origination_number=ORIGIN)
    worker = AlertTexts(store=scene.svc.store, sender=sender, settings=scene.svc.settings, clock=scene.fakes.clock)
    numbers = [f"+4479111235{i:02d}" for i in range(4)]
    subs = [scene.register() for _ in numbers]
    targets = [{"type": "sms", "address": number, "subscriber_id": sub} for sub, number in zip(subs, numbers, strict=True)]

    def deliver(alert: Any) -> list[SendOutcome]:
        note = notification_for(alert, None, base_url=scene.svc.settings.public_base_url)
        return [worker.send(target, note) for target in targets]

    moderate = _published_alert(scene, severity="Moderate")
    assert deliver(moderate) == [SendOutcome.SENT] * 4
    assert all(texts_to(n) == [] for n in numbers)  # below the threshold

    severe = _published_alert(scene, severity="Severe", description="Gas leak. " * 60)
    for _ in range(2):  # a redelivered batch texts nobody twice
        assert deliver(severe) == [SendOutcome.SENT] * 4
    got = [texts_to(n) for n in numbers]
    assert [len(t) for t in got] == [1, 1, 0, 0]  # the per-alert ceiling of 2
    for (text,) in got[:2]:
        assert count_segments(text).count <= scene.svc.settings.sms_segment_budget
        assert text.endswith(f"/app/#alert={severe.id}")
    figures = scene.svc.store.sms.figures("sms", "2026-11-30", "2026-11-30")[0][1]
    assert (figures["sent"], figures["capped"]) == (2, 2)


def test_opt_out_check_that_cannot_reach_the_service_says_no() -> None:
    client = boto3.client("sns", region_name=REGION, endpoint_url="http://127.0.0.1:9", aws_access_key_id="x",
                          aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1))
    assert SnsSms(client).opted_out(NUMBER) is False


# --- the SMS sender's queue ----------------------------------------------------------------------

def test_sms_job_travels_through_sqs_as_ids_only(sns: Any) -> None:
    sqs = boto3.client("sqs", region_name=REGION)  # moto: the module's mock_aws is active
    url = sqs.create_queue(QueueName="beatline-test-sms")["QueueUrl"]
    job = SmsJob(kind="alert", alert_id="a-1", subscriber_id="s-1")
    SqsJobQueue[SmsJob](lambda: sqs, url, what="sms job").send(job)
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert decode_job(message["Body"]) == job
    assert set(json.loads(message["Body"])) == {"type", "kind", "alert_id", "subscriber_id"}  # ids only


def test_sms_queue_that_cannot_reach_sqs_raises_queue_unavailable() -> None:
    client = boto3.client("sqs", region_name=REGION, endpoint_url="http://127.0.0.1:9", aws_access_key_id="x",
                          aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1))
    with pytest.raises(QueueUnavailable):
        SqsJobQueue[SmsJob](lambda: client, "http://127.0.0.1:9/1/q", what="sms job").send(SmsJob(kind="alert", alert_id="a", subscriber_id="s"))


def test_local_sms_queue_runs_an_unfinished_job_again_as_sqs_would() -> None:
    calls: list[SmsJob] = []

    def process(job: SmsJob) -> bool:
        calls.append(job)
        return len(calls) > 1  # the first attempt asks for a redelivery

    job = SmsJob(kind="alert", alert_id="a", subscriber_id="s")
    LocalJobQueue(process, SmsJob, name="sms", retries=3).send(job)
    assert calls == [job, job]
