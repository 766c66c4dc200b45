"""SNS mobile push: Publish to a subscriber's platform endpoint (FCM or APNs app).

Target: `{"type": "sns", "platform": "fcm" | "apns", "endpoint_arn": "arn:aws:sns:..."}`.
Messages use MessageStructure=json with the platform's own payload:
- FCM (`GCM` key): the FCM HTTP v1 shape SNS accepts, `{"fcmV1Message": {"message": {...}}}`, with
  a display `notification`, string `data`, and `android` ttl/priority/collapse_key/tag (so an
  Update or Cancel replaces the alert's notification on the phone).
- APNs (`APNS` and `APNS_SANDBOX` keys: the endpoint's application decides which is used):
  `{"aps": {"alert": {"title", "body"}, ...}, "beatline": {...}}`, with the apns-collapse-id,
  expiry, priority and push type passed as SNS message attributes.
boto3/botocore are imported only where a client is created or an error is classified.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock, system_clock
from chalicelib.notify.channels import SendOutcome
from chalicelib.notify.payloads import (
    PushNotification,
    encode_json,
    fit,
    push_key,
    push_severity,
    push_title,
    ttl_seconds,
)

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient  # boto3-stubs (dev only)

PLATFORMS = ("fcm", "apns")
APNS_MAX_BYTES = 4096
FCM_MAX_BYTES = 4000  # FCM's 4096-byte limit, with room for what SNS adds
FCM_MAX_TTL_SECONDS = 28 * 24 * 3600
HIGH_PRIORITY_SEVERITIES = ("Extreme", "Severe")

_GONE_CODES = {"EndpointDisabled", "NotFound"}
_FAILED_CODES = {"InvalidParameter", "InvalidParameterValue", "ValidationError"}
_EXISTING_ENDPOINT = re.compile(r"Endpoint (arn:[^\s]+) already exists")


def collapse_id(alert_id: str) -> str:
    """Collapse/replace key for an alert: its id, or a digest if longer than APNs's 64 bytes."""
    if len(alert_id.encode("utf-8")) <= 64:
        return alert_id
    return hashlib.sha256(alert_id.encode("utf-8")).hexdigest()


def _high_priority(notification: PushNotification) -> bool:
    return push_severity(notification) in HIGH_PRIORITY_SEVERITIES


def fcm_message(notification: PushNotification, ttl: int) -> bytes:
    """The `GCM` value: an FCM v1 message (JSON bytes) within FCM's size limit."""
    key = collapse_id(push_key(notification))
    high = _high_priority(notification)

    def render(payload: dict[str, str]) -> bytes:
        message = {
            "notification": {"title": payload["headline"], "body": payload["description"]},
            "data": payload,
            "android": {
                "priority": "high" if high else "normal",
                "ttl": f"{min(ttl, FCM_MAX_TTL_SECONDS)}s",
                "collapse_key": key,
                "notification": {"tag": key},
            },
            # iOS devices registered through FCM: the same collapse/priority semantics.
            "apns": {"headers": {"apns-collapse-id": key, "apns-priority": "10" if high else "5"}},
        }
        return encode_json({"fcmV1Message": {"message": message}})

    return fit(notification, render, FCM_MAX_BYTES)


def apns_payload(notification: PushNotification) -> bytes:
    """The `APNS` value: aps alert + Beatline's payload (JSON bytes) within 4096 bytes."""
    high = _high_priority(notification)

    def render(payload: dict[str, str]) -> bytes:
        aps = {
            "alert": {"title": payload["headline"], "body": payload["description"]},
            "sound": "default",
            "thread-id": push_key(notification),
            # time-sensitive breaks through Focus where the app has that capability; otherwise
            # iOS treats it as active.
            "interruption-level": "time-sensitive" if high else "active",
        }
        return encode_json({"aps": aps, "beatline": payload})

    return fit(notification, render, APNS_MAX_BYTES)


