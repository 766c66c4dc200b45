"""The team's queue beyond the conversations' own writes: previews, claims, erased residents.

- Previews: the conversation item names its latest message (`last_message_id`, written with the
  message); one BatchGetItem reads those messages' texts for a whole page (no words on the
  conversation item, so erasure has nothing more to remove). Conversations written before
  `last_message_id` existed fall back to one Query (latest by `seq`) each.
- Claims: ONE conditional write (with its access-log entry, in one transaction): the claim lands
  only if the conversation is the caller's team's, still waiting, its resident not erased, and no
  other officer holds a claim that has not lapsed. No read decides it, so two officers claiming at
  once cannot both win. An answer or a close removes the claim (store/conversations.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.domain import conversations as rules
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.conversations import Conversation
from chalicelib.store import access_log, transact
from chalicelib.store.errors import translate_store_errors, update_if
from chalicelib.store.models import ConversationModel, MessageModel
from chalicelib.store.transact import Transaction


@translate_store_errors
def last_texts(conversations: Iterable[Conversation]) -> dict[str, str | None]:
    """conversation id -> the text of its latest message (None: erased or none found)."""
    convs = list(conversations)
    keys = [(c.id, c.last_message_id) for c in convs if c.last_message_id]
    found: dict[str, str | None] = {}
    if keys:
        for m in MessageModel.batch_get(keys, attributes_to_get=["conversation_id", "id", "text"]):
            found[m.conversation_id] = m.text
    for c in convs:
        if not c.last_message_id:  # written before the conversation named its latest message
            latest = next(iter(MessageModel.by_seq.query(c.id, scan_index_forward=False, limit=1)), None)
            found[c.id] = latest.text if latest is not None else None
    return found


def _transact(build: Callable[[Transaction], None]) -> bool:
    """Commit a claim's transaction; False when its condition failed (nothing written)."""
    try:
        transact.run(build, via=ConversationModel)
    except transact.ConditionsFailed:
        return False
    return True


def _claimable(team: str, staff: str, now_text: str) -> Any:
    m = ConversationModel
    free = m.claim_expires_at.does_not_exist() | (m.claim_expires_at <= now_text) | (m.claim_staff == staff)
    return m.id.exists() & (m.team == team) & (m.status == "waiting") & m.owner.exists() & free


@translate_store_errors
def claim(conversation_id: str, *, team: str, staff: str, display: str, expires_at: str, now_text: str,
          audit: AccessRecord) -> bool:
    """Claim (or renew one's own claim) if nobody else holds a live one; False if refused."""
    m = ConversationModel

    def build(tx: Transaction) -> None:
        tx.put("audit", access_log.to_model(audit), condition=access_log.append_condition())
        tx.update("conversation", m(id=conversation_id), actions=[
            m.claim_staff.set(staff), m.claimed_by.set(display), m.claim_expires_at.set(expires_at),
        ], condition=_claimable(team, staff, now_text))

    return _transact(build)


@translate_store_errors
def release(conversation_id: str, *, team: str, staff: str | None, audit: AccessRecord) -> bool:
    """Remove the claim: the claimer's own (`staff`), or any (a supervisor: `staff` None).
    False when there is no such claim to remove."""
    m = ConversationModel
    held = m.claim_staff.exists() if staff is None else (m.claim_staff == staff)

    def build(tx: Transaction) -> None:
        tx.put("audit", access_log.to_model(audit), condition=access_log.append_condition())
        tx.update("conversation", m(id=conversation_id), actions=[
            m.claim_staff.remove(), m.claimed_by.remove(), m.claim_expires_at.remove(),
        ], condition=m.id.exists() & (m.team == team) & held)

    return _transact(build)


@translate_store_errors
def leave_queue(conversation: Conversation) -> bool:
    """A waiting conversation whose resident was erased leaves the team's queue: its queue key
    moves out of `waiting#` (only if nothing changed since it was read; a later write computes the
    same key, since the key depends on the missing owner)."""
    if conversation.owner or conversation.status != "waiting":
        return False
    m = ConversationModel
    return update_if(m(id=conversation.id), [m.queue_key.set(rules.queue_key(conversation))],
                     m.id.exists() & (m.version == conversation.version) & m.owner.does_not_exist())
