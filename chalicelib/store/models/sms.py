"""SMS: one table for what the SMS channel keeps besides the subscriber record (docs/channels.md).

Items by `key` prefix (the sort key `item` as noted):
- `number#<keyed digest of the number>` / `<subscriber>`: who holds a confirmed number, so an
  inbound STOP finds them without the number being stored as a key; TTL with the subscriber.
- `message#<service message id>` / `-`: what one SMS was (`ref`: `alert:<id>` or `code`) and its
  delivery status as the service reports it; no number, no subscriber; TTL 30 days.
- `figures#<channel>` / `<day>`: counters of what was sent per channel per day.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class SmsModel(Model):
    class Meta(_Meta):
        short_name = "sms"

    key = UnicodeAttribute(hash_key=True)
    item = UnicodeAttribute(range_key=True)
    ref = UnicodeAttribute(null=True)  # message: alert:<id> | code
    status = UnicodeAttribute(null=True)  # message: sent | delivered | failed | ...
    at = UnicodeAttribute(null=True)
    sent = NumberAttribute(null=True)  # figures
    failed = NumberAttribute(null=True)
    capped = NumberAttribute(null=True)
    delivered = NumberAttribute(null=True)
    undelivered = NumberAttribute(null=True)
    stopped = NumberAttribute(null=True)
    codes = NumberAttribute(null=True)
    segments = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