def _string_attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def publish_request(platform: str, notification: PushNotification, now: datetime) -> dict[str, Any]:
    """Publish arguments (all but TargetArn) for an endpoint of `platform` ("fcm" | "apns")."""
    ttl = ttl_seconds(notification.expires_at, now)
    default = push_title(notification)
    if platform == "fcm":
        message = {"default": default, "GCM": fcm_message(notification, ttl).decode("utf-8")}
        attributes = {"AWS.SNS.MOBILE.FCM.TTL": _string_attribute(str(min(ttl, FCM_MAX_TTL_SECONDS)))}
    elif platform == "apns":
        body = apns_payload(notification).decode("utf-8")
        message = {"default": default, "APNS": body, "APNS_SANDBOX": body}
        attributes = {
            "AWS.SNS.MOBILE.APNS.PUSH_TYPE": _string_attribute("alert"),
            "AWS.SNS.MOBILE.APNS.PRIORITY": _string_attribute("10" if _high_priority(notification) else "5"),
            "AWS.SNS.MOBILE.APNS.COLLAPSE_ID": _string_attribute(collapse_id(push_key(notification))),
            "AWS.SNS.MOBILE.APNS.TTL": _string_attribute(str(ttl)),
            "AWS.SNS.MOBILE.APNS_SANDBOX.TTL": _string_attribute(str(ttl)),
        }
    else:
        raise ValueError(f"unknown SNS platform {platform!r}; expected one of {PLATFORMS}")
    return {
        "Message": json.dumps(message, ensure_ascii=False),
        "MessageStructure": "json",
        "MessageAttributes": attributes,
    }


def classify_error(exc: Exception) -> SendOutcome | None:
    """The outcome for a botocore error raised by Publish; None if it is not an AWS/network error."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _GONE_CODES:
            return SendOutcome.GONE
        if code in _FAILED_CODES:
            return SendOutcome.FAILED
        # Throttled, InternalError, KMS*, AuthorizationError (a deploy/config problem that a
        # retry after the fix resolves): retry; SQS's maxReceiveCount bounds it, then the DLQ.
        return SendOutcome.RETRY
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return SendOutcome.RETRY
    return None


class SnsChannel:
    """Channel for `{"type": "sns", ...}` targets over an injected boto3 SNS client."""

    def __init__(self, client: SNSClient, *, clock: Clock = system_clock) -> None:
        self._client = client
        self._clock = clock

    def send(self, target: dict[str, Any], notification: PushNotification) -> SendOutcome:
        endpoint_arn = target.get("endpoint_arn")
        platform = target.get("platform")
        if not endpoint_arn or platform not in PLATFORMS:
            return SendOutcome.GONE  # a target that can never be delivered to
        try:
            request = publish_request(platform, notification, self._clock())
        except ValueError:
            return SendOutcome.FAILED  # cannot fit the platform's size limit: no retry will change that
        try:
            self._client.publish(TargetArn=endpoint_arn, **request)
        except Exception as exc:
            outcome = classify_error(exc)
            if outcome is None:
                raise
            return outcome
        return SendOutcome.SENT


def create_platform_endpoint(client: SNSClient, platform_app_arn: str, token: str) -> str:
    """The endpoint ARN for a device token, enabled and holding this token.

    CreatePlatformEndpoint is idempotent for an identical endpoint, but refuses ("already
    exists with the same Token, but different attributes") when SNS disabled the endpoint
    earlier; AWS's recommended flow is then to reuse that ARN and re-enable it with the token.
    """
    from botocore.exceptions import ClientError

    try:
        arn = str(client.create_platform_endpoint(PlatformApplicationArn=platform_app_arn, Token=token)["EndpointArn"])
    except ClientError as exc:
        match = _EXISTING_ENDPOINT.search(exc.response.get("Error", {}).get("Message", ""))
        if exc.response.get("Error", {}).get("Code") != "InvalidParameter" or not match:
            raise
        arn = str(match.group(1))
    try:
        attributes = client.get_endpoint_attributes(EndpointArn=arn)["Attributes"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotFound":
            raise
        # Deleted between the two calls: create afresh.
        return str(client.create_platform_endpoint(PlatformApplicationArn=platform_app_arn, Token=token)["EndpointArn"])
    if attributes.get("Token") != token or str(attributes.get("Enabled", "true")).lower() != "true":
        client.set_endpoint_attributes(EndpointArn=arn, Attributes={"Token": token, "Enabled": "true"})
    return arn


def delete_platform_endpoint(client: SNSClient, endpoint_arn: str) -> None:
    """Delete an endpoint (erasure, or a GONE answer); deleting a missing one is not an error."""
    from botocore.exceptions import ClientError

    try:
        client.delete_endpoint(EndpointArn=endpoint_arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotFound":
            raise


class SnsEndpoints:
    """The EndpointRegistrar port on SNS: a client per call (boto3 imported on first use, so moto's
    mocks and the Lambda's region both apply)."""

    def __init__(self, region: str | None) -> None:
        self._region = region

    def _client(self) -> SNSClient:
        import boto3

        return boto3.client("sns", region_name=self._region)

    def create(self, platform_app_arn: str, token: str) -> str:
        return create_platform_endpoint(self._client(), platform_app_arn, token)

    def delete(self, endpoint_arn: str) -> None:
        delete_platform_endpoint(self._client(), endpoint_arn)
