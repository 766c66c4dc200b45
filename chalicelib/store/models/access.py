"""The access log (append-only; streamed to the S3 Object Lock archive)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.constants import STREAM_NEW_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class AccessByActor(GlobalSecondaryIndex["AccessLogModel"]):
    class Meta:
        index_name = "by_actor"
        projection = AllProjection()

    actor = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)


class AccessLogModel(Model):
    """Append-only: written with a condition that it is new; no code path updates or deletes it."""

    class Meta(_Meta):
        short_name = "access-log"
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
