"""Push of notices to residents: "you said, we did" (an action on a priority), the beat meeting
reminder and the confidence pulse (the inbox copies are written first by usecases/priorities.py,
meetings.py and trust.py).

Its own queue message (`ports.NoticePush`: kind, ref, up to 50 subscribers) and notification kind
(`NoticeNotification`: a title in the resident's language, the public text, a link to the app),
sent through the one `PushSender`. Same exactly-once rule as answers: the (notice, subscriber)
delivery record is claimed with a conditional write before any send (store.deliveries, key
`note:<kind>:<ref>`), so a redelivered queue message never pushes twice; quiet hours hold the push
(state `held`, the housekeeping run releases it); inbox-only and erased residents are skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.clock import to_rfc3339
from chalicelib.domain.conversations import ui_language
from chalicelib.domain.notices import (
    MEETING_REMINDER,
    PRIORITY_ACTION,
    PULSE,
    PULSE_QUESTION,
    NoticeNotification,
    meeting_line,
    title_for,
)
from chalicelib.domain.subscribers import SubscriberRecord
from chalicelib.ports import Held, NoticePush, Repositories, SendOutcome
from chalicelib.usecases.push import PushSender, claim_or_hold, record_outcome

PREFIX = "note:"
KEEP = timedelta(days=30)
PUSH_LIFETIME = timedelta(days=2)
MAX_ATTEMPTS = 5


def delivery_id(kind: str, ref: str) -> str:
    return f"{PREFIX}{kind}:{ref}"


def is_notice_delivery(delivery_key: str) -> bool:
    return delivery_key.startswith(PREFIX)


class NoticePusher:
    """Pushes notices: per subscriber claim, then send (or hold for quiet hours), record the outcome."""

    def __init__(self, *, sender: PushSender, store: Repositories) -> None:
        self._sender = sender
        self._store = store

    def _body(self, kind: str, ref: str) -> str | None:
        """The public text of the notice (None: its priority or meeting is gone, nothing to push)."""
        if kind == PRIORITY_ACTION:
            found = self._store.priorities.get(ref.partition(":")[0])
            return found[0].issue if found else None
        if kind == MEETING_REMINDER:
            meeting = self._store.meetings.get(ref)
            return meeting_line(meeting[0].title, meeting[0].start) if meeting else None
        if kind == PULSE:
            return PULSE_QUESTION["en"] if self._store.trust.get_pulse(ref) else None
        return None

    def _notification(self, kind: str, ref: str, body: str, sub: SubscriberRecord, now: datetime) -> NoticeNotification:
        lang = ui_language(sub.preferences.language)
        if kind == PULSE:
            body = PULSE_QUESTION[lang]
        return NoticeNotification(
            kind=kind, ref=ref, language="cy" if lang == "cy" else "en-GB", title=title_for(kind, lang), body=body,
            sent_at=to_rfc3339(now), expires_at=to_rfc3339(now + PUSH_LIFETIME), url=f"{self._sender.base_url}/app/")

    def _recipient(self, subscriber_id: str) -> SubscriberRecord | None:
        sub = self._store.subscribers.get(subscriber_id)
        if sub is None or not sub.reached_beyond_inbox():
            return None  # erased, or inbox only (the inbox copy is already there)
        return sub

    def push(self, message: NoticePush) -> bool:
        """False: some send failed transiently; the queue redelivers and only those are retried."""
        body = self._body(message.kind, message.ref)
        if body is None:
            return True
        done = True
        for subscriber_id in message.subscribers:
            sub = self._recipient(subscriber_id)
            if sub is not None:
                done = self._push_one(message.kind, message.ref, body, sub) and done
        return done

    def _push_one(self, kind: str, ref: str, body: str, sub: SubscriberRecord) -> bool:
        now = self._sender.now()
        key = delivery_id(kind, ref)
        if not claim_or_hold(self._store, key, sub, now, KEEP):
            return True  # already claimed (a redelivery), or held until quiet hours end
        return self._record(key, sub, self._sender.send(sub, self._notification(kind, ref, body, sub, now)))

    def release(self, held: Held) -> int:
        """A notice held by quiet hours whose time has come: exactly one releaser sends it."""
        kind, _, ref = held.alert_id[len(PREFIX):].partition(":")
        if not self._store.deliveries.release(held.alert_id, held.subscriber_id, held.revision):
            return 0
        body = self._body(kind, ref)
        sub = self._recipient(held.subscriber_id)
        if body is None or sub is None:
            return 0
        self._record(held.alert_id, sub, self._sender.send(sub, self._notification(kind, ref, body, sub,
                                                                                  self._sender.now())))
        return 1

    def _record(self, key: str, sub: SubscriberRecord, result: SendOutcome) -> bool:
        return record_outcome(self._store, key, sub, result, MAX_ATTEMPTS)  # False: retry later
