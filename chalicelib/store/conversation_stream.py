"""The figure counters derived from the conversations table's stream (domain/stream_counts.py,
`domain.conversations.stream_deltas`): decoding Lambda's stream records into conversation
changes; each part of a batch is written exactly once by the stream's `Ledger`
(store/stream_ledger.py: markers `stream|conversations|mark|<h>`, `as_of` at
`stream|conversations`). The table holds conversation items only (messages have their own table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.conversations import Conversation
from chalicelib.domain.stream_counts import ConversationChange
from chalicelib.store import conversations as conversation_store
from chalicelib.store.models import ConversationModel
from chalicelib.store.stream_ledger import Ledger, decoded

LEDGER = Ledger("conversations")
apply_part = LEDGER.apply_part
advance_as_of = LEDGER.advance_as_of
as_of = LEDGER.as_of
applied = LEDGER.applied


def _image(raw: dict[str, Any]) -> Conversation:
    return conversation_store.from_model(ConversationModel.from_raw_data(raw))


def decode(record: Mapping[str, Any]) -> ConversationChange:
    """One Lambda DynamoDB stream record of the conversations table -> ConversationChange.
    BadRecord if unreadable."""
    return decoded(record, _image)
