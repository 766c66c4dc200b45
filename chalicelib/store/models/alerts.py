"""Residents' alerts: alerts, their public cell index and the per-subscriber deliveries."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class AlertsByTeam(GlobalSecondaryIndex["AlertModel"]):
    class Meta:
        index_name = "by_team"
        projection = AllProjection()

    team = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AlertsByPublic(GlobalSecondaryIndex["AlertModel"]):
    """Sparse: published and cancelled alerts carry `public_scope` (drafts do not); the feed Queries
    `expires > now` on it, so a cancelled alert keeps its Cancel entry until it would have expired."""

    class Meta:
        index_name = "by_public"
        projection = AllProjection()

    public_scope = UnicodeAttribute(hash_key=True)
    expires = UnicodeAttribute(range_key=True)


class AlertsByPublished(GlobalSecondaryIndex["AlertModel"]):
    """Sparse: alerts that were ever published, by month of first publication (analysts' history)."""

    class Meta:
        index_name = "by_published"
        projection = AllProjection()

    published_month = UnicodeAttribute(hash_key=True)  # YYYY-MM of published_at
    published_key = UnicodeAttribute(range_key=True)  # <published_at>#<id>


class AlertModel(Model):
    """An alert and its live delivery counters (updated by the worker and receipts, never counted)."""

    class Meta(_Meta):
        short_name = "alerts"

    id = UnicodeAttribute(hash_key=True)
    team = UnicodeAttribute()
    author = UnicodeAttribute()
    status = UnicodeAttribute()  # draft|published|cancelled (expired is computed from expires)
    revision = NumberAttribute(default=0)
    msg_type = UnicodeAttribute(default="Alert")
    content = UnicodeAttribute()  # JSON of the CAP content (headline, description, ..., translations)
    area = UnicodeAttribute()  # JSON {"area_id"?, "name", "shape"}
    cells = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]  # of= takes the attribute class
    expires = UnicodeAttribute()  # RFC 3339 UTC
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    approved_by = UnicodeAttribute(null=True)
    messages = UnicodeAttribute(default="[]")  # JSON [[identifier, sent_at, msg_type], ...]
    targeted = NumberAttribute(default=0)
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    read = NumberAttribute(default=0)
    responses = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)
    public_scope = UnicodeAttribute(null=True)
    area_id = UnicodeAttribute(null=True)
    published_month = UnicodeAttribute(null=True)
    published_key = UnicodeAttribute(null=True)
    pending = UnicodeAttribute(null=True)  # JSON of a proposed Update (PendingUpdate), staff only
    pending_id = UnicodeAttribute(null=True)  # its id: approvals and proposals are conditional on it

    by_team = AlertsByTeam()
    by_public = AlertsByPublic()
    by_published = AlertsByPublished()


class AlertCellModel(Model):
    """Published alerts by H3 res-7 cell, for the public point lookup (Query, never Scan)."""

    class Meta(_Meta):
        short_name = "alert-cells"

    cell = UnicodeAttribute(hash_key=True)
    alert_id = UnicodeAttribute(range_key=True)
    expires = UnicodeAttribute()
    expires_at = TTLAttribute()


class DeliveriesBySubscriber(GlobalSecondaryIndex["DeliveryModel"]):
    class Meta:
        index_name = "by_subscriber"
        projection = KeysOnlyProjection()

    subscriber_id = UnicodeAttribute(hash_key=True)
    alert_shard = UnicodeAttribute(range_key=True)


class DeliveriesByRelease(GlobalSecondaryIndex["DeliveryModel"]):
    """Sparse: only pushes held back by quiet hours, bucketed by the hour they may go out."""

    class Meta:
        index_name = "by_release"
        projection = AllProjection()

    release_bucket = UnicodeAttribute(hash_key=True)
    release_key = UnicodeAttribute(range_key=True)


class DeliveryModel(Model):
    """One item per (alert, subscriber): claimed with a conditional write before any send.
    `revision` is the newest message (Alert=0, Update/Cancel=n) claimed for this subscriber.
    The partition key is `<alert_id>#<shard>` (shard = hash of the subscriber, 64 shards), so one
    alert's claims spread over 64 partitions instead of hitting one (1,000 WCU/s each)."""

    class Meta(_Meta):
        short_name = "deliveries"

    alert_shard = UnicodeAttribute(hash_key=True)
    subscriber_id = UnicodeAttribute(range_key=True)
    alert_id = UnicodeAttribute()
    revision = NumberAttribute()
    state = UnicodeAttribute()  # claimed|retry|held|gone|failed
    claimed_at = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    read_at = UnicodeAttribute(null=True)
    release_bucket = UnicodeAttribute(null=True)
    release_key = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

    by_subscriber = DeliveriesBySubscriber()
    by_release = DeliveriesByRelease()
