"""Conversations between residents and their neighbourhood team (docs/conversations.md)."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.store.models.base import UnboundMeta as _Meta


class ConversationsByTeam(GlobalSecondaryIndex["ConversationModel"]):
    """The team's queue: `queue_key` = <status>#<waiting since or last message>#<id>, so one Query
    with begins_with(status) gives waiting ones oldest first (or answered/closed, newest first)."""

    class Meta:
        index_name = "by_team"
        projection = AllProjection()

    team = UnicodeAttribute(hash_key=True)
    queue_key = UnicodeAttribute(range_key=True)


class ConversationsByOwner(GlobalSecondaryIndex["ConversationModel"]):
    """A resident's conversations, latest activity first. Sparse: erasure removes `owner`."""

    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)
    activity_key = UnicodeAttribute(range_key=True)


class ConversationsByDue(GlobalSecondaryIndex["ConversationModel"]):
    """Waits still to be counted as over 24 h, by the UTC day they pass it: `due_key` =
    <waiting since + 24 h>#<id>. Sparse: the keys exist only while such a wait is open, so the
    clock (usecases.conversations.count_overdue) reads only what it has to count."""

    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_day = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)


class ConversationModel(Model):
    class Meta(_Meta):
        short_name = "conversations"
        # Every figure counter is derived from this stream (domain.conversations.stream_deltas).
        stream_view_type = STREAM_NEW_AND_OLD_IMAGE

    id = UnicodeAttribute(hash_key=True)
    team = UnicodeAttribute()
    owner = UnicodeAttribute(null=True)
    area_id = UnicodeAttribute(null=True)
    alert_id = UnicodeAttribute(null=True)
    topic = UnicodeAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    last_message_at = UnicodeAttribute()
    waiting_since = UnicodeAttribute(null=True)
    first_response_at = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    over24_at = UnicodeAttribute(null=True)
    respond_by = UnicodeAttribute(null=True)  # the current wait's response standard (docs/guarantee.md)
    past_standard_at = UnicodeAttribute(null=True)  # the current wait passed respond_by and was counted
    escalated_at = UnicodeAttribute(null=True)  # the resident escalated the current (or last) wait
    nearing_at = UnicodeAttribute(null=True)  # the current wait reached 2/3 of its standard (team told)
    # The time of the last change of state: its figures' "now" (the stream's consumer reads it).
    changed_at = UnicodeAttribute(null=True)
    urgent = BooleanAttribute(null=True)  # present (true) only while flagged: docs/conversations.md
    due_day = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)
    version = NumberAttribute()
    content_digest = UnicodeAttribute()
    # The team's app (store/team_queue.py): the latest message (its preview is read from `messages`,
    # so no words live here) and a claim: who holds it (staff id, never returned), shown as a
    # display pseudonym, until when. A claim ends when the conversation stops waiting.
    last_message_id = UnicodeAttribute(null=True)
    claim_staff = UnicodeAttribute(null=True)
    claimed_by = UnicodeAttribute(null=True)
    claim_expires_at = UnicodeAttribute(null=True)
    # Context for residents, fixed at the opening: the area's name, an alert's headlines (JSON
    # object language -> headline; only for a conversation opened by an alert reply).
    area_name = UnicodeAttribute(null=True)
    alert_headlines = UnicodeAttribute(null=True)
    queue_key = UnicodeAttribute()
    activity_key = UnicodeAttribute()
    expires_at = TTLAttribute()

    by_team = ConversationsByTeam()
    by_owner = ConversationsByOwner()
    by_due = ConversationsByDue()


class MessagesBySeq(LocalSecondaryIndex["MessageModel"]):
    class Meta:
        index_name = "by_seq"
        projection = AllProjection()

    conversation_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)


class MessageModel(Model):
    """One item per message; key (conversation, client message id) makes a resend idempotent.
    `seq` (the conversation version the message produced) orders them: LSI `by_seq`."""

    class Meta(_Meta):
        short_name = "messages"

    conversation_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    seq = NumberAttribute()
    sender = UnicodeAttribute()  # resident|team|system (the automatic emergency guidance)
    text = UnicodeAttribute(null=True)  # removed by erasure (resident messages)
    sent_at = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    content_digest = UnicodeAttribute()
    author = UnicodeAttribute(null=True)
    officer = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

    by_seq = MessagesBySeq()
