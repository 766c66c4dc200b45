"""The Neighbourhood Policing Guarantee's records: team pages (and, as they come, priorities and
meetings), one table keyed `pk`/`sk` so a neighbourhood's records are one Query."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class NeighbourhoodModel(Model):
    """`team#<id>` / `profile`: a team's public page (JSON body: name, description, contact
    details, people). Public data only: nothing about residents, no staff ids."""

    class Meta(_Meta):
        short_name = "neighbourhoods"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute()  # JSON of the record
    updated_at = UnicodeAttribute()
