"""Staff devices: Web Push subscriptions of officers and supervisors (docs/team-app.md)."""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class StaffDevicesByTeam(GlobalSecondaryIndex["StaffDeviceModel"]):
    """A team's devices (the staff pushes' audience): one Query per push."""

    class Meta:
        index_name = "by_team"
        projection = AllProjection()

    team = UnicodeAttribute(hash_key=True)
    device_key = UnicodeAttribute(range_key=True)  # <staff>#<device id>


class StaffDeviceModel(Model):
    """One device of one member of staff; expires (TTL) unless registered again, erased on DELETE
    and when the push service answers 404/410."""

    class Meta(_Meta):
        short_name = "staff-devices"

    staff = UnicodeAttribute(hash_key=True)  # the token's sub
    device_id = UnicodeAttribute(range_key=True)  # client UUID
    team = UnicodeAttribute()
    device_key = UnicodeAttribute()
    roles = UnicodeAttribute()  # comma list of the staff roles held at registration
    subscription = UnicodeAttribute()  # JSON {"endpoint", "keys": {"p256dh", "auth"}}
    updated_at = UnicodeAttribute()
    expires_at = TTLAttribute()

    by_team = StaffDevicesByTeam()
