"""The Neighbourhood Policing Guarantee's records, one table keyed `pk`/`sk` (docs/guarantee.md):

- `team#<id>` / `profile`: a team's public page (name, description, contact details, people);
- `priority#<id>` / `priority`: a neighbourhood priority (`tally`: supporters), with its
  `support#<subscriber>`, `action#<id>` and `link#<conversation>` items under the same key;
- `event#<id>` / `event`: a beat meeting (`tally`: residents who said they will come), with its
  `attend#<subscriber>` items.

Residents appear only in support and attendance items (`subscriber_id`, sparse index
`by_subscriber`, so erasure finds them with one Query); everything else is public.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class NeighbourhoodByArea(GlobalSecondaryIndex["NeighbourhoodModel"]):
    """A neighbourhood's priorities and meetings: `area_sort` = priority#<proposed at>#<id> or
    event#<start>#<id>, so one Query with begins_with lists either, in time order."""

    class Meta:
        index_name = "by_area"
        projection = AllProjection()

    area = UnicodeAttribute(hash_key=True)
    area_sort = UnicodeAttribute(range_key=True)


class NeighbourhoodBySubscriber(GlobalSecondaryIndex["NeighbourhoodModel"]):
    """Sparse: a resident's supports and attendances, for erasure."""

    class Meta:
        index_name = "by_subscriber"
        projection = KeysOnlyProjection()

    subscriber_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class NeighbourhoodByDay(GlobalSecondaryIndex["NeighbourhoodModel"]):
    """Sparse: meetings by the UTC day before they start (`remind_day`), until their reminder is
    sent; the clock reads only what it has to remind."""

    class Meta:
        index_name = "by_remind_day"
        projection = AllProjection()

    remind_day = UnicodeAttribute(hash_key=True)
    area_sort = UnicodeAttribute(range_key=True)


class NeighbourhoodModel(Model):
    class Meta(_Meta):
        short_name = "neighbourhoods"
        # The residents' rating counts are derived from this stream (store/rating_stream.py).
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute(null=True)  # JSON of the record (public records only)
    updated_at = UnicodeAttribute(null=True)
    area = UnicodeAttribute(null=True)
    area_sort = UnicodeAttribute(null=True)
    tally = NumberAttribute(null=True)  # not `count`: that would shadow Model.count()
    subscriber_id = UnicodeAttribute(null=True)
    remind_day = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)  # a pulse's delivery: queued | sending | sent (absent: sent)
    expires_at = TTLAttribute(null=True)
    by_area = NeighbourhoodByArea()
    by_subscriber = NeighbourhoodBySubscriber()
    by_remind_day = NeighbourhoodByDay()
