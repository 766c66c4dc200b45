"""The one push sender every push path shares (alert fan-out, conversation answers, notices): the channels,
the clock and the public base URL, built once in the bootstrap (`Services.push_sender`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib.clock import Clock, to_rfc3339
from chalicelib.domain.alerts import Notification
from chalicelib.domain.conversations import AnswerNotification
from chalicelib.domain.notices import NoticeNotification
from chalicelib.domain.subscribers import SubscriberRecord, quiet_until
from chalicelib.ports import Channel, Repositories, SendOutcome

LOG = logging.getLogger("beatline.push")


class PushSender:
    """Sends one notification to one subscriber's channel; never raises for a delivery failure."""

    def __init__(self, *, channels: Mapping[str, Channel] | Callable[[], Mapping[str, Channel]], clock: Clock,
                 base_url: str) -> None:
        self._channels = channels  # a mapping, or a function building it on first use (the worker only)
        self.clock = clock
        self.base_url = base_url

    def now(self) -> datetime:
        return self.clock()

    def channels(self) -> Mapping[str, Channel]:
        return self._channels() if callable(self._channels) else self._channels

    def send(self, sub: SubscriberRecord, notification: Notification | AnswerNotification | NoticeNotification,
             ) -> SendOutcome:
        """The main channel (unless it is the inbox), then each confirmed contact channel (email,
        sms). The outcome is the main channel's; with the inbox as main channel, the contacts'
        (`_contacts_outcome`). Contacts are sent only once the main channel's outcome is settled
        (not RETRY), so a retried delivery does not send them twice."""
        main = None
        if sub.channel.get("type") != "inbox":
            main = self._send_one(str(sub.channel.get("type", "")), sub.channel, notification)
            if main is SendOutcome.RETRY:
                return main
        contacts = [self._send_one(c.type, c.target(sub.id), notification) for c in sub.sendable_contacts()]
        return main if main is not None else _contacts_outcome(contacts)

    def _send_one(self, kind: str, target: dict[str, Any],
                  notification: Notification | AnswerNotification | NoticeNotification) -> SendOutcome:
        channel = self.channels().get(kind)
        if channel is None:
            LOG.warning("no channel for %s", kind)
            return SendOutcome.RETRY
        try:
            return channel.send(target, notification)
        except Exception:
            LOG.exception("channel %s raised", kind)
            return SendOutcome.RETRY


def _contacts_outcome(outcomes: list[SendOutcome]) -> SendOutcome:
    """One contact reached is a delivery (a retry would send it twice); a gone contact channel
    never downgrades the subscriber (its own suppression handles it): FAILED."""
    if SendOutcome.SENT in outcomes:
        return SendOutcome.SENT
    if SendOutcome.RETRY in outcomes:
        return SendOutcome.RETRY
    return SendOutcome.FAILED


def record_outcome(store: Repositories, key: str, sub: SubscriberRecord, result: SendOutcome,
                   max_attempts: int) -> bool:
    """What one claimed single push's send did, on its delivery record (answers and notices):
    a gone endpoint also moves the resident to the inbox only. False: retry later (the queue
    redelivers) while attempts remain."""
    return settle(store, key, sub.id, result, max_attempts,
                  on_gone=lambda: store.subscribers.downgrade_to_inbox(sub.id, str(sub.channel.get("type"))))


def settle(store: Repositories, key: str, target: str, result: SendOutcome, max_attempts: int, *,
           on_gone: Callable[[], None]) -> bool:
    """Record a claimed push's outcome on its delivery record (`key`, `target`), for residents'
    and staff pushes alike: `gone` and `failed` are final, a transient failure is `retry` while
    attempts remain (False: the queue redelivers, and only this target is claimed again)."""
    if result is SendOutcome.SENT:
        return True
    if result is SendOutcome.GONE:
        store.deliveries.mark(key, target, 0, "gone")
        on_gone()
        return True
    if result is SendOutcome.FAILED:
        store.deliveries.mark(key, target, 0, "failed")
        return True
    return not store.deliveries.mark_retry(key, target, 0, max_attempts)


def claim_once(store: Repositories, key: str, target: str, now: datetime, keep: timedelta) -> bool:
    """Claim one push (`key`, `target`) before its send, with no quiet hours (staff pushes): True
    when it is to be sent now, False when it was claimed already (a redelivery). The claim
    expires (TTL) after `keep`."""
    claim = store.deliveries.claim(key, target, 0, state="claimed", now_text=to_rfc3339(now), expires_at=now + keep)
    return claim is not None


def claim_or_hold(store: Repositories, key: str, sub: SubscriberRecord, now: datetime, keep: timedelta) -> bool:
    """Claim one single push (answers and notices) before any send: True when it is to be sent
    now; False when it was claimed already (a redelivery) or is held until quiet hours end
    (housekeeping releases it by its release key)."""
    held = quiet_until(sub.preferences.quiet_hours, now)
    release = None
    if held is not None:
        held_text = to_rfc3339(held)
        release = (held_text[:13], f"{held_text}#{key}#{sub.id}")
    claim = store.deliveries.claim(key, sub.id, 0, state="held" if held else "claimed",
                                   now_text=to_rfc3339(now), expires_at=now + keep, release=release)
    return claim is not None and held is None
