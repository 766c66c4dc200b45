"""Push of a team answer to the resident (the inbox copy is written with the message).

Same exactly-once rule as alert deliveries: the (message, subscriber) delivery record is claimed
with a conditional write before any send (store.deliveries, key `conv:<conversation>:<message>`),
so a redelivered queue message never pushes twice; quiet hours hold the push (state `held`, the
housekeeping run releases it). The push carries no words: "your team answered" and a link.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.clock import to_rfc3339
from chalicelib.domain.alerts import InfoBlock, Notification
from chalicelib.domain.subscribers import SubscriberRecord, quiet_until
from chalicelib.ports import Repositories, SendOutcome

PREFIX = "conv:"
KEEP = timedelta(days=30)
PUSH_LIFETIME = timedelta(days=7)
MAX_ATTEMPTS = 5


def delivery_id(conversation_id: str, message_id: str) -> str:
    return f"{PREFIX}{conversation_id}:{message_id}"


def notification(conversation_id: str, message_id: str, sent_at: str, team: str, now: Any,
                 base_url: str) -> Notification:
    return Notification(
        alert_id=conversation_id, msg_type="Answer",
        info=InfoBlock(language="en-GB", headline="Your neighbourhood team answered", description=""),
        category="Other", severity="Minor", urgency="Expected", certainty="Observed", sent_at=sent_at,
        expires_at=to_rfc3339(now + PUSH_LIFETIME), team=team,
        url=f"{base_url}/app/#conversation={conversation_id}",
        extra={"kind": "conversation", "conversation_id": conversation_id, "message_id": message_id},
    )


def _target(store: Repositories, conversation_id: str, message_id: str) -> tuple[Any, SubscriberRecord] | None:
    """(the message, the resident) when there is a team message to push to a push channel."""
    conv = store.conversations.get(conversation_id)
    message = store.conversations.get_message(conversation_id, message_id) if conv else None
    if conv is None or not conv.owner or message is None or message.sender != "team":
        return None
    sub = store.subscribers.get(conv.owner)
    if sub is None or sub.channel.get("type") == "inbox":
        return None  # erased, or inbox only (the inbox copy is already there)
    return (conv, message), sub


def push_answer(worker: Any, conversation_id: str, message_id: str) -> bool:
    """Claim, then send (or hold for quiet hours). False: a transient failure, retry later."""
    store: Repositories = worker._store
    found = _target(store, conversation_id, message_id)
    if found is None:
        return True
    (conv, message), sub = found
    now = worker._clock()
    now_text = to_rfc3339(now)
    held = quiet_until(sub.preferences.quiet_hours, now)
    key = delivery_id(conversation_id, message_id)
    release = None
    if held is not None:
        held_text = to_rfc3339(held)
        release = (held_text[:13], f"{held_text}#{key}#{sub.id}")
    claim = store.deliveries.claim(key, sub.id, 0, state="held" if held else "claimed", now_text=now_text,
                                 expires_at=now + KEEP, release=release)
    if claim is None or held is not None:
        return True  # already claimed (a redelivery), or held until quiet hours end
    note = notification(conversation_id, message_id, message.sent_at, conv.team, now, worker._base_url)
    return _record(store, key, sub, worker._send(sub, note))


def _record(store: Repositories, key: str, sub: SubscriberRecord, result: SendOutcome) -> bool:
    if result is SendOutcome.SENT:
        return True
    if result is SendOutcome.GONE:
        store.deliveries.mark(key, sub.id, 0, "gone")
        store.subscribers.downgrade_to_inbox(sub.id, str(sub.channel.get("type")))
        return True
    if result is SendOutcome.FAILED:
        store.deliveries.mark(key, sub.id, 0, "failed")
        return True
    return not store.deliveries.mark_retry(key, sub.id, 0, MAX_ATTEMPTS)  # False: retry later


def release_answer(worker: Any, held: Any) -> int:
    """A push held by quiet hours whose time has come: exactly one releaser sends it."""
    conversation_id, _, message_id = held.alert_id[len(PREFIX):].partition(":")
    store: Repositories = worker._store
    if not store.deliveries.release(held.alert_id, held.subscriber_id, held.revision):
        return 0
    found = _target(store, conversation_id, message_id)
    if found is None:
        return 0
    (conv, message), sub = found
    note = notification(conversation_id, message_id, message.sent_at, conv.team, worker._clock(), worker._base_url)
    _record(store, held.alert_id, sub, worker._send(sub, note))
    return 1
