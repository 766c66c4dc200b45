"""Staff devices and staff pushes (the team's app): wire schemas, the record, the notifications.

A staff push never carries a resident's words: only what happened (`kind`), the record's id, how
many, and a link into /team/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from msgspec import Struct

from chalicelib.clock import to_rfc3339
from chalicelib.domain.alerts import InfoBlock, Notification
from chalicelib.domain.subscribers import PushSubscription

MAX_DEVICES = 10  # devices one member of staff may register (a push goes to each)
PUSH_LIFETIME = timedelta(hours=12)

# kind -> (headline, /team/ fragment); roles: who of the team is told (None: every member)
KINDS: dict[str, tuple[str, str]] = {
    "conversation_waiting": ("A resident is waiting for your team", "queue"),
    "wait_nearing_standard": ("A resident's wait is nearing the response standard", "queue"),
    "alert_awaiting_approval": ("An alert is waiting for your approval", "approvals"),
}


StaffDeviceIn = PushSubscription  # the browser's PushSubscription JSON, as residents send it


class StaffDeviceOut(Struct):
    id: str
    expires_at: str


@dataclass(frozen=True)
class StaffDevice:
    staff: str
    device_id: str
    team: str
    roles: tuple[str, ...]
    subscription: dict[str, object]
    updated_at: str
    expires_at: datetime


def notification(kind: str, team: str, record_id: str, count: int, now: datetime, base_url: str) -> Notification:
    headline, fragment = KINDS[kind]
    return Notification(
        alert_id=record_id, msg_type="Staff", info=InfoBlock(language="en-GB", headline=headline, description=""),
        category="Other", severity="Minor", urgency="Expected", certainty="Observed", sent_at=to_rfc3339(now),
        expires_at=to_rfc3339(now + PUSH_LIFETIME), team=team, url=f"{base_url}/team/#{fragment}",
        # `staff_kind`: the Web Push payload's own `kind` ("alert") wins over an extra of that name
        # (notify/payloads.py), so the staff kind travels under a name of its own.
        extra={"kind": kind, "staff_kind": kind, "id": record_id, "count": str(count)},
    )
