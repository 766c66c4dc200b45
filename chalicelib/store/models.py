"""PynamoDB models: the one source of truth for table schemas (local tables and CloudFormation).

Table names come from settings (`<prefix><name>`); no `Meta.host`, so the endpoint comes from the
standard `AWS_ENDPOINT_URL_DYNAMODB` locally and from the region in Lambda.
"""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.constants import STREAM_NEW_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.settings import SETTINGS


class _Meta:
    region = SETTINGS.region
    billing_mode = "PAY_PER_REQUEST"
    # Throttles are retried with backoff by botocore before we answer 503.
    max_retry_attempts = 3
    connect_timeout_seconds = SETTINGS.dynamodb_connect_timeout_seconds
    read_timeout_seconds = SETTINGS.dynamodb_read_timeout_seconds


class ContactsByAuthor(GlobalSecondaryIndex["ContactModel"]):
    class Meta:
        index_name = "by_author"
        projection = AllProjection()

    author = UnicodeAttribute(hash_key=True)
    occurred_at = UnicodeAttribute(range_key=True)


class ContactsByTeam(GlobalSecondaryIndex["ContactModel"]):
    class Meta:
        index_name = "by_team"
        projection = AllProjection()

    team = UnicodeAttribute(hash_key=True)
    occurred_at = UnicodeAttribute(range_key=True)


def _history_index(name: str) -> GlobalSecondaryIndex:
    """A sparse, month-sharded history GSI (see domain.history): projects only the
    pseudonymisable row (`hrow`), never notes, handles or thread refs."""
    attrs = {
        "Meta": type("Meta", (), {"index_name": name, "projection": IncludeProjection(["hrow"])}),
        name: UnicodeAttribute(hash_key=True),
        "hsk": UnicodeAttribute(range_key=True),
    }
    return type(f"History_{name}", (GlobalSecondaryIndex,), attrs)()


class ContactModel(Model):
    class Meta(_Meta):
        table_name = SETTINGS.table_name("contacts")

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    occurred_at = UnicodeAttribute()
    topic = UnicodeAttribute()
    outcome = UnicodeAttribute()
    tags = ListAttribute(of=UnicodeAttribute, default=list)
    notes = UnicodeAttribute(null=True)
    author = UnicodeAttribute()
    team = UnicodeAttribute()
    version = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    content_digest = UnicodeAttribute()
    lat = NumberAttribute(null=True)
    lon = NumberAttribute(null=True)
    cell = UnicodeAttribute(null=True)
    setting = UnicodeAttribute(null=True)
    platform = UnicodeAttribute(null=True)
    direction = UnicodeAttribute(null=True)
    thread_ref = UnicodeAttribute(null=True)
    handle_pseudonym = UnicodeAttribute(null=True)
    area_id = UnicodeAttribute(null=True)
    author_role = UnicodeAttribute(null=True)  # officer|supervisor: the engagement counters' role
    expires_at = TTLAttribute()

    by_author = ContactsByAuthor()
    by_team = ContactsByTeam()

    # History (analysts): sparse month-sharded GSIs, see chalicelib/domain/history.py.
    hsk = UnicodeAttribute(null=True)
    hrow = UnicodeAttribute(null=True)
    hb_all = UnicodeAttribute(null=True)
    hb_t = UnicodeAttribute(null=True)
    hb_p = UnicodeAttribute(null=True)
    hb_tp = UnicodeAttribute(null=True)
    hk_all = UnicodeAttribute(null=True)
    hk_t = UnicodeAttribute(null=True)
    hk_p = UnicodeAttribute(null=True)
    hk_tp = UnicodeAttribute(null=True)
    hx_all = UnicodeAttribute(null=True)
    hx_t = UnicodeAttribute(null=True)
    hx_p = UnicodeAttribute(null=True)
    hx_tp = UnicodeAttribute(null=True)
    by_hb_all = _history_index("hb_all")
    by_hb_t = _history_index("hb_t")
    by_hb_p = _history_index("hb_p")
    by_hb_tp = _history_index("hb_tp")
    by_hk_all = _history_index("hk_all")
    by_hk_t = _history_index("hk_t")
    by_hk_p = _history_index("hk_p")
    by_hk_tp = _history_index("hk_tp")
    by_hx_all = _history_index("hx_all")
    by_hx_t = _history_index("hx_t")
    by_hx_p = _history_index("hx_p")
    by_hx_tp = _history_index("hx_tp")


class AmendmentModel(Model):
    """One item per amendment: who, when, what changed (old -> new)."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("amendments")

    contact_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(range_key=True)
    at = UnicodeAttribute()
    by = UnicodeAttribute()
    by_role = UnicodeAttribute()
    changes = UnicodeAttribute()  # JSON list of {field, old, new}
    expires_at = TTLAttribute()


class StatCounterModel(Model):
    """(scope|dimension, day|value) -> number of contacts. See domain.stats_keys.

    The same table holds the engagement items (counters `<scope>|engagement|<grain>` and member
    items `team:<id>|engmember|<grain>`, see domain.engagement): their attributes are dynamic (not
    declared here) and they carry `expires_at`, because member items hold staff pseudonyms (the
    counters expire with them); plain counters never expire."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("stats")

    key = UnicodeAttribute(hash_key=True)
    bucket = UnicodeAttribute(range_key=True)
    contacts = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class AccessByActor(GlobalSecondaryIndex["AccessLogModel"]):
    class Meta:
        index_name = "by_actor"
        projection = AllProjection()

    actor = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)


