"""The SmsSender port on SNS Publish to a phone number (docs/channels.md says why SNS and not the
End User Messaging SMS API directly: moto, the only emulator the tests may use, has no
`pinpoint-sms-voice-v2`; SNS hands SMS to End User Messaging in AWS, with its origination number).

Texts are Transactional (alerts and codes are not marketing: higher delivery priority, sent in
quiet hours where carriers hold promotional texts). Numbers never reach a log line from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.ports import SendOutcome, SmsReceipt

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient  # boto3-stubs (dev only)

_FAILED_CODES = {"InvalidParameter", "InvalidParameterValue", "ValidationError", "OptedOut"}


def _attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def sms_attributes(origination_number: str | None, sender_id: str | None) -> dict[str, Any]:
    attributes = {"AWS.SNS.SMS.SMSType": _attribute("Transactional")}
    if origination_number:  # the two-way number: replies (STOP) reach the inbound topic
        attributes["AWS.MM.SMS.OriginationNumber"] = _attribute(origination_number)
    if sender_id:
        attributes["AWS.SNS.SMS.SenderID"] = _attribute(sender_id)
    return attributes


def classify(exc: Exception) -> SendOutcome | None:
    """FAILED for what a retry cannot fix (a refused number or text), RETRY for throttling, 5xx
    and the network; None when `exc` is no AWS error (a bug: it propagates)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        return SendOutcome.FAILED if code in _FAILED_CODES else SendOutcome.RETRY
    if isinstance(exc, BotoCoreError):
        return SendOutcome.RETRY
    return None


class SnsSms:
    """SmsSender over an injected boto3 SNS client."""

    def __init__(self, client: SNSClient, *, origination_number: str | None = None,
                 sender_id: str | None = None) -> None:
        self._client = client
        self._attributes = sms_attributes(origination_number, sender_id)

    def send_text(self, number: str, text: str) -> SmsReceipt:
        try:
            response = self._client.publish(PhoneNumber=number, Message=text, MessageAttributes=self._attributes)
        except Exception as exc:
            outcome = classify(exc)
            if outcome is None:
                raise
            return SmsReceipt(outcome)
        return SmsReceipt(SendOutcome.SENT, str(response["MessageId"]))

    def opted_out(self, number: str) -> bool:
        """False also when the service cannot say now: a text to an opted-out number is refused
        by the service anyway (the check only lets the resident know before a code is wasted)."""
        try:
            response = self._client.check_if_phone_number_is_opted_out(phoneNumber=number)
        except Exception as exc:
            if classify(exc) is None:
                raise
            return False
        return bool(response.get("isOptedOut"))


class SmsConfirmations:
    """Texts the one-time code that confirms a number (the contact channels' ConfirmationSender
    for `sms`); `minutes` is how long the code lives (the confirm rule's ttl)."""

    def __init__(self, sender: SnsSms | NoSms, *, force_name: str, minutes: int) -> None:
        self._sender, self._force_name, self._minutes = sender, force_name, minutes

    def send_confirmation(self, address: str, secret: str, language: str | None) -> SendOutcome:
        from chalicelib.domain.sms import code_text

        return self._sender.send_text(address, code_text(self._force_name, secret, self._minutes, language)).outcome


class NoSms:
    """SMS switched off on this stage (BEATLINE_SMS_SERVICE=none): every send refused for good."""

    def send_text(self, number: str, text: str) -> SmsReceipt:
        return SmsReceipt(SendOutcome.FAILED)

    def opted_out(self, number: str) -> bool:
        return False


def build_sms_sender(service: str, region: str, *, origination_number: str | None,
                     sender_id: str | None) -> SnsSms | NoSms:
    if service == "none":
        return NoSms()
    import boto3

    return SnsSms(boto3.client("sns", region_name=region), origination_number=origination_number,
                  sender_id=sender_id)
