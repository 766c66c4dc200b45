"""Builds the fan-out adapters from settings: the queue (SQS or in-process) and the push channels
(imported lazily: pywebpush and boto3 SNS load only in the worker path). The worker itself is a
use case (chalicelib/usecases/fanout.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.notify.queue import LocalQueue, SqsQueue
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.notify.egress import EgressGuard
    from chalicelib.ports import Channel, FanoutMessage, FanoutQueue

LOG = logging.getLogger("beatline.fanout")


def build_queue(settings: Settings, process: Callable[[FanoutMessage], Any]) -> FanoutQueue:
    """SQS when a queue URL is configured (AWS), else the local in-process queue that hands each
    message to `process` (the fan-out use case)."""
    if settings.fanout_queue_url:
        import boto3

        return SqsQueue(boto3.client("sqs", region_name=settings.region), settings.fanout_queue_url)
    return LocalQueue(process, asynchronous=settings.fanout_async)


def build_channels(settings: Settings, guard: EgressGuard | None = None) -> Mapping[str, Channel]:
    """The push channels for this stage. Until the channel modules exist (they are merged from
    another branch), a missing module leaves its channel out: those sends are retried later.
    `guard` is the push-endpoint guard registration uses (same policy and resolver at send time)."""
    channels: dict[str, Any] = {}
    try:
        from chalicelib.notify.webpush import WebPushChannel  # type: ignore[import-not-found]
        from chalicelib.secrets import load_text_secret

        if settings.vapid_private_key_file or settings.vapid_private_key_secret_arn:
            pem = load_text_secret(file=settings.vapid_private_key_file,
                                   secret_arn=settings.vapid_private_key_secret_arn, name="VAPID key")
            channels["webpush"] = WebPushChannel(pem, settings.vapid_subject, guard=guard)
    except ImportError:
        LOG.warning("web push channel unavailable (chalicelib.notify.webpush missing)")
    try:
        import boto3

        from chalicelib.notify.sns import SnsChannel  # type: ignore[import-not-found]

        channels["sns"] = SnsChannel(boto3.client("sns", region_name=settings.region))
    except ImportError:
        LOG.warning("SNS channel unavailable (chalicelib.notify.sns missing)")
    return channels
