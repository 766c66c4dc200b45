"""What arrives on the SMS topic (docs/channels.md): residents' texts to the two-way number, and
the SMS service's delivery events for messages we sent.

- A text whose first word is a STOP keyword (the force's setting) unsubscribes that number from
  every subscriber holding it (`remove`: the number leaves the record and the STOP index).
- Any other text is dropped: an inbound SMS's sender number is not authenticated (it can be
  spoofed), so it may not speak for a resident in a conversation; see docs/channels.md.
- A delivery event (`eventType` TEXT_*) sets that message's status once; final outcomes are
  counted in the day's figures (delivered / undelivered).
Nothing here logs a number or a text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from chalicelib.clock import to_rfc3339
from chalicelib.domain.sms import E164, is_stop
from chalicelib.usecases.sms_numbers import number_digest

if TYPE_CHECKING:
    from chalicelib.services import Services

LOG = logging.getLogger("beatline.sms")
MAX_BODY = 1600  # the longest concatenated SMS; longer is not an inbound text


class InboundText(msgspec.Struct, forbid_unknown_fields=False):
    """End User Messaging SMS two-way: what it publishes for a text to the origination number."""

    originationNumber: str
    messageBody: str
    destinationNumber: str | None = None
    inboundMessageId: str | None = None


class DeliveryEvent(msgspec.Struct, forbid_unknown_fields=False):
    """End User Messaging SMS event destination: one event about one message sent."""

    eventType: str
    messageId: str


PENDING = frozenset({"TEXT_PENDING", "TEXT_QUEUED"})
# Other TEXT_ events (TEXT_INVALID, TEXT_CARRIER_UNREACHABLE, TEXT_BLOCKED, TEXT_SPAM,
# TEXT_TTL_EXPIRED, ...) are final failures: undelivered. VOICE_/MEDIA_/RCS_ events are not ours.
STATUSES = {"TEXT_SENT": "sent", "TEXT_SUCCESSFUL": "sent", "TEXT_DELIVERED": "delivered"}

# What to do with a subscriber whose number said STOP: (services, subscriber id, number) -> None.
Remove = Callable[["Services", str, str], None]


def stop_number(svc: Services, subscriber_id: str, number: str) -> None:
    """STOP from a number: it leaves the subscriber's record (when it is still theirs) and the
    STOP index. Logged like the one-click unsubscribe, by the system, naming the resident only by
    their pseudonym."""
    from dataclasses import replace

    from chalicelib.domain.access import AccessRecord
    from chalicelib.usecases.residents import resident_name
    from chalicelib.usecases.sms_numbers import forget
    from chalicelib.usecases.subscribers import save

    record = svc.store.subscribers.get(subscriber_id)
    contact = record.contact("sms") if record is not None else None
    if record is not None and contact is not None and contact.address == number and record.secret is not None:
        now = svc.clock()
        kept = tuple(c for c in record.contacts if c is not contact)
        save(svc, replace(record, contacts=kept, updated_at=to_rfc3339(now)))
        name = resident_name(svc, record)
        svc.store.access_log.append(AccessRecord(actor="system:sms", role="system", action="subscriber.channel.sms.stop",
                                                 at=now, request_id="sms-inbound", record_id=name))
    forget(svc, subscriber_id, number)


def handle(svc: Services, message: str, remove: Remove) -> str:
    """One SNS message; what it was: `stop`, `ignored`, `status` or `malformed`."""
    try:
        raw = msgspec.json.decode(message)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return "malformed"
    if not isinstance(raw, dict):
        return "malformed"
    try:
        if "eventType" in raw:
            return _status(svc, msgspec.convert(raw, DeliveryEvent))
        return _text(svc, msgspec.convert(raw, InboundText), remove)
    except msgspec.ValidationError:
        return "malformed"


def _text(svc: Services, text: InboundText, remove: Remove) -> str:
    number = text.originationNumber
    if not E164.fullmatch(number) or len(text.messageBody) > MAX_BODY:
        return "malformed"
    if not is_stop(text.messageBody, svc.settings.sms_stop_keywords):
        return "ignored"
    holders = svc.store.sms.holders(number_digest(svc, number))
    for subscriber_id in holders:
        remove(svc, subscriber_id, number)
    now = svc.clock()
    svc.store.sms.add_figures("sms", to_rfc3339(now)[:10], {"stopped": len(holders)})
    LOG.info("STOP received: %d subscriber(s) unsubscribed from texts", len(holders))
    return "stop"


def _status(svc: Services, event: DeliveryEvent) -> str:
    if event.eventType in PENDING or not event.eventType.startswith("TEXT_") or len(event.messageId) > 200:
        return "status"
    status = STATUSES.get(event.eventType, "undelivered")
    now = svc.clock()
    ref = svc.store.sms.set_status(event.messageId, status, to_rfc3339(now))
    if ref is not None and status != "sent":
        svc.store.sms.add_figures("sms", to_rfc3339(now)[:10], {status: 1})
    return "status"
