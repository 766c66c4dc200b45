"""Contact channels beside a subscriber's main `channel`: an email address, a phone number (SMS).

A contact channel is personal data: it lives only inside the subscriber record (never in logs,
the access log, history or anything staff read), is erased with it, and is `pending` until
confirmed; nothing but the confirmation is sent to a pending channel, and a pending one lapses
after its rule's `ttl` (docs/channels.md).

How a channel is confirmed is one rule per type behind `ConfirmRule`: email by a single-use link
(`LinkConfirmation`: the token is presented to the public `POST /v1/subscribers/confirm`), SMS by
a one-time code the signed-in resident types (`CodeConfirmation`). A stored check is a keyed
digest (HMAC under the subscriber's own secret), never the secret sent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Literal, Protocol

from msgspec import Meta, Struct

ContactType = Literal["email", "sms"]
CONTACT_TYPES: tuple[str, ...] = ("email", "sms")
MAX_EMAIL_LENGTH = 254

# Conservative on purpose (RFC 5321 dot-atoms, ASCII): nothing that could end a header line or
# be read as a second address (no whitespace, quotes, commas, angle brackets, CR/LF).
_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
E164 = r"^\+[1-9][0-9]{6,14}$"

EmailAddress = Annotated[str, Meta(min_length=6, max_length=MAX_EMAIL_LENGTH, pattern=_EMAIL.pattern,
                                   description="An email address (ASCII, dot-atom local part, a domain name)")]
PhoneNumber = Annotated[str, Meta(pattern=E164, description="E.164, e.g. +447700900123")]


class EmailChannelIn(Struct, tag="email", tag_field="type", forbid_unknown_fields=True):
    """Double opt-in: a confirmation email with a single-use link; nothing else until confirmed."""

    address: EmailAddress


class SmsChannelIn(Struct, tag="sms", tag_field="type", forbid_unknown_fields=True):
    """Confirmed by a one-time code sent by SMS."""

    phone: PhoneNumber


ContactChannelIn = EmailChannelIn | SmsChannelIn


class ContactPut(Struct, forbid_unknown_fields=True, kw_only=True):
    """`PUT /v1/subscribers/me/channels/{type}`: `address` for email, `phone` for sms."""

    address: EmailAddress | None = None
    phone: PhoneNumber | None = None
    # sms only: the lowest severity texted to this number (default: the force's threshold,
    # BEATLINE_SMS_MIN_SEVERITY); changing it alone on a confirmed number sends no new code.
    min_severity: Annotated[str, Meta(pattern=r"^(Extreme|Severe|Moderate|Minor)$")] | None = None


class ConfirmIn(Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")]


class UnsubscribeQuery(Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_.\-]+$")]


class CodeIn(Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(pattern=r"^[0-9]{6}$")]


class ContactChannelOut(Struct, omit_defaults=True):
    """What the resident sees of a contact channel: a masked hint, never the whole address."""

    type: str
    status: str  # pending|confirmed|suppressed
    hint: str
    pending_until: str | None = None
    confirmed_at: str | None = None
    min_severity: str | None = None  # sms: the resident's own bar for texts


class ConfirmedOut(Struct):
    type: str
    status: str


def normalise_email(address: str) -> str:
    """The domain is case-insensitive; the local part is kept as given (RFC 5321)."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def valid_email(address: str) -> bool:
    return len(address) <= MAX_EMAIL_LENGTH and _EMAIL.match(address) is not None


def hint(contact_type: str, address: str) -> str:
    """`j•••@example.org`, `+44•••••••23`: enough for the resident to recognise it."""
    if contact_type == "email":
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}•••@{domain}"
    return f"{address[:3]}{'•' * max(len(address) - 5, 1)}{address[-2:]}"


@dataclass(frozen=True)
class ContactChannel:
    """One contact channel as stored inside the subscriber record.

    `check` is the keyed digest of the pending confirmation secret (cleared once used);
    `unsubscribe` is the random secret of this channel's one-click unsubscribe token (it can
    only remove this channel); `attempts` counts wrong codes."""

    type: str
    address: str
    status: str  # pending|confirmed|suppressed
    created_at: str
    unsubscribe: str
    check: str | None = None
    pending_until: str | None = None
    attempts: int = 0
    confirmed_at: str | None = None
    suppressed: str | None = None  # why: "bounce" | "complaint" | "stop"
    min_severity: str | None = None  # sms: the resident's own bar for texts (None: the force's)
    # Email: the key of this channel's reply addresses (one per conversation, `reply_token`); it
    # dies with the channel, which revokes every reply address it made.
    reply_key: str | None = None

    def live(self, now_text: str) -> bool:
        """Still worth keeping: confirmed (or suppressed), or pending and not lapsed."""
        return self.status != "pending" or (self.pending_until is not None and self.pending_until > now_text)

    @property
    def sendable(self) -> bool:
        return self.status == "confirmed"

    def target(self, subscriber_id: str) -> dict[str, str]:
        """What a channel adapter gets as `target`: where to send and the unsubscribe token."""
        target = {"type": self.type, "address": self.address, "subscriber_id": subscriber_id,
                  "unsubscribe_token": ChannelToken("u", self.type, subscriber_id, self.unsubscribe).encode()}
        if self.min_severity:
            target["min_severity"] = self.min_severity
        if self.reply_key:
            target["reply_key"] = self.reply_key
        return target


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelToken:
    """A capability on one channel of one subscriber: `c` confirms it, `u` unsubscribes it.
    Text form `<purpose>.<type>.<subscriber id hex>.<secret>` (the secret: 32 random bytes,
    base64url); a GetItem finds the record, a constant-time compare checks the secret."""

    purpose: Literal["c", "u"]
    type: str
    subscriber_id: str
    secret: str

    def encode(self) -> str:
        return f"{self.purpose}.{self.type}.{self.subscriber_id.replace('-', '')}.{self.secret}"

    @classmethod
    def decode(cls, text: str) -> ChannelToken | None:
        import uuid

        parts = text.split(".", 3)
        if len(parts) != 4 or parts[0] not in ("c", "u") or parts[1] not in CONTACT_TYPES:
            return None
        try:
            subscriber_id = str(uuid.UUID(hex=parts[2]))
        except ValueError:
            return None
        purpose: Literal["c", "u"] = "c" if parts[0] == "c" else "u"
        return cls(purpose, parts[1], subscriber_id, parts[3])


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def same_secret(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored.encode(), presented.encode())


