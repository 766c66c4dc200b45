"""The SMS sender's queue (docs/channels.md "IAM"): the fan-out worker and housekeeping queue one
job per alert text; the `sms_sender` function, the one role that may Publish to a phone number
(with the Deny on every topic and endpoint), consumes it. Encrypted, with a dead-letter queue
after MAX_RECEIVE_COUNT receives (alarmed in infra/template.py), bounded concurrency."""

from __future__ import annotations

from typing import Any

SMS_DEAD_LETTER_QUEUE = "SmsDeadLetterQueue"
CONCURRENCY_PARAMETER = "SmsSenderReservedConcurrency"


def parameters() -> dict[str, Any]:
    return {CONCURRENCY_PARAMETER: {
        "Type": "Number", "Default": 2, "MinValue": 1,
        "Description": "Reserved (and so maximum) concurrent SMS senders: the SMS service takes a few texts "
                       "per second per origination number; more senders would only be throttled.",
    }}
