"""The ports: what use cases need from the outside world, and nothing that reaches it.

Interfaces (queue, channel, SNS endpoint registrar), the records that cross them and the
exceptions adapters raise. Adapters (chalicelib/store, chalicelib/notify) implement or raise these;
use cases import only this module and get the implementations from `Services`. Kept cheap to import
(msgspec and the standard library only): it is on every cold start.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

if TYPE_CHECKING:
    from chalicelib.domain.alerts import Notification
    from chalicelib.domain.contacts import ContactRecord


# --- storage -----------------------------------------------------------------------------------


class StoreUnavailable(Exception):
    """The store throttled, timed out or could not be reached after botocore's retries."""


class ConditionFailed(Exception):
    """The write's precondition did not hold (the id exists, or the version is stale).

    `existing` is the item that failed the condition when the write asked for it back
    (ReturnValuesOnConditionCheckFailure=ALL_OLD), so telling a retry from a conflict costs no
    second round trip.
    """

    def __init__(self, existing: ContactRecord | None = None) -> None:
        super().__init__("condition failed")
        self.existing = existing


class SubscriberGone(Exception):
    """A reply's author was erased (or is being erased): its words are not stored."""


class StaleAlert(Exception):
    """The alert changed state meanwhile (a concurrent approve/update/cancel)."""


class NotFound(Exception):
    """The record does not exist (any more)."""


@dataclass(frozen=True)
class WordHolder:
    """A record about to hold the words of `subscriber_id`, indexed under `owner`."""

    subscriber_id: str
    owner: str
    table: str
    record_id: str
    expires_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.table}#{self.record_id}"


# --- the storage adapters, as a bundle -----------------------------------------------------


@dataclass(frozen=True)
class Repositories:
    """The storage adapters use cases call (chalicelib/store modules, one per table group).
    Injectable: tests may hand use cases in-memory fakes with the same functions."""

    contacts: Any
    areas: Any
    alerts: Any
    deliveries: Any
    subscribers: Any
    words: Any
    access_log: Any
    alert_history: Any
    engagement: Any
    history: Any
    ratelimit: Any
    health: Any


# --- fan-out queue -----------------------------------------------------------------------------


class FanoutMessage(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """One unit of fan-out work: some cells of the subscription index (`cells` mode) or the
    audience of an earlier message (`audience` mode: Update/Cancel), from a position."""

    alert_id: str
    revision: int
    mode: str = "cells"  # cells|audience
    cells: list[str] = []
    cell_index: int = 0
    shard: int = 0  # audience mode: which delivery shard (see store.deliveries.DELIVERY_SHARDS)
    start: dict[str, Any] | None = None


class FanoutQueue(Protocol):
    def enqueue(self, messages: list[FanoutMessage]) -> None: ...


class QueueUnavailable(Exception):
    """Some messages could not be enqueued after retries."""


# --- delivery channels -------------------------------------------------------------------------


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
    """One delivery channel (SNS mobile push, Web Push); fakes implement the same."""

    def send(self, target: dict[str, Any], notification: Notification) -> SendOutcome:
        """Deliver one notification to one target; never raises for delivery failures."""
        ...


class EndpointRegistrar(Protocol):
    """SNS platform endpoints for device tokens (registration and erasure)."""

    def create(self, platform_app_arn: str, token: str) -> str: ...

    def delete(self, endpoint_arn: str) -> None: ...


class DestinationRefused(Exception):
    """The URL must not be requested; `reason` says why (safe to show to the subscriber)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PushGuard(Protocol):
    """Checks a push endpoint before it is stored (raises DestinationRefused)."""

    def check(self, url: str) -> Any: ...
