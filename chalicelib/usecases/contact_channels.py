"""A resident's contact channels beside the main one (email, sms): add, remove, confirm, and the
one-click unsubscribe. See docs/channels.md.

Every change is access-logged like any change of the subscriber record (the entry names the
channel type, never the address).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.clock import to_rfc3339
from chalicelib.context import RequestContext
from chalicelib.domain.contact_channels import (
    CONFIRM_RULES,
    ChannelToken,
    CodeIn,
    ConfirmedOut,
    ConfirmIn,
    ContactChannel,
    ContactPut,
    EmailChannelIn,
    SmsChannelIn,
    confirmed,
    digest,
    same_secret,
)
from chalicelib.domain.errors import FieldError, NotFound, RuleViolation, StateForbids
from chalicelib.domain.subscribers import SubscriberOut, SubscriberRecord
from chalicelib.usecases import channel_confirmation
from chalicelib.usecases.subscribers import current, own_audit, save, to_out

if TYPE_CHECKING:
    from chalicelib.services import Services

NO_SUCH_TOKEN = "No pending channel has this token (it was used, has lapsed or never existed)."  # noqa: S105 - a message, not a password


def _channel_in(contact_type: str, body: ContactPut) -> EmailChannelIn | SmsChannelIn:
    if contact_type != "sms" and body.min_severity is not None:
        raise RuleViolation("Only a phone number takes `min_severity`.", [FieldError("min_severity", "is for sms only")])
    if contact_type == "email" and body.address is not None and body.phone is None:
        return EmailChannelIn(address=body.address)
    if contact_type == "sms" and body.phone is not None and body.address is None:
        return SmsChannelIn(phone=body.phone)
    field = "address" if contact_type == "email" else "phone"
    raise RuleViolation(f"A {contact_type} channel takes `{field}` only.", [FieldError(field, "is required")])


def _with_contact(record: SubscriberRecord, contact: ContactChannel | None, contact_type: str,
                  now: datetime) -> SubscriberRecord:
    """`record` with `contact` in place of its channel of that type (None: removed); lapsed
    pending channels are dropped on the way."""
    now_text = to_rfc3339(now)
    kept = tuple(c for c in record.contacts if c.type != contact_type and c.live(now_text))
    return replace(record, contacts=kept + ((contact,) if contact else ()), updated_at=now_text)


def put_channel(svc: Services, ctx: RequestContext, contact_type: str, body: ContactPut) -> SubscriberOut:
    """Add (or change) this type's channel: pending until confirmed. The same address again
    while pending sends a new confirmation; while confirmed, nothing changes."""
    channel_in = _channel_in(contact_type, body)
    record = current(svc, ctx)
    _, address = channel_confirmation.address_of(channel_in)
    previous = record.contact(contact_type)
    if previous is not None and previous.address == address and previous.status != "pending":
        return _same_address(svc, ctx, record, previous, body)  # confirmed (or suppressed: only a new address starts again)
    sender = channel_confirmation.sender_for(svc, contact_type)
    address = channel_confirmation.admit(svc, ctx, record.id, contact_type, address, "phone")
    if record.secret is None:
        raise StateForbids("This subscriber has no secret yet.")  # current() gives every record one
    contact, carried = channel_confirmation.begin(record.id, record.secret, contact_type, address, ctx.now, previous)
    contact = replace(contact, min_severity=body.min_severity)
    new = _with_contact(record, contact, contact_type, ctx.now)
    save(svc, new)
    if previous is not None and previous.address != address:
        channel_confirmation.forget(svc, record.id, previous)
    svc.store.access_log.append(own_audit(svc, ctx, record, f"subscriber.channel.{contact_type}.add"))
    channel_confirmation.send(sender, contact, carried, record.preferences.language)
    return to_out(new)


def _same_address(svc: Services, ctx: RequestContext, record: SubscriberRecord, previous: ContactChannel,
                  body: ContactPut) -> SubscriberOut:
    """The address it already has: only a number's own bar for texts may change (no new code)."""
    if previous.type != "sms" or previous.min_severity == body.min_severity:
        return to_out(record)
    new = _with_contact(record, replace(previous, min_severity=body.min_severity), previous.type, ctx.now)
    save(svc, new)
    svc.store.access_log.append(own_audit(svc, ctx, record, f"subscriber.channel.{previous.type}.update"))
    return to_out(new)


