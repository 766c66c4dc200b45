"""The worker's side of staff pushes: the team's registered devices get a push without words.

At most once per device and message (a redelivered queue message may push again: staff pushes
are nudges, not records); a device the push service no longer knows (404/410: `gone`) is erased.
"""

from __future__ import annotations

import logging

from chalicelib.domain.staff_devices import KINDS, notification
from chalicelib.ports import Repositories, SendOutcome, StaffPush
from chalicelib.usecases.push import PushSender

LOG = logging.getLogger("beatline.staff")


def push_staff(sender: PushSender, store: Repositories, message: StaffPush) -> bool:
    if message.kind not in KINDS:
        return True
    channel = sender.channels().get("webpush")
    if channel is None:
        return True
    note = notification(message.kind, message.team, message.record_id, max(1, message.count), sender.now(),
                        sender.base_url)
    for device in store.staff.team_devices(message.team):
        if device.staff == message.exclude or (message.roles and not set(message.roles) & set(device.roles)):
            continue
        try:
            outcome = channel.send({"type": "webpush", "subscription": device.subscription}, note)
        except Exception:  # one device never stops the others
            LOG.exception("staff push to a device failed")
            continue
        if outcome is SendOutcome.GONE:
            store.staff.delete_device(device.staff, device.device_id)
    return True
