"""Builds the fan-out adapters from settings: the queue (SQS or in-process) and the push channels
(imported lazily: pywebpush and boto3 SNS load only in the worker path). The worker itself is a
use case (chalicelib/usecases/fanout.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.notify.queue import LocalQueue, SqsQueue
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.notify.egress import EgressGuard
    from chalicelib.notify.ses import SesEmail
    from chalicelib.ports import Channel, ConfirmationSender, FanoutQueue, QueueMessage


def build_queue(settings: Settings, process: Callable[[QueueMessage], Any]) -> FanoutQueue:
    """SQS when a queue URL is configured (AWS), else the local in-process queue that hands each
    message to `process` (the fan-out use case)."""
    if settings.fanout_queue_url:
        import boto3

        return SqsQueue(boto3.client("sqs", region_name=settings.region), settings.fanout_queue_url)
    return LocalQueue(process, asynchronous=settings.fanout_async)


def build_channels(settings: Settings, *, vapid_pem: str | None, guard: EgressGuard | None = None,
                   ) -> Mapping[str, Channel]:
    """The push channels for this stage: Web Push when a VAPID key is configured (`vapid_pem`, read
    by Services), SNS always. `guard` is the push-endpoint guard registration uses (same policy and
    resolver at send time)."""
    import boto3

    from chalicelib.notify.sns import SnsChannel
    from chalicelib.notify.webpush import WebPushChannel

    channels: dict[str, Channel] = {"sns": SnsChannel(boto3.client("sns", region_name=settings.region))}
    if vapid_pem is not None:
        channels["webpush"] = WebPushChannel(vapid_pem, settings.vapid_subject, guard=guard)
    email = build_email(settings)
    if email is not None:
        channels["email"] = email
    return channels


def build_email(settings: Settings) -> SesEmail | None:
    """SES v2 when the stage has a From address (boto3 reads AWS_ENDPOINT_URL_SESV2 locally)."""
    if not settings.email_from:
        return None
    import boto3

    from chalicelib.notify.ses import SesEmail

    return SesEmail(boto3.client("sesv2", region_name=settings.region), sender=settings.email_from,
                    base_url=settings.public_base_url, configuration_set=settings.ses_configuration_set,
                    reply_domain=settings.email_reply_domain)


def build_confirmation_senders(settings: Settings) -> Mapping[str, ConfirmationSender]:
    """The senders of contact-channel confirmations configured on this stage (docs/channels.md):
    email (SES) when the stage has a From address; sms plugs in here."""
    senders: dict[str, ConfirmationSender] = {}
    email = build_email(settings)
    if email is not None:
        senders["email"] = email
    if settings.sms_service != "none":
        from chalicelib.domain.contact_channels import CONFIRM_RULES
        from chalicelib.notify.sms import SmsConfirmations, build_sms_sender

        sender = build_sms_sender(settings.sms_service, settings.region,
                                  origination_number=settings.sms_origination_number, sender_id=settings.sms_sender_id)
        minutes = int(CONFIRM_RULES["sms"].ttl.total_seconds() // 60)
        senders["sms"] = SmsConfirmations(sender, force_name=settings.force_name, minutes=minutes)
    return senders
