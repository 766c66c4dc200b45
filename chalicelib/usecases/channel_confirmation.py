"""Starting a contact channel's confirmation: the pending entry and the message that confirms it.

Shared by registration (`usecases/subscribers.register`) and by adding a channel later
(`usecases/contact_channels.put_channel`). The rule per type (link or code) is
`domain.contact_channels.CONFIRM_RULES`; the sender per type is `Services.confirmation_senders()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.domain.contact_channels import (
    CONFIRM_RULES,
    ChannelToken,
    ContactChannel,
    EmailChannelIn,
    SmsChannelIn,
    normalise_email,
    pending,
)
from chalicelib.domain.errors import StateForbids, Unavailable
from chalicelib.ports import ConfirmationSender, SendOutcome

if TYPE_CHECKING:
    from chalicelib.context import RequestContext
    from chalicelib.services import Services


def address_of(channel: EmailChannelIn | SmsChannelIn) -> tuple[str, str]:
    """(type, address as stored)."""
    if isinstance(channel, EmailChannelIn):
        return "email", normalise_email(channel.address)
    return "sms", channel.phone


def admit(svc: Services, ctx: RequestContext, subscriber_id: str, contact_type: str, address: str, field: str) -> str:
    """The address as stored, once the type's own checks pass (sms: a mobile number, the code
    limits per number and per subscriber, the service's opt-out list: usecases/sms_numbers.py)."""
    if contact_type != "sms":
        return address
    from chalicelib.usecases import sms_numbers

    return sms_numbers.admit(svc, ctx, subscriber_id, address, field)


def confirmed(svc: Services, subscriber_id: str, contact: ContactChannel, expires_at: datetime) -> None:
    """A confirmed number joins the STOP index (an inbound STOP then finds the subscriber)."""
    if contact.type == "sms":
        from chalicelib.usecases import sms_numbers

        sms_numbers.confirmed(svc, subscriber_id, contact.address, expires_at)


def forget(svc: Services, subscriber_id: str, contact: ContactChannel | None) -> None:
    """A number leaving the record (removed, replaced, unsubscribed, erased) leaves the STOP index."""
    if contact is not None and contact.type == "sms":
        from chalicelib.usecases import sms_numbers

        sms_numbers.forget(svc, subscriber_id, contact.address)


def sender_for(svc: Services, contact_type: str) -> ConfirmationSender:
    """422 before anything is written when this stage does not send to the type (not a 503:
    retrying will not help)."""
    sender = svc.confirmation_senders().get(contact_type)
    if sender is None:
        raise StateForbids(f"The {contact_type} channel is not offered on this stage.")
    return sender


def begin(subscriber_id: str, subscriber_secret: str, contact_type: str, address: str, now: datetime,
          previous: ContactChannel | None) -> tuple[ContactChannel, str]:
    """The pending entry to store, and what the confirmation message carries (a link rule: the
    whole `c.` token; a code rule: the code)."""
    rule = CONFIRM_RULES[contact_type]
    secret = rule.new_secret()
    contact = pending(contact_type, address, subscriber_secret=subscriber_secret, secret=secret, now=now,
                      now_text=to_rfc3339(now), rule=rule, previous=previous)
    carried = ChannelToken("c", contact_type, subscriber_id, secret).encode() if rule.via == "link" else secret
    return contact, carried


def send(sender: ConfirmationSender, contact: ContactChannel, carried: str, language: str | None) -> None:
    """After the pending entry is stored: a failed send leaves it pending (adding it again resends)."""
    if sender.send_confirmation(contact.address, carried, language) is not SendOutcome.SENT:
        raise Unavailable("The confirmation could not be sent; try again later.", retry_after=60)
