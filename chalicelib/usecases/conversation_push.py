"""Push of a team answer to the resident (the inbox copy is written with the message).

Its own message on the push queue (`ports.AnswerPush`) and its own notification kind
(`AnswerNotification`: "your team answered", the conversation's context and a link; never the
words), sent through the one `PushSender`. Same exactly-once rule as alert deliveries: the
(message, subscriber) delivery record is claimed with a conditional write before any send
(store.deliveries, key `conv:<conversation>:<message>`), so a redelivered queue message never
pushes twice; quiet hours hold the push (state `held`, the housekeeping run releases it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.clock import to_rfc3339
from chalicelib.domain.conversations import ANSWERED, AnswerNotification, Conversation, answer_context, ui_language
from chalicelib.domain.subscribers import SubscriberRecord
from chalicelib.ports import Held, Repositories, SendOutcome
from chalicelib.usecases.push import PushSender, claim_or_hold, record_outcome

PREFIX = "conv:"
KEEP = timedelta(days=30)
PUSH_LIFETIME = timedelta(days=7)
MAX_ATTEMPTS = 5


def delivery_id(conversation_id: str, message_id: str) -> str:
    return f"{PREFIX}{conversation_id}:{message_id}"


def is_answer_delivery(delivery_key: str) -> bool:
    return delivery_key.startswith(PREFIX)


def notification(conv: Conversation, message_id: str, sent_at: str, language: str | None, now: datetime,
                 base_url: str) -> AnswerNotification:
    lang = ui_language(language)
    return AnswerNotification(
        conversation_id=conv.id, message_id=message_id, language="cy" if lang == "cy" else "en-GB",
        title=ANSWERED[lang], context=answer_context(conv.topic, conv.area_name, conv.alert_headlines, language),
        sent_at=sent_at, expires_at=to_rfc3339(now + PUSH_LIFETIME),
        url=f"{base_url}/app/#conversation={conv.id}",
    )


class AnswerPusher:
    """Pushes team answers: claim, then send (or hold for quiet hours), record the outcome."""

    def __init__(self, *, sender: PushSender, store: Repositories) -> None:
        self._sender = sender
        self._store = store

    def _target(self, conversation_id: str, message_id: str) -> tuple[Conversation, str, SubscriberRecord] | None:
        """(conversation, message sent_at, resident) when a team message goes to a push channel."""
        conv = self._store.conversations.get(conversation_id)
        message = self._store.conversations.get_message(conversation_id, message_id) if conv else None
        if conv is None or not conv.owner or message is None or message.sender != "team":
            return None
        sub = self._store.subscribers.get(conv.owner)
        if sub is None or not sub.reached_beyond_inbox():
            return None  # erased, or inbox only (the inbox copy is already there)
        return conv, message.sent_at, sub

    def push(self, conversation_id: str, message_id: str) -> bool:
        """False: a transient failure, retry later (the queue redelivers)."""
        found = self._target(conversation_id, message_id)
        if found is None:
            return True
        conv, sent_at, sub = found
        now = self._sender.now()
        key = delivery_id(conversation_id, message_id)
        if not claim_or_hold(self._store, key, sub, now, KEEP):
            return True  # already claimed (a redelivery), or held until quiet hours end
        note = notification(conv, message_id, sent_at, sub.preferences.language, now, self._sender.base_url)
        return self._record(key, sub, self._sender.send(sub, note))

    def release(self, held: Held) -> int:
        """A push held by quiet hours whose time has come: exactly one releaser sends it."""
        conversation_id, _, message_id = held.alert_id[len(PREFIX):].partition(":")
        if not self._store.deliveries.release(held.alert_id, held.subscriber_id, held.revision):
            return 0
        found = self._target(conversation_id, message_id)
        if found is None:
            return 0
        conv, sent_at, sub = found
        note = notification(conv, message_id, sent_at, sub.preferences.language, self._sender.now(),
                            self._sender.base_url)
        self._record(held.alert_id, sub, self._sender.send(sub, note))
        return 1

    def _record(self, key: str, sub: SubscriberRecord, result: SendOutcome) -> bool:
        return record_outcome(self._store, key, sub, result, MAX_ATTEMPTS)  # False: retry later
