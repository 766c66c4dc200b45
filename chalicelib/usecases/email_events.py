"""Bounces and complaints (SES -> SNS -> app.py `email_events`): a permanent bounce or a complaint
suppresses the subscriber's email channel; nothing is sent to it again (docs/channels.md). In AWS
the configuration set's account-level suppression also stops SES itself sending to the address."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.contact_channels import normalise_email
from chalicelib.domain.email_events import Suppression, suppressions
from chalicelib.ports import NotFound

if TYPE_CHECKING:
    from chalicelib.services import Services

LOG = logging.getLogger("beatline.email")
ACTOR = "system:email-events"


def handle(svc: Services, message: str) -> int:
    """Apply one SNS message; the number of channels suppressed."""
    return sum(1 for s in suppressions(message) if _suppress(svc, s))


def _suppress(svc: Services, event: Suppression) -> bool:
    record = svc.store.subscribers.get(event.subscriber_id)
    contact = record.contact("email") if record is not None else None
    if record is None or contact is None or contact.status == "suppressed":
        return False
    if normalise_email(contact.address).lower() != normalise_email(event.address).lower():
        return False  # not (or no longer) this subscriber's address
    now = svc.clock()
    suppressed = replace(contact, status="suppressed", suppressed=event.reason)
    contacts = tuple(suppressed if c.type == "email" else c for c in record.contacts)
    try:
        svc.store.subscribers.save(replace(record, contacts=contacts, updated_at=to_rfc3339(now)))
    except NotFound:
        return False  # erased meanwhile
    # Named by the SES message, never by the subscriber id or the address.
    svc.store.access_log.append(AccessRecord(actor=ACTOR, role="system", action=f"subscriber.channel.email.{event.reason}",
                                             at=now, request_id=event.event_id or "ses", record_id=f"ses:{event.event_id}"))
    LOG.info("email channel suppressed after a %s", event.reason)
    return True
