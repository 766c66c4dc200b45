"""SNS mobile push through moto (no local SNS exists): the right endpoint, the right payload per
platform, message attributes, and the outcome for disabled, deleted and throttled endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns import sns_backends

from chalicelib.clock import fixed_clock
from chalicelib.domain.alerts import InfoBlock
from chalicelib.notify.sns import (
    APNS_MAX_BYTES,
    SnsChannel,
    create_platform_endpoint,
    delete_platform_endpoint,
    publish_request,
)
from chalicelib.ports import SendOutcome
from tests.alert_samples import ALERT_ID, EN, notification

REGION = "eu-west-2"
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # 3 h before the sample alert expires


@pytest.fixture(scope="module")
def sns() -> Iterator[Any]:
    """One moto SNS for the module (starting moto costs ~0.5 s); tests use their own tokens."""
    with mock_aws():
        yield boto3.client("sns", region_name=REGION)


@pytest.fixture
def published(sns) -> Iterator[list[dict]]:
    """Publish calls as the client made them (botocore's own event hook, no patching)."""
    calls: list[dict] = []

    def record(params: dict, **_: Any) -> None:
        calls.append(dict(params))

    sns.meta.events.register("provide-client-params.sns.Publish", record, unique_id="test-published")
    yield calls
    sns.meta.events.unregister("provide-client-params.sns.Publish", unique_id="test-published")


def _application(sns, platform: str) -> str:
    return sns.create_platform_application(Name=f"beatline-{platform.lower()}", Platform=platform,
                                           Attributes={"PlatformCredential": "test-credential"})["PlatformApplicationArn"]


def _messages(endpoint_arn: str) -> list[dict]:
    endpoint = sns_backends[DEFAULT_ACCOUNT_ID][REGION].platform_endpoints[endpoint_arn]
    return [json.loads(message) for message in endpoint.messages.values()]


def _channel(sns) -> SnsChannel:
    return SnsChannel(sns, clock=fixed_clock(NOW))


def test_fcm_endpoint_gets_an_fcm_v1_message(sns, published) -> None:
    app = _application(sns, "GCM")
    endpoint = create_platform_endpoint(sns, app, "fcm-token-1")
    other = create_platform_endpoint(sns, app, "fcm-token-2")
    outcome = _channel(sns).send({"type": "sns", "platform": "fcm", "endpoint_arn": endpoint}, notification(severity="Severe"))
    assert outcome is SendOutcome.SENT
    assert _messages(other) == []
    (message,) = _messages(endpoint)
    assert set(message) == {"default", "GCM"}
    assert message["default"] == EN.headline
    fcm = json.loads(message["GCM"])["fcmV1Message"]["message"]
    assert fcm["notification"] == {"title": EN.headline, "body": EN.description}
    assert fcm["data"]["id"] == ALERT_ID and fcm["data"]["msgType"] == "Alert" and fcm["data"]["severity"] == "Severe"
    assert all(isinstance(value, str) for value in fcm["data"].values())
    assert fcm["android"] == {"priority": "high", "ttl": "10800s", "collapse_key": ALERT_ID, "notification": {"tag": ALERT_ID}}
    assert fcm["apns"]["headers"] == {"apns-collapse-id": ALERT_ID, "apns-priority": "10"}
    (call,) = published
    assert call["TargetArn"] == endpoint and call["MessageStructure"] == "json"
    assert call["MessageAttributes"] == {"AWS.SNS.MOBILE.FCM.TTL": {"DataType": "String", "StringValue": "10800"}}


def test_apns_endpoint_gets_an_aps_payload_with_collapse_id_and_ttl(sns, published) -> None:
    endpoint = create_platform_endpoint(sns, _application(sns, "APNS"), "a1" * 32)
    outcome = _channel(sns).send({"type": "sns", "platform": "apns", "endpoint_arn": endpoint},
                                 notification(msg_type="Update", severity="Minor"))
    assert outcome is SendOutcome.SENT
    (message,) = _messages(endpoint)
    assert set(message) == {"default", "APNS", "APNS_SANDBOX"}
    assert message["APNS"] == message["APNS_SANDBOX"]
    apns = json.loads(message["APNS"])
    assert apns["aps"] == {"alert": {"title": EN.headline, "body": EN.description}, "sound": "default",
                           "thread-id": ALERT_ID, "interruption-level": "active"}
    assert apns["beatline"]["id"] == ALERT_ID and apns["beatline"]["msgType"] == "Update"
    (call,) = published
    assert call["TargetArn"] == endpoint
    assert {name: value["StringValue"] for name, value in call["MessageAttributes"].items()} == {
        "AWS.SNS.MOBILE.APNS.PUSH_TYPE": "alert", "AWS.SNS.MOBILE.APNS.PRIORITY": "5",
        "AWS.SNS.MOBILE.APNS.COLLAPSE_ID": ALERT_ID, "AWS.SNS.MOBILE.APNS.TTL": "10800",
        "AWS.SNS.MOBILE.APNS_SANDBOX.TTL": "10800"}


def test_apns_payload_stays_within_4096_bytes() -> None:
    wide = "\u0bb5" * 2000  # Tamil: 3 bytes per character
    request = publish_request("apns", notification(info=InfoBlock("ta", "\u0bb5" * 160, wide, wide[:1000])), NOW)
    body = json.loads(request["Message"])["APNS"]
    assert len(body.encode("utf-8")) <= APNS_MAX_BYTES
    assert json.loads(body)["aps"]["alert"]["body"].endswith("\u2026")


def test_expired_alert_gets_ttl_zero() -> None:
    request = publish_request("fcm", notification(expires_at="2026-11-24T09:00:00Z"), NOW)
    assert json.loads(json.loads(request["Message"])["GCM"])["fcmV1Message"]["message"]["android"]["ttl"] == "0s"


def test_disabled_endpoint_is_gone(sns) -> None:
    endpoint = create_platform_endpoint(sns, _application(sns, "GCM"), "fcm-token-disabled")
    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    assert _channel(sns).send({"type": "sns", "platform": "fcm", "endpoint_arn": endpoint}, notification()) is SendOutcome.GONE
    assert _messages(endpoint) == []


def test_deleted_endpoint_is_gone(sns) -> None:
    endpoint = create_platform_endpoint(sns, _application(sns, "APNS"), "b2" * 32)
    delete_platform_endpoint(sns, endpoint)
    delete_platform_endpoint(sns, endpoint)  # idempotent
    assert _channel(sns).send({"type": "sns", "platform": "apns", "endpoint_arn": endpoint}, notification()) is SendOutcome.GONE


def test_unusable_target_is_gone_without_a_call(sns, published) -> None:
    channel = _channel(sns)
    assert channel.send({"type": "sns", "platform": "wns", "endpoint_arn": "arn:x"}, notification()) is SendOutcome.GONE
    assert channel.send({"type": "sns", "platform": "fcm"}, notification()) is SendOutcome.GONE
    assert published == []


def test_message_that_cannot_fit_fails_without_a_call(sns, published) -> None:
    outcome = _channel(sns).send({"type": "sns", "platform": "fcm", "endpoint_arn": "arn:aws:sns:x"},
                                 notification(extra={"blob": "x" * 5000}))
    assert outcome is SendOutcome.FAILED
    assert published == []


def test_re_registering_a_disabled_token_reenables_the_same_endpoint(sns) -> None:
    app = _application(sns, "GCM")
    endpoint = create_platform_endpoint(sns, app, "fcm-token-3")
    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    assert create_platform_endpoint(sns, app, "fcm-token-3") == endpoint
    assert sns.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"]["Enabled"] == "true"
    assert _channel(sns).send({"type": "sns", "platform": "fcm", "endpoint_arn": endpoint}, notification()) is SendOutcome.SENT


class ErroringSns:
    """A client whose Publish fails with a given AWS error code (what moto cannot produce)."""

    def __init__(self, code: str, status: int) -> None:
        self.code, self.status = code, status

    def publish(self, **_: Any) -> dict:
        raise ClientError({"Error": {"Code": self.code, "Message": self.code},
                           "ResponseMetadata": {"HTTPStatusCode": self.status}}, "Publish")


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("Throttled", 429, SendOutcome.RETRY),
    ("InternalError", 500, SendOutcome.RETRY),
    ("KMSThrottling", 400, SendOutcome.RETRY),
    ("EndpointDisabled", 400, SendOutcome.GONE),
    ("NotFound", 404, SendOutcome.GONE),
    ("InvalidParameter", 400, SendOutcome.FAILED),
])
def test_aws_errors_map_to_outcomes(code: str, status: int, expected: SendOutcome) -> None:
    channel = SnsChannel(ErroringSns(code, status), clock=fixed_clock(NOW))
    assert channel.send({"type": "sns", "platform": "fcm", "endpoint_arn": "arn:aws:sns:x"}, notification()) is expected


def test_unreachable_sns_is_retry() -> None:
    client = boto3.client("sns", region_name=REGION, endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1))
    outcome = SnsChannel(client, clock=fixed_clock(NOW)).send(
        {"type": "sns", "platform": "apns", "endpoint_arn": "arn:aws:sns:eu-west-2:123456789012:endpoint/APNS/a/b"},
        notification())
    assert outcome is SendOutcome.RETRY