def delete_channel(svc: Services, ctx: RequestContext, contact_type: str) -> None:
    """Remove this type's channel (its address is gone from the record at once); 204 also when none."""
    record = current(svc, ctx)
    if record.contact(contact_type) is None:
        return
    save(svc, _with_contact(record, None, contact_type, ctx.now))
    channel_confirmation.forget(svc, record.id, record.contact(contact_type))
    svc.store.access_log.append(own_audit(svc, ctx, record, f"subscriber.channel.{contact_type}.remove"))


def _full_life(svc: Services, record: SubscriberRecord) -> datetime:
    """A record registered by email or phone lapses with its pending channel; once confirmed it
    lives as long as its resident token."""
    created = datetime.fromisoformat(record.created_at)
    return max(record.expires_at, created + timedelta(days=svc.settings.resident_token_days))


def _confirm(svc: Services, ctx: RequestContext, record: SubscriberRecord, contact: ContactChannel) -> ConfirmedOut:
    new = _with_contact(record, confirmed(contact, to_rfc3339(ctx.now)), contact.type, ctx.now)
    life = _full_life(svc, record)
    if life != record.expires_at:
        new = replace(new, expires_at=life)
        if record.cells:  # the cell index entries carry the record's TTL too
            svc.store.subscribers.write_index(record.id, record.cells, record.shapes(), life)
    save(svc, new)
    channel_confirmation.confirmed(svc, record.id, contact, life)
    svc.store.access_log.append(own_audit(svc, ctx, record, f"subscriber.channel.{contact.type}.confirm"))
    return ConfirmedOut(type=contact.type, status="confirmed")


def _pending(record: SubscriberRecord | None, contact_type: str, now: datetime) -> ContactChannel | None:
    if record is None or record.secret is None or record.expires_at <= now:
        return None
    contact = record.contact(contact_type)
    if contact is None or contact.status != "pending" or contact.check is None:
        return None
    return contact if contact.live(to_rfc3339(now)) else None


def confirm_token(svc: Services, ctx: RequestContext, body: ConfirmIn) -> ConfirmedOut:
    """The public confirmation of a link channel (the page the emailed link opens POSTs the
    token). Single use: the check is cleared once it matched. Anything else is one 404."""
    token = ChannelToken.decode(body.token)
    if token is None or token.purpose != "c" or CONFIRM_RULES[token.type].via != "link":
        raise NotFound(NO_SUCH_TOKEN)
    record = svc.store.subscribers.get(token.subscriber_id)
    contact = _pending(record, token.type, ctx.now)
    if record is None or record.secret is None or contact is None or contact.check is None:
        raise NotFound(NO_SUCH_TOKEN)
    if not same_secret(contact.check, digest(record.secret, token.type, token.secret)):
        raise NotFound(NO_SUCH_TOKEN)
    return _confirm(svc, ctx, record, contact)


def confirm_code(svc: Services, ctx: RequestContext, contact_type: str, body: CodeIn) -> ConfirmedOut:
    """The signed-in resident types the code sent to a code channel (sms). After the rule's
    `max_attempts` wrong codes the code is void (add the channel again for a new one)."""
    rule = CONFIRM_RULES[contact_type]
    record = current(svc, ctx)
    contact = _pending(record, contact_type, ctx.now)
    if rule.via != "code" or contact is None or contact.check is None or record.secret is None:
        raise StateForbids(f"No {contact_type} channel is waiting for a code.")
    if same_secret(contact.check, digest(record.secret, contact_type, body.code)):
        return _confirm(svc, ctx, record, contact)
    attempts = contact.attempts + 1
    spent = attempts >= rule.max_attempts
    wrong = replace(contact, attempts=attempts, check=None if spent else contact.check)
    save(svc, _with_contact(record, wrong, contact_type, ctx.now))
    detail = "Too many wrong codes: ask for a new one." if spent else "Wrong code."
    raise RuleViolation(detail, [FieldError("code", "does not match")])


def unsubscribe(svc: Services, ctx: RequestContext, token_text: str) -> None:
    """One-click unsubscribe (RFC 8058): the `u.` token removes that one channel, without
    sign-in. Idempotent: an unknown or already used token changes nothing and says nothing."""
    token = ChannelToken.decode(token_text)
    if token is None or token.purpose != "u":
        return
    record = svc.store.subscribers.get(token.subscriber_id)
    contact = record.contact(token.type) if record is not None else None
    if record is None or contact is None or not same_secret(contact.unsubscribe, token.secret):
        return
    save(svc, _with_contact(record, None, token.type, ctx.now))
    channel_confirmation.forget(svc, record.id, contact)
    svc.store.access_log.append(own_audit(svc, ctx, record, f"subscriber.channel.{token.type}.unsubscribe"))
