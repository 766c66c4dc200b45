"""A resident's email reply becomes their message in the conversation (SES receiving -> S3 ->
app.py `email_replies`). Dropped, saying only why in the log (never an address or a word): mail to
no valid reply address, about a conversation that is gone, from anyone but the resident's
confirmed address, not authenticated by SES, or with no new text."""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from chalicelib.auth.principal import Principal
from chalicelib.context import RequestContext
from chalicelib.domain.contact_channels import normalise_email, reply_conversation, reply_matches
from chalicelib.domain.conversations import MessageIn
from chalicelib.domain.email_replies import InboundReply, parse, stored_object
from chalicelib.domain.errors import DomainError

if TYPE_CHECKING:
    from chalicelib.domain.subscribers import SubscriberRecord
    from chalicelib.services import Services

LOG = logging.getLogger("beatline.email")
REPLY_NAMESPACE = uuid.UUID("6a1f3c52-9d0e-4f4b-8f6e-2f1b7c9e0d44")


def _reply_local(svc: Services, reply: InboundReply) -> str | None:
    domain = (svc.settings.email_reply_domain or "").lower()
    for address in reply.recipients:
        local, _, at = address.rpartition("@")
        if domain and at == domain and reply_conversation(local) is not None:
            return local
    return None


def _owner(svc: Services, local: str) -> tuple[str, SubscriberRecord] | None:
    """The conversation and its resident, when the token is valid under that resident's email key."""
    conversation_id = reply_conversation(local)
    conv = svc.store.conversations.get(conversation_id) if conversation_id else None
    record = svc.store.subscribers.get(conv.owner) if conv is not None and conv.owner else None
    if conv is None or record is None:
        return None
    contact = record.contact("email")
    if contact is None or not contact.sendable or not contact.reply_key:
        return None
    return (conv.id, record) if reply_matches(contact.reply_key, local) else None


def _from_resident(reply: InboundReply, record: SubscriberRecord) -> bool:
    contact = record.contact("email")
    return contact is not None and normalise_email(contact.address).lower() == normalise_email(reply.sender).lower()


def _verdict(svc: Services, reply: InboundReply) -> tuple[str, tuple[str, SubscriberRecord] | None]:
    local = _reply_local(svc, reply)
    found = _owner(svc, local) if local else None
    if found is None:
        return "no valid reply address", None
    if not reply.authentic:
        return "not authenticated by SES", None
    if not _from_resident(reply, found[1]):
        return "not from the resident's confirmed address", None
    if not reply.text:
        return "no new text", None
    return "posted", found


def receive(svc: Services, raw: bytes, request_id: str) -> str:
    """Post the reply as the resident's message (idempotent on the email's Message-ID: a
    redelivered S3 event posts it once); what happened, for the log."""
    reply = parse(raw)
    verdict, found = _verdict(svc, reply)
    if found is None:
        LOG.info("email reply dropped: %s", verdict)
        return verdict
    conversation_id, record = found
    import hashlib

    message_id = uuid.uuid5(REPLY_NAMESPACE, f"{conversation_id}|{reply.message_id or hashlib.sha256(raw).hexdigest()}")
    ctx = RequestContext(request_id=request_id, now=svc.clock(), subscriber=record,
                         principal=Principal(sub=record.id, roles=frozenset({"resident"}), kind="resident"))
    from chalicelib.usecases.conversations import post_message

    try:
        post_message(svc, ctx, conversation_id, MessageIn(id=message_id, text=reply.text))
    except DomainError as refused:  # e.g. a conversation closed as abuse
        LOG.info("email reply refused: %s", type(refused).__name__)
        return "refused"
    return verdict


def from_notification(svc: Services, sns_message: str, request_id: str) -> str:
    """An SES receipt notification: read (and delete) the stored email, then `receive` it."""
    where = stored_object(sns_message)
    if where is None or where[0] != svc.settings.email_inbound_bucket:
        LOG.info("email receipt notification ignored: not an S3 action on this stage's bucket")
        return "ignored"
    return receive(svc, svc.mailbox().take(*where), request_id)
