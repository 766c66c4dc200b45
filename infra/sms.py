"""The SMS sender's queue (docs/channels.md "IAM"): the fan-out worker and housekeeping queue one
job per alert text; the `sms_sender` function, the one role that may Publish to a phone number
(with the Deny on every topic and endpoint), consumes it. Encrypted, with a dead-letter queue
after MAX_RECEIVE_COUNT receives (alarmed in infra/template.py), bounded concurrency."""

from __future__ import annotations

from typing import Any

from infra.roles import SMS_QUEUE

SMS_DEAD_LETTER_QUEUE = "SmsDeadLetterQueue"
CONCURRENCY_PARAMETER = "SmsSenderReservedConcurrency"


def parameters() -> dict[str, Any]:
    return {CONCURRENCY_PARAMETER: {
        "Type": "Number", "Default": 2, "MinValue": 1,
        "Description": "Reserved (and so maximum) concurrent SMS senders: the SMS service takes a few texts "
                       "per second per origination number; more senders would only be throttled.",
    }}


def queue_resources(queue_name: str, timeout: int, *, visibility_factor: int, max_receive_count: int) -> dict[str, Any]:
    """The queue (visibility over `visibility_factor` times the sender's timeout) and its DLQ."""
    return {
        SMS_DEAD_LETTER_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": f"{queue_name}-dlq", "MessageRetentionPeriod": 14 * 24 * 3600,
                           "SqsManagedSseEnabled": True},
        },
        SMS_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": queue_name,
                "VisibilityTimeout": visibility_factor * timeout,
                "MessageRetentionPeriod": 4 * 24 * 3600,  # the sender texts nothing for an alert no longer live
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [SMS_DEAD_LETTER_QUEUE, "Arn"]},
                                  "maxReceiveCount": max_receive_count},
            },
        },
    }
