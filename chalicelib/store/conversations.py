"""Conversations and their messages (the only DynamoDB code for them).

Every message is ONE TransactWriteItems and, in the common case, the request's only DynamoDB call:
the message (condition: its client id is new; the old item comes back when it is not, so a resend
costs no second round trip), the conversation (condition: the state the write was computed from,
which comes from this container's hints, see `StateHints`; the current item comes back when the
condition fails), the engagement-log contact it becomes, the access-log entry and, for a team
answer, the resident's inbox copy: at most 7 items. No counter: the contact's statistics follow
from the contacts stream, the conversation's figures from this table's stream
(store/conversation_stream.py, `domain.conversations.stream_deltas`; the item keeps `changed_at`,
the time its figures are computed with).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.domain import conversations as rules
from chalicelib.domain.access import AccessRecord
from chalicelib.domain.conversations import Conversation, Message
from chalicelib.ports import ConversationExists, MessageExists, ResidentGone, VersionChanged, Write
from chalicelib.store import access_log, transact
from chalicelib.store import contacts as contact_store
from chalicelib.store import subscribers as subscriber_store
from chalicelib.store import words as word_store
from chalicelib.store.errors import error_code, translate_store_errors
from chalicelib.store.models import (
    ContactModel,
    ConversationModel,
    MessageModel,
)
from chalicelib.store.transact import ConditionsFailed, Transaction

HINTS_KEPT = 2048  # conversation states a warm container remembers (about 1 KiB each)
HINT_SECONDS = 900.0  # and for how long: an erased resident's id does not linger in memory


class StateHints:
    """The latest state of each conversation this container read or wrote: a hint, never an
    answer. Writes computed from a hint are conditioned on it (version, owner, team), so a stale
    hint costs one failed transaction that returns the current item, never a wrong write.
    Bounded (LRU, `HINTS_KEPT`) and short-lived (`HINT_SECONDS`). A dozen lines, so no library."""

    def __init__(self, kept: int = HINTS_KEPT, seconds: float = HINT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._states: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()
        self._kept, self._seconds, self._clock = kept, seconds, clock
        self._lock = threading.Lock()

    def get(self, conversation_id: str) -> Conversation | None:
        with self._lock:
            entry = self._states.get(conversation_id)
            if entry is None or self._clock() - entry[0] > self._seconds:
                self._states.pop(conversation_id, None)
                return None
            self._states.move_to_end(conversation_id)
            return entry[1]

    def remember(self, conv: Conversation, fresh: bool = True) -> None:
        """`fresh`: read consistently or just written. Index reads (eventually consistent) only
        add what is unknown or newer, so they never replace a later state with an older one."""
        with self._lock:
            entry = self._states.get(conv.id)
            if not fresh and entry is not None and entry[1].version >= conv.version:
                return
            self._states[conv.id] = (self._clock(), conv)
            self._states.move_to_end(conv.id)
            while len(self._states) > self._kept:
                self._states.popitem(last=False)

    def forget(self, conversation_id: str) -> None:
        with self._lock:
            self._states.pop(conversation_id, None)


_Tx = Transaction  # labelled actions: see store/transact.py


def _conversation_model(c: Conversation) -> ConversationModel:
    return ConversationModel(
        id=c.id, team=c.team, owner=c.owner, area_id=c.area_id, alert_id=c.alert_id, topic=c.topic,
        status=c.status, created_at=c.created_at, last_message_at=c.last_message_at,
        waiting_since=c.waiting_since, first_response_at=c.first_response_at, outcome=c.outcome,
        version=c.version, content_digest=c.content_digest, queue_key=rules.queue_key(c),
        activity_key=rules.activity_key(c), expires_at=c.expires_at, over24_at=c.over24_at,
        due_day=_due(c)[0], due_key=_due(c)[1], respond_by=c.respond_by, past_standard_at=c.past_standard_at,
        escalated_at=c.escalated_at, nearing_at=c.nearing_at, area_name=c.area_name, urgent=True if c.urgent else None,
        changed_at=c.changed_at,
        alert_headlines=json.dumps(c.alert_headlines, ensure_ascii=False) if c.alert_headlines else None,
    )


def _due(c: Conversation) -> tuple[str | None, str | None]:
    """The `by_due` index keys: present only while the wait is open and not yet counted."""
    due = rules.due_at(c)
    return (due[:10], f"{due}#{c.id}") if due else (None, None)


def from_model(m: ConversationModel) -> Conversation:
    """A stored conversation (an item, or an image of the table's stream) as the domain's record."""
    return Conversation(
        id=m.id, team=m.team, owner=m.owner or "", area_id=m.area_id, alert_id=m.alert_id, topic=m.topic,
        status=m.status, created_at=m.created_at, last_message_at=m.last_message_at, version=int(m.version),
        content_digest=m.content_digest, expires_at=m.expires_at, waiting_since=m.waiting_since,
        first_response_at=m.first_response_at, outcome=m.outcome, over24_at=m.over24_at,
        last_message_id=m.last_message_id, claimed_by=m.claimed_by, claim_expires_at=m.claim_expires_at,
        respond_by=m.respond_by, past_standard_at=m.past_standard_at, escalated_at=m.escalated_at,
        nearing_at=m.nearing_at,
        area_name=m.area_name, alert_headlines=json.loads(m.alert_headlines) if m.alert_headlines else {},
        urgent=bool(m.urgent), changed_at=m.changed_at,
    )


def _message_model(m: Message) -> MessageModel:
    return MessageModel(
        conversation_id=m.conversation_id, id=m.id, seq=m.seq, sender=m.sender, text=m.text,
        sent_at=m.sent_at, contact_id=m.contact_id, content_digest=m.content_digest, author=m.author,
        officer=m.officer, expires_at=m.expires_at,
    )


def _message(m: MessageModel) -> Message:
    return Message(
        conversation_id=m.conversation_id, id=m.id, seq=int(m.seq), sender=m.sender, text=m.text,
        sent_at=m.sent_at, contact_id=m.contact_id, content_digest=m.content_digest,
        expires_at=m.expires_at, author=m.author, officer=m.officer,
    )


def _update_actions(new: Conversation) -> list[Any]:
    """The conversation's changed attributes (a resident's words never live on this item)."""
    m = ConversationModel
    actions = [
        m.status.set(new.status), m.last_message_at.set(new.last_message_at), m.version.set(new.version),
        m.queue_key.set(rules.queue_key(new)), m.activity_key.set(rules.activity_key(new)),
        m.expires_at.set(new.expires_at),
    ]
    due_day, due_key = _due(new)
    for attr, value in ((m.waiting_since, new.waiting_since), (m.first_response_at, new.first_response_at),
                        (m.outcome, new.outcome), (m.over24_at, new.over24_at), (m.due_day, due_day),
                        (m.due_key, due_key), (m.respond_by, new.respond_by),
                        (m.past_standard_at, new.past_standard_at), (m.escalated_at, new.escalated_at),
                        (m.nearing_at, new.nearing_at), (m.changed_at, new.changed_at)):
        actions.append(attr.set(value) if value is not None else attr.remove())
    if new.status != "waiting":  # a claim is on a wait: an answer or a close ends it
        actions += [m.claim_staff.remove(), m.claimed_by.remove(), m.claim_expires_at.remove()]
    actions.append(m.urgent.set(True) if new.urgent else m.urgent.remove())
    return actions


def _assumed(old: Conversation) -> Any:
    """The state a write was computed from: `version` changes with every message and close, and
    owner and team are checked too (erasure removes the owner without a new version)."""
    m = ConversationModel
    owner = (m.owner == old.owner) if old.owner else m.owner.does_not_exist()
    return (m.version == old.version) & owner & (m.team == old.team)


def _add_side_items(tx: _Tx, write: Write) -> None:
    """The contact through the one path every log entry takes (store.contacts.add_log_entry: its
    statistics counters and engagement items follow from the contacts stream), its access-log
    entry and the inbox copy (the figures follow from the conversations stream)."""
    contact_store.add_log_entry(tx, write.contact, condition=ContactModel.id.does_not_exist())
    tx.put("audit", access_log.to_model(write.audit), condition=access_log.append_condition())
    if write.inbox is not None:
        tx.put("inbox", subscriber_store.inbox_model(write.inbox))
    if write.guidance is not None:
        tx.put("guidance", _message_model(write.guidance), condition=MessageModel.id.does_not_exist())
    if write.words is not None:
        subscriber_item, condition = subscriber_store.accepts_words_condition(write.words.subscriber_id)
        tx.check("subscriber", type(subscriber_item), subscriber_item.id, condition)
        tx.put("words", word_store.holder_model(write.words))


Failed = tuple[str, dict[str, Any] | None] | None


def _commit(build: Callable[[_Tx], None]) -> Failed:
    """Run the transaction (store/transact.py). None when committed, else the label of the first
    item whose condition failed and the old item DynamoDB returned for it."""
    try:
        transact.run(build, via=ContactModel)
    except ConditionsFailed as cancelled:
        failed = cancelled.first()
        return failed.label, failed.item
    return None


class ConversationRepository:
    """Built once per warm container (`svc.store.conversations`), with its `StateHints`."""

    def __init__(self, hints: StateHints | None = None) -> None:
        self.hints = hints if hints is not None else StateHints()

    @translate_store_errors
    def start(self, conversation: Conversation, message: Message, write: Write) -> None:
        """A new conversation with its first message. ConversationExists(existing) if the id is taken."""

        def build(tx: _Tx) -> None:
            model = _conversation_model(conversation)
            model.last_message_id = message.id
            tx.put("conversation", model, condition=ConversationModel.id.does_not_exist(), return_values="ALL_OLD")
            tx.put("message", _message_model(message), condition=MessageModel.id.does_not_exist())
            _add_side_items(tx, write)

        failed = _commit(build)
        if failed is None:
            self.hints.remember(conversation)
            return
        label, raw = failed
        if label == "conversation":
            raise ConversationExists(from_model(ConversationModel.from_raw_data(raw)) if raw else None)
        if label == "subscriber":
            raise ResidentGone()
        raise VersionChanged()  # a derived id collided (message or contact): retry-safe answer

    @translate_store_errors
    def append(self, old: Conversation, new: Conversation, message: Message, write: Write) -> None:
        """Add a message if the conversation is still exactly `old` (version, owner, team).
        MessageExists(existing) for a resent client id; VersionChanged(current) if it is not."""

        def build(tx: _Tx) -> None:
            tx.put("message", _message_model(message), condition=MessageModel.id.does_not_exist(),
                   return_values="ALL_OLD")
            _add_side_items(tx, write)
            tx.update("conversation", ConversationModel(id=old.id),
                      actions=[*_update_actions(new), ConversationModel.last_message_id.set(message.id)],
                      condition=_assumed(old), return_values="ALL_OLD")

        failed = _commit(build)
        if failed is None:
            self.hints.remember(new)
            return
        label, raw = failed
        if label == "message":
            raise MessageExists(_message(MessageModel.from_raw_data(raw)) if raw else None)
        if label == "subscriber":
            raise ResidentGone()
        raise self._changed(old.id, raw if label == "conversation" else None)

    @translate_store_errors
    def close(self, old: Conversation, new: Conversation, audit: AccessRecord) -> None:
        """Closing races are decided by the state condition: exactly one close lands."""
        self._change(old, new, ConversationModel.status != "closed", audit)

    @translate_store_errors
    def escalate(self, old: Conversation, new: Conversation, audit: AccessRecord) -> None:
        """The resident escalates a wait: lands only if `old` still holds and it is still waiting."""
        self._change(old, new, ConversationModel.status == "waiting", audit)

    @translate_store_errors
    def count_overdue(self, old: Conversation, new: Conversation) -> None:
        """The wait passed 24 h or its standard: flag it counted (the stream counts it), if `old` still holds."""
        self._change(old, new, ConversationModel.status == "waiting")

    def _change(self, old: Conversation, new: Conversation, status: Any, audit: AccessRecord | None = None) -> None:
        """`old` -> `new` without a message (with its access-log entry), if `old` still holds and
        its status meets `status`; else VersionChanged(current). Its figures: the stream's."""

        def build(tx: _Tx) -> None:
            if audit is not None:
                tx.put("audit", access_log.to_model(audit), condition=access_log.append_condition())
            tx.update("conversation", ConversationModel(id=old.id), actions=_update_actions(new),
                      condition=_assumed(old) & status, return_values="ALL_OLD")

        failed = _commit(build)
        if failed is None:
            self.hints.remember(new)
            return
        label, raw = failed
        raise self._changed(old.id, raw if label == "conversation" else None)

    @translate_store_errors
    def overdue(self, days: Iterable[str], due_by: str, limit: int) -> list[Conversation]:
        """Open waits due (24 h passed) by `due_by` and not counted yet, oldest due first, at most
        `limit`: one Query per UTC day on the sparse `by_due` index, so the read follows what is
        due, not the table."""
        found: list[Conversation] = []
        for day in days:
            if len(found) >= limit:
                break
            found += [from_model(m) for m in ConversationModel.by_due.query(
                day, ConversationModel.due_key <= f"{due_by}#\uffff", limit=limit - len(found))]
        return found

    def _changed(self, conversation_id: str, raw: dict[str, Any] | None) -> VersionChanged:
        """The state the failed condition saw becomes the hint (no item: forget the hint)."""
        if raw is None:
            self.hints.forget(conversation_id)
            return VersionChanged()
        current = from_model(ConversationModel.from_raw_data(raw))
        self.hints.remember(current)
        return VersionChanged(current)

    def last_seen(self, conversation_id: str) -> Conversation | None:
        """The state this container last read or wrote (no I/O; may be stale: see StateHints)."""
        return self.hints.get(conversation_id)

    @translate_store_errors
    def get(self, conversation_id: str) -> Conversation | None:
        try:
            conv = from_model(ConversationModel.get(conversation_id, consistent_read=True))
        except ConversationModel.DoesNotExist:
            self.hints.forget(conversation_id)
            return None
        self.hints.remember(conv)
        return conv

    @translate_store_errors
    def many(self, conversation_ids: Iterable[str]) -> dict[str, Conversation]:
        """The conversations that exist among `conversation_ids` (BatchGetItem; what an inbox page
        shows of them). Not remembered as hints: eventually consistent."""
        wanted = sorted(set(conversation_ids))
        return {m.id: from_model(m) for m in ConversationModel.batch_get(wanted)} if wanted else {}

    @translate_store_errors
    def get_message(self, conversation_id: str, message_id: str) -> Message | None:
        try:
            return _message(MessageModel.get(conversation_id, message_id, consistent_read=True))
        except MessageModel.DoesNotExist:
            return None

    @translate_store_errors
    def messages(self, conversation_id: str) -> list[Message]:
        """The latest page (at most rules.MESSAGES_PAGE_MAX), oldest first."""
        return self.message_page(conversation_id, rules.MESSAGES_PAGE_MAX, None)[0]

    @translate_store_errors
    def message_page(self, conversation_id: str, limit: int,
                     before: dict[str, Any] | None) -> tuple[list[Message], dict[str, Any] | None]:
        """The `limit` messages before `before` (None: the latest), oldest first, and the position
        of the page before them (None when these are the first). One Query on the LSI `by_seq`."""
        results = MessageModel.by_seq.query(conversation_id, scan_index_forward=False, consistent_read=True,
                                            limit=limit, page_size=limit, last_evaluated_key=before)
        newest_first = [_message(m) for m in results]
        earlier = results.last_evaluated_key if len(newest_first) == limit else None
        return newest_first[::-1], earlier

    @translate_store_errors
    def team_page(self, team: str, status: str, limit: int,
                  start: dict[str, Any] | None) -> tuple[list[Conversation], dict[str, Any] | None]:
        """waiting (escalated ones first) and escalated: oldest waiting first; answered/closed: latest
        first. Reads `limit` items."""
        results = ConversationModel.by_team.query(
            team, ConversationModel.queue_key.startswith(rules.queue_prefix(status)),
            scan_index_forward=(status in ("waiting", "escalated")),
            limit=limit, page_size=limit, last_evaluated_key=start)
        items = self._seen([from_model(m) for m in results])
        return items, (results.last_evaluated_key if len(items) == limit else None)

    @translate_store_errors
    def owner_page(self, owner: str, limit: int,
                   start: dict[str, Any] | None) -> tuple[list[Conversation], dict[str, Any] | None]:
        results = ConversationModel.by_owner.query(owner, scan_index_forward=False, limit=limit, page_size=limit,
                                                   last_evaluated_key=start)
        items = self._seen([from_model(m) for m in results])
        return items, (results.last_evaluated_key if len(items) == limit else None)

    def _seen(self, items: list[Conversation]) -> list[Conversation]:
        """A page read from an index (eventually consistent) adds hints, never older ones."""
        for conv in items:
            self.hints.remember(conv, fresh=False)
        return items

    @translate_store_errors
    def figures(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]:
        """Figure counters of one partition in a period range, shards summed (one Query)."""
        return contact_store.counters(key, bucket_from, bucket_to)

    # -- erasure -------------------------------------------------------------------------------
    @translate_store_errors
    def owned(self, owner: str) -> list[Conversation]:
        return [from_model(m) for m in ConversationModel.by_owner.query(owner)]

    @translate_store_errors
    def erase_resident_words(self, conversation_id: str) -> list[str]:
        """Remove the text of every resident message of a conversation; return their contact ids."""
        contact_ids = []
        for m in MessageModel.query(conversation_id, consistent_read=True):
            if m.sender != "resident":
                continue
            contact_ids.append(m.contact_id)
            if m.text is not None:
                m.update(actions=[MessageModel.text.remove(), MessageModel.content_digest.set("erased")])
        return contact_ids

    @translate_store_errors
    def erase_message_words(self, conversation_id: str, message_id: str) -> str | None:
        """One resident message loses its text (word index path); returns its contact id."""
        try:
            m = MessageModel.get(conversation_id, message_id, consistent_read=True)
        except MessageModel.DoesNotExist:
            return None
        if m.sender != "resident":
            return None
        m.update(actions=[MessageModel.text.remove(), MessageModel.content_digest.set("erased")])
        return m.contact_id

    @translate_store_errors
    def forget_owner(self, conversation_id: str, erased_digest: str) -> None:
        """The conversation stays (team messages, counts) but no longer names its resident, nor
        keeps the content digest keyed on the resident's id and words (`erased_digest` instead)."""
        self.hints.forget(conversation_id)
        ConversationModel(id=conversation_id).update(
            actions=[ConversationModel.owner.remove(), ConversationModel.content_digest.set(erased_digest)],
            condition=ConversationModel.id.exists())

    @translate_store_errors
    def unlink_contacts(self, contact_ids: Iterable[str]) -> None:
        """The contacts a resident's messages became lose the resident's pseudonym."""
        for contact_id in contact_ids:
            try:
                ContactModel(id=contact_id).update(
                    actions=[ContactModel.handle_pseudonym.remove(), ContactModel.notes.remove()],
                    condition=ContactModel.id.exists())
            except UpdateError as exc:  # expired (TTL) already: nothing left to unlink
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