class AccessLogModel(Model):
    """Append-only: written with a condition that it is new; no code path updates or deletes it."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("access-log")
        # Every new entry goes to the S3 archive (Object Lock) through the table's stream.
        stream_view_type = STREAM_NEW_IMAGE

    day = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)  # <RFC 3339 time>#<uuid>
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    record_id = UnicodeAttribute(null=True)
    # JSON of the filters for list/history calls. Stored as `query`; named `filters` in Python
    # because an attribute called `query` would shadow Model.query().
    filters = UnicodeAttribute(null=True, attr_name="query")
    row_count = NumberAttribute(null=True)
    purpose = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute()
    # TTL: at + BEATLINE_ACCESS_LOG_RETENTION_DAYS. The S3 archive keeps its copy for its own period.
    expires_at = TTLAttribute(null=True)

    by_actor = AccessByActor()


ALL_MODELS: list[type[Model]] = [ContactModel, AmendmentModel, StatCounterModel, AccessLogModel]


class AreaModel(Model):
    """Named areas. All in one partition (`scope`), so listing is a Query, never a Scan; a force
    has hundreds of areas, far below one partition's limits."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("areas")

    scope = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    team = UnicodeAttribute()
    geometry = UnicodeAttribute()  # GeoJSON text
    updated_at = UnicodeAttribute()


ALL_MODELS.append(AreaModel)


# --- Residents' alerts -------------------------------------------------------------------------


class SubscriberModel(Model):
    """A registered device: its channel (minimal: token or PushSubscription), preferences and the
    shapes it subscribed to. Expires (TTL) with its resident token; see docs/alerts.md."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("subscribers")

    id = UnicodeAttribute(hash_key=True)
    channel = UnicodeAttribute()  # JSON: {"type": "sns", "platform", "token"|"endpoint_arn"} | webpush | inbox
    language = UnicodeAttribute(null=True)
    categories = ListAttribute(of=UnicodeAttribute, null=True)
    min_severity = UnicodeAttribute(null=True)
    quiet_hours = UnicodeAttribute(null=True)  # JSON {"start", "end", "tz"}
    areas = UnicodeAttribute(null=True)  # JSON list of the shapes as given (area refs resolved)
    cells = ListAttribute(of=UnicodeAttribute, null=True)  # the subscription index entries it owns
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    expires_at = TTLAttribute()
    secret = UnicodeAttribute(null=True)  # base64 random key of this resident's pseudonyms
    erasing = UnicodeAttribute(null=True)  # set when erasure starts: no new words are stored


class SubscriptionModel(Model):
    """The cell index: (H3 res-7 cell, subscriber) -> the subscriber's shapes, for Query-only fan-out."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("subscriptions")

    cell = UnicodeAttribute(hash_key=True)
    subscriber_id = UnicodeAttribute(range_key=True)
    shapes = UnicodeAttribute()  # JSON list of shapes (exact check in the worker)
    cells = ListAttribute(of=UnicodeAttribute, null=True)  # all the subscriber's cells: the worker
    # handles a subscriber only in the first of them the alert covers (no duplicate claims)
    expires_at = TTLAttribute()


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
        table_name = SETTINGS.table_name("alerts")

    id = UnicodeAttribute(hash_key=True)
    team = UnicodeAttribute()
    author = UnicodeAttribute()
    status = UnicodeAttribute()  # draft|published|cancelled (expired is computed from expires)
    revision = NumberAttribute(default=0)
    msg_type = UnicodeAttribute(default="Alert")
    content = UnicodeAttribute()  # JSON of the CAP content (headline, description, ..., translations)
    area = UnicodeAttribute()  # JSON {"area_id"?, "name", "shape"}
    cells = ListAttribute(of=UnicodeAttribute, default=list)
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
        table_name = SETTINGS.table_name("alert-cells")

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
        table_name = SETTINGS.table_name("deliveries")

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


class InboxModel(Model):
    """Alerts delivered to a subscriber, newest first (sort key starts with the sent time)."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("inbox")

    subscriber_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)  # <sent_at>#<alert_id>#<revision:04d>
    item = UnicodeAttribute()  # JSON of the notification in the subscriber's language
    expires_at = TTLAttribute()


class RateCounterModel(Model):
    """Fixed-window request counters (e.g. registrations per client address per minute)."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("rate-counters")

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class WordModel(Model):
    """Where a resident's own words are kept: one item per record holding them (a reply
    contact now; conversation messages later). `owner` is the resident's `res_` pseudonym, so the
    index names nobody once the subscriber's secret is erased. Erasure Queries `owner` and
    redacts each `ref` (`<table>#<id>`); TTL = the holding record's own expiry."""

    class Meta(_Meta):
        table_name = SETTINGS.table_name("words")

    owner = UnicodeAttribute(hash_key=True)
    ref = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute()


ALL_MODELS.extend([
    SubscriberModel, SubscriptionModel, AlertModel, AlertCellModel, DeliveryModel, InboxModel,
    RateCounterModel, WordModel,
])