# --- confirmation rules ----------------------------------------------------------------------


class ConfirmRule(Protocol):
    """How one channel type is confirmed. `via` says where the secret comes back: `link` (the
    public confirm route, token in hand) or `code` (the resident's own route, code typed)."""

    @property
    def via(self) -> Literal["link", "code"]: ...

    @property
    def ttl(self) -> timedelta: ...

    @property
    def max_attempts(self) -> int: ...

    def new_secret(self) -> str: ...


def digest(subscriber_secret: str, channel_type: str, secret: str) -> str:
    """The stored check: keyed by the subscriber's own secret, so a six-digit code's digest
    cannot be reversed by trying a million codes without it."""
    key = subscriber_secret.encode()
    return hmac.new(key, f"confirm|{channel_type}|{secret}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LinkConfirmation:
    via: Literal["link", "code"] = "link"
    ttl: timedelta = timedelta(hours=48)
    max_attempts: int = 1  # an unguessable secret: any wrong one is simply not found

    def new_secret(self) -> str:
        return new_secret()


@dataclass(frozen=True)
class CodeConfirmation:
    via: Literal["link", "code"] = "code"
    ttl: timedelta = timedelta(minutes=15)
    max_attempts: int = 5  # then the code is void; the resident asks for a new one

    def new_secret(self) -> str:
        return f"{secrets.randbelow(1_000_000):06d}"


CONFIRM_RULES: dict[str, ConfirmRule] = {"email": LinkConfirmation(), "sms": CodeConfirmation()}


def pending(contact_type: str, address: str, *, subscriber_secret: str, secret: str, now: datetime,
            now_text: str, rule: ConfirmRule, previous: ContactChannel | None) -> ContactChannel:
    """A (re)started confirmation: a new secret's digest, a new deadline. The unsubscribe secret
    survives a resend to the same address (links in mail already sent keep working)."""
    from chalicelib.clock import to_rfc3339

    keep = previous is not None and previous.address == address
    return ContactChannel(
        type=contact_type, address=address, status="pending", created_at=now_text,
        unsubscribe=previous.unsubscribe if keep and previous is not None else new_secret(),
        check=digest(subscriber_secret, contact_type, secret), pending_until=to_rfc3339(now + rule.ttl),
        reply_key=new_secret() if contact_type == "email" else None)


def confirmed(contact: ContactChannel, now_text: str) -> ContactChannel:
    return replace(contact, status="confirmed", check=None, pending_until=None, attempts=0, confirmed_at=now_text)


def to_out(contact: ContactChannel) -> ContactChannelOut:
    return ContactChannelOut(type=contact.type, status=contact.status, hint=hint(contact.type, contact.address),
                             pending_until=contact.pending_until, confirmed_at=contact.confirmed_at,
                             min_severity=contact.min_severity)


# --- reply addresses (email) -----------------------------------------------------------------


def _b32(data: bytes) -> str:
    import base64

    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def reply_token(reply_key: str, conversation_id: str) -> str:
    """`r<conversation id, base32><80-bit HMAC under the channel's reply key>`: 43 characters, a
    valid local part, unguessable without the key, revoked when the channel (and its key) goes."""
    import uuid

    mac = hmac.new(reply_key.encode(), f"reply|{conversation_id}".encode(), hashlib.sha256).digest()
    return "r" + _b32(uuid.UUID(conversation_id).bytes) + _b32(mac)[:16]


def reply_conversation(local_part: str) -> str | None:
    """The conversation a reply token names (not yet checked against any key)."""
    import base64
    import uuid

    if not re.fullmatch(r"r[a-z2-7]{26}[a-z2-7]{16}", local_part.lower()):
        return None
    raw = base64.b32decode(local_part[1:27].upper() + "======")
    return str(uuid.UUID(bytes=raw))


def reply_matches(reply_key: str, local_part: str) -> bool:
    conversation_id = reply_conversation(local_part)
    return conversation_id is not None and hmac.compare_digest(reply_token(reply_key, conversation_id),
                                                               local_part.lower())
