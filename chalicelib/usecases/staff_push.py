"""The worker's side of staff pushes: the team's registered devices get a push without words.

Exactly once per (kind, record, occurrence, device), as residents' single pushes: each device's
delivery record (store.deliveries, key `staff:<kind>:<record id>:<occurrence>`, the device as a
digest of staff id and device id) is claimed with a conditional write before any send, so a
redelivered queue message pushes no device twice; a transient failure is recorded `retry` and only
that device is claimed again when the queue redelivers (at most MAX_ATTEMPTS claims). The claims
expire (TTL) after KEEP. A device the push service no longer knows (404/410: `gone`) is erased.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from chalicelib.domain.alerts import Notification
from chalicelib.domain.staff_devices import KINDS, StaffDevice, notification
from chalicelib.ports import Channel, Repositories, SendOutcome, StaffPush
from chalicelib.usecases.push import PushSender, claim_once, settle

LOG = logging.getLogger("beatline.staff")

PREFIX = "staff:"
# Longer than the queue keeps a message (4 days) and its dead-letter queue (14 days): a message
# redriven from the dead letters pushes no device again.
KEEP = timedelta(days=15)
MAX_ATTEMPTS = 5


def delivery_id(message: StaffPush) -> str:
    """The claim key of one staff push: what happened, to which record, which occurrence of it
    (a new wait on the same conversation, a new proposal on the same alert push again)."""
    return f"{PREFIX}{message.kind}:{message.record_id}:{message.occurrence}"


def device_target(device: StaffDevice) -> str:
    """A device on a delivery record: a digest, so the deliveries table keeps no staff id."""
    return "staffdev:" + hashlib.sha256(f"{device.staff}#{device.device_id}".encode()).hexdigest()[:32]


def _recipients(store: Repositories, message: StaffPush) -> list[StaffDevice]:
    return [d for d in store.staff.team_devices(message.team)
            if d.staff != message.exclude and (not message.roles or set(message.roles) & set(d.roles))]


def push_staff(sender: PushSender, store: Repositories, message: StaffPush) -> bool:
    """False: some device's send failed transiently; the queue redelivers and only those are retried."""
    if message.kind not in KINDS:
        return True
    channel = sender.channels().get("webpush")
    if channel is None:
        return True
    now = sender.now()
    note = notification(message.kind, message.team, message.record_id, max(1, message.count), now, sender.base_url)
    key = delivery_id(message)
    done = True
    for device in _recipients(store, message):
        done = _push_once(store, channel, key, device, note, now) and done
    return done


def _push_once(store: Repositories, channel: Channel, key: str, device: StaffDevice, note: Notification,
               now: datetime) -> bool:
    target = device_target(device)
    if not claim_once(store, key, target, now, KEEP):
        return True  # pushed already (a redelivered message)
    try:
        outcome = channel.send({"type": "webpush", "subscription": device.subscription}, note)
    except Exception:  # one device never stops the others; retried on redelivery
        LOG.exception("staff push to a device failed")
        outcome = SendOutcome.RETRY
    return settle(store, key, target, outcome, MAX_ATTEMPTS,
                  on_gone=lambda: store.staff.delete_device(device.staff, device.device_id))
