"""The residents' rating counts derived from the neighbourhoods table's stream (domain/stream_counts.py
`plan_rating_parts`, `domain.trust.rating_counts`): decoding Lambda's stream records into rating
changes; each part of a batch is written exactly once by the stream's `Ledger`
(store/stream_ledger.py: markers `stream|ratings|mark|<h>`, `as_of` at `stream|ratings`; the
counts' buckets carry their own shard). The table holds many kinds of items: only rating items
(`rating#<conversation>` / `<target>`) decode to an image, every other item's record to none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.stream_counts import RatingChange
from chalicelib.domain.trust import Rating
from chalicelib.store import trust as trust_store
from chalicelib.store.models import NeighbourhoodModel
from chalicelib.store.stream_ledger import Ledger, decoded

LEDGER = Ledger("ratings", shard_buckets=False)
apply_part = LEDGER.apply_part
advance_as_of = LEDGER.advance_as_of
as_of = LEDGER.as_of
applied = LEDGER.applied


def _image(raw: dict[str, Any]) -> Rating | None:
    if not str(raw.get("pk", {}).get("S", "")).startswith(trust_store.RATING_PREFIX):
        return None
    return trust_store.rating_of(NeighbourhoodModel.from_raw_data(raw))


def decode(record: Mapping[str, Any]) -> RatingChange:
    """One Lambda DynamoDB stream record of the neighbourhoods table -> RatingChange (no images
    unless the item is a rating). BadRecord if unreadable."""
    return decoded(record, _image)
