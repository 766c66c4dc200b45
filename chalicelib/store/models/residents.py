"""Residents: subscribers, the subscription cell index, inbox, rate counters and the words index."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class SubscriberModel(Model):
    """A registered device: its channel (minimal: token or PushSubscription), preferences and the
    shapes it subscribed to. Expires (TTL) with its resident token; see docs/alerts.md."""

    class Meta(_Meta):
        short_name = "subscribers"

    id = UnicodeAttribute(hash_key=True)
    channel = UnicodeAttribute()  # JSON: {"type": "sns", "platform", "token"|"endpoint_arn"} | webpush | inbox
    language = UnicodeAttribute(null=True)
    categories = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # of= takes the attribute class
    min_severity = UnicodeAttribute(null=True)
    quiet_hours = UnicodeAttribute(null=True)  # JSON {"start", "end", "tz"}
    areas = UnicodeAttribute(null=True)  # JSON list of the shapes as given (area refs resolved)
    cells = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # of= takes the attribute class ; the subscription index entries it owns
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    expires_at = TTLAttribute()
    secret = UnicodeAttribute(null=True)  # base64 random key of this resident's pseudonyms
    erasing = UnicodeAttribute(null=True)  # set when erasure starts: no new words are stored
    # JSON list of contact channels (email address, phone number: personal data, erased with the
    # record; domain/contact_channels.py). Never copied into any other item.
    contacts = UnicodeAttribute(null=True)


class SubscriptionModel(Model):
    """The cell index: (H3 res-7 cell, subscriber) -> the subscriber's shapes, for Query-only fan-out."""

    class Meta(_Meta):
        short_name = "subscriptions"

    cell = UnicodeAttribute(hash_key=True)
    subscriber_id = UnicodeAttribute(range_key=True)
    shapes = UnicodeAttribute()  # JSON list of shapes (exact check in the worker)
    cells = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # of= takes the attribute class ; all the subscriber's cells: the worker
    # handles a subscriber only in the first of them the alert covers (no duplicate claims)
    expires_at = TTLAttribute()


class InboxModel(Model):
    """Alerts delivered to a subscriber, newest first (sort key starts with the sent time)."""

    class Meta(_Meta):
        short_name = "inbox"

    subscriber_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)  # <sent_at>#<alert_id>#<revision:04d>
    item = UnicodeAttribute()  # JSON of the notification in the subscriber's language
    expires_at = TTLAttribute()


class RateCounterModel(Model):
    """Fixed-window request counters (e.g. registrations per client address per minute)."""

    class Meta(_Meta):
        short_name = "rate-counters"

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class WordModel(Model):
    """Where a resident's own words are kept: one item per record holding them (a reply
    contact now; conversation messages later). `owner` is the resident's `res_` pseudonym, so the
    index names nobody once the subscriber's secret is erased. Erasure Queries `owner` and
    redacts each `ref` (`<table>#<id>`); TTL = the holding record's own expiry."""

    class Meta(_Meta):
        short_name = "words"

    owner = UnicodeAttribute(hash_key=True)
    ref = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute()
