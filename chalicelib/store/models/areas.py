"""Named areas."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class AreaModel(Model):
    """Named areas. All in one partition (`scope`), so listing is a Query, never a Scan; a force
    has hundreds of areas, far below one partition's limits."""

    class Meta(_Meta):
        short_name = "areas"

    scope = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    team = UnicodeAttribute()
    geometry = UnicodeAttribute()  # GeoJSON text
    updated_at = UnicodeAttribute()
