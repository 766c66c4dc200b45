"""Phone numbers of the SMS channel (docs/channels.md): which numbers may be added, how often a
code may be texted, and the STOP index.

The contact-channel plumbing (usecases/contact_channels.py) keeps the number in the subscriber
record, pending until the resident types the code it texts (`CodeConfirmation`). Here:
- `admit`: a number is E.164, valid in its country's plan and a mobile (the `phonenumbers`
  library), not on the SMS service's opt-out list, and codes to it are rate limited per number
  and per subscriber, per hour and per day (`BEATLINE_SMS_CODES_PER_HOUR` / `_PER_DAY`), so
  nobody can use Beatline to text a stranger's phone over and over;
- `confirmed` / `forget`: the STOP index (a keyed digest of the number -> the subscriber), so an
  inbound STOP finds who holds the number without any number stored as a key.
Numbers are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.context import RequestContext
from chalicelib.domain.errors import FieldError, RateLimited, RuleViolation, StateForbids
from chalicelib.domain.sms import InvalidNumber, normalise_number

if TYPE_CHECKING:
    from chalicelib.services import Services

HOUR, DAY = 3600, 86400


def number_digest(svc: Services, number: str) -> str:
    """The number as the STOP index keys it: keyed (a bare hash of a phone number is reversed by
    trying every number)."""
    return hmac.new(svc.pseudonyms.subkey("sms-number"), number.encode(), hashlib.sha256).hexdigest()[:40]


def checked_number(raw: str, field: str = "phone") -> str:
    try:
        return normalise_number(raw)
    except InvalidNumber as refused:
        raise RuleViolation("The phone number cannot be used.", [FieldError(field, str(refused))]) from None


def _window_end(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return now + timedelta(seconds=seconds - epoch % seconds)


def _limit_codes(svc: Services, ctx: RequestContext, subscriber_id: str, digest: str) -> None:
    """Per number and per subscriber, per hour and per day; 429 with the wait when spent."""
    settings = svc.settings
    # Keyed digests only: neither the number nor the subscriber id is stored in a counter's key.
    subscriber = hmac.new(svc.pseudonyms.subkey("rate-limit"), subscriber_id.encode(), hashlib.sha256).hexdigest()[:32]
    for seconds, allowed in ((HOUR, settings.sms_codes_per_hour), (DAY, settings.sms_codes_per_day)):
        ends = _window_end(ctx.now, seconds)
        window = int(ends.timestamp())
        for who in (f"number#{digest}", f"subscriber#{subscriber}"):
            if not svc.store.ratelimit.hit(f"sms-code#{who}#{window}", limit=allowed, window_ends=ends):
                raise RateLimited(retry_after=max(1, int((ends - ctx.now).total_seconds())))


def admit(svc: Services, ctx: RequestContext, subscriber_id: str, raw: str, field: str = "phone") -> str:
    """The number as stored (E.164) when a code may be texted to it now; 400 for a number texts
    cannot reach, 429 past the code limits, 422 when the number opted out at the SMS service."""
    number = checked_number(raw, field)
    _limit_codes(svc, ctx, subscriber_id, number_digest(svc, number))
    if svc.sms_sender.opted_out(number):
        raise StateForbids("This number has opted out of texts from us: text START to our number, then try again.",
                           [FieldError(field, "has opted out of texts")])
    return number


def confirmed(svc: Services, subscriber_id: str, number: str, expires_at: datetime) -> None:
    """A number confirmed by its code: STOP from it now finds the subscriber."""
    svc.store.sms.link_number(number_digest(svc, number), subscriber_id, expires_at)


def forget(svc: Services, subscriber_id: str, number: str) -> None:
    """A removed, replaced, stopped or erased number leaves the STOP index."""
    svc.store.sms.unlink_number(number_digest(svc, number), subscriber_id)
