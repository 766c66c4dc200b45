"""What every delivery channel implements, and what a send can come to."""

from __future__ import annotations

import enum
from typing import Protocol

from chalicelib.domain.alerts import Notification


class SendOutcome(enum.Enum):
    """The result of one send, as the fan-out worker acts on it.

    SENT: accepted by the push service. GONE: the subscription/endpoint no longer exists or can
    never be delivered to (remove it; no retry). RETRY: transient (throttling, 5xx, network):
    send again later. FAILED: this message was refused for a reason a retry cannot fix (e.g.
    400/413 from the push service); keep the subscription, count the delivery as failed.
    """

    SENT = "sent"
    GONE = "gone"
    RETRY = "retry"
    FAILED = "failed"


class Channel(Protocol):
    def send(self, target: dict, notification: Notification) -> SendOutcome:
        """Deliver one notification to one target; never raises for delivery failures."""
        ...
