"""SES event notifications (configuration-set event publishing through SNS, and the older identity
feedback notifications): which sent email a permanent bounce or a complaint concerns.

Each email Beatline sends is tagged `subscriber=<id>` (notify/ses.py), so an event names its
subscriber without any index of addresses; the event's recipient address must still be that
subscriber's email channel (a forged or stale event suppresses nothing else)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Suppression:
    subscriber_id: str
    address: str
    reason: str  # "bounce" | "complaint"
    event_id: str  # the SES message id: what the access log names


def _recipients(event: dict[str, Any], kind: str) -> tuple[str, list[str]] | None:
    """(reason, addresses) of a permanent bounce or a complaint; None for anything else."""
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return None  # transient: SES retries, nothing to stop
        return "bounce", [str(r.get("emailAddress", "")) for r in bounce.get("bouncedRecipients") or []]
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        return "complaint", [str(r.get("emailAddress", "")) for r in complaint.get("complainedRecipients") or []]
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _event(message: str) -> dict[str, Any]:
    try:
        return _dict(json.loads(message))
    except ValueError:
        return {}


def _subscriber(mail: dict[str, Any]) -> str | None:
    """The one subscriber tag of an email Beatline sent (None: not one of ours)."""
    tagged = _dict(mail.get("tags")).get("subscriber")
    return str(tagged[0]) if isinstance(tagged, list) and len(tagged) == 1 else None


def suppressions(message: str) -> list[Suppression]:
    """The suppressions one SNS message asks for ([] for other events and for anything malformed)."""
    event = _event(message)
    found = _recipients(event, str(event.get("eventType") or event.get("notificationType") or ""))
    mail = _dict(event.get("mail"))
    subscriber = _subscriber(mail)
    if found is None or subscriber is None:
        return []
    reason, addresses = found
    return [Suppression(subscriber, a, reason, str(mail.get("messageId", ""))) for a in addresses if a]
