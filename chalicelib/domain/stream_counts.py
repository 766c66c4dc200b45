"""Counters derived from the tables' change streams (issue 23): contacts and conversations. Pure, no I/O.

A contact's create or amendment writes only the contact and its access-log entry; every statistics
counter (`domain.stats_keys`, day/week/month) and the distinct-staff engagement items
(`domain.engagement`) follow from the table's stream (`NEW_AND_OLD_IMAGES`):

- INSERT: the new image's counters +1 and its engagement moves (a create);
- MODIFY: old image -1, new image +1, netted (an amendment; an erasure changes no counted field,
  so it nets to nothing);
- REMOVE: nothing. Contacts are only ever deleted by TTL (userIdentity `dynamodb.amazonaws.com`):
  history's counts keep what was logged.

A batch is aggregated in memory and written in parts of at most one transaction each
(`plan_parts`): the parts are cut greedily in stream order, so the same records always make the
same parts. Each record of a part carries a marker (its stream `eventID`, written under the
condition it is new, in the same transaction as the sums), so a record read again after a crash,
a retry or a re-batched replay changes nothing: exactly once, whatever the batch boundaries.

The conversations table's stream is cut and applied the same way (`plan_conversation_parts`):
a conversation's figure counters (`domain.conversations.stream_deltas`), no member items.

The neighbourhoods table's stream gives the residents' rating counts (`plan_rating_parts`,
`domain.trust.rating_counts`): a rating's INSERT adds its counts; nothing else of that table counts
(other items decode to no image; a rating is never modified; erasure and TTL delete, which keeps
what was counted).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, Literal, TypeVar

from chalicelib.domain import engagement, stats_keys, trust
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.conversations import Conversation, stream_deltas

EventName = Literal["INSERT", "MODIFY", "REMOVE"]
TRANSACTION_ITEMS = 100  # items of one TransactWriteItems
TTL_SERVICE = "dynamodb.amazonaws.com"


Image = TypeVar("Image")


@dataclass(frozen=True)
class StreamRecord(Generic[Image]):
    """One stream record of a table, decoded (images as the domain's records)."""

    event_id: str
    event: EventName
    old: Image | None
    new: Image | None
    at: str | None = None  # ApproximateCreationDateTime, RFC 3339 UTC
    by_ttl: bool = False  # a REMOVE by DynamoDB's TTL


ContactChange = StreamRecord[ContactRecord]  # the contacts table's
ConversationChange = StreamRecord[Conversation]  # the conversations table's
RatingChange = StreamRecord[trust.Rating | None]  # the neighbourhoods table's (other items: no image)
Change = TypeVar("Change", bound=StreamRecord[Any])
Contributions = tuple[Mapping[tuple[str, str], int], Sequence[engagement.MemberMove]]


def counter_deltas(change: ContactChange) -> dict[tuple[str, str], int]:
    """The statistics counters one change moves (with their week and month roll-ups)."""
    if change.event == "REMOVE" or change.new is None:
        return {}
    before = change.old.counter_keys() if change.event == "MODIFY" and change.old is not None else set()
    return stats_keys.with_period_grains(stats_keys.counter_deltas(before, change.new.counter_keys()))


def member_moves(change: ContactChange, member: engagement.MemberFn,
                 retention: timedelta) -> list[engagement.MemberMove]:
    """The distinct-staff member-item moves of one change (as every route's write had them)."""
    if change.event == "REMOVE" or change.new is None:
        return []
    old = change.old if change.event == "MODIFY" else None
    return engagement.log_moves(old, change.new, member, retention)


@dataclass
class Part:
    """What one transaction writes: the records' markers, the counter sums, the member moves (and
    the distinct-count counter items those moves may touch, `move_counters`)."""

    event_ids: list[str] = field(default_factory=list)
    counters: Counter[tuple[str, str]] = field(default_factory=Counter)
    moves: dict[tuple[str, str], engagement.MemberMove] = field(default_factory=dict)
    move_counters: set[tuple[str, str]] = field(default_factory=set)
    newest: str | None = None

    def items(self) -> int:
        """Transaction items at most: a marker per record, every counter, member and
        distinct-count item (one per item: the store merges what touches the same one)."""
        return len(self.event_ids) + len(self.counters) + len(self.moves) + len(self.move_counters)

    def items_with(self, counters: Mapping[tuple[str, str], int], moves: Sequence[engagement.MemberMove]) -> int:
        """`items()` once one more record with these contributions joined."""
        return (self.items() + 1 + sum(1 for key in counters if key not in self.counters)
                + len({(m.key, m.bucket) for m in moves} - self.moves.keys())
                + len({c for m in moves for c in m.counters} - self.move_counters))

    def add(self, change: StreamRecord[Any], counters: Mapping[tuple[str, str], int],
            moves: Iterable[engagement.MemberMove]) -> None:
        self.event_ids.append(change.event_id)
        self.counters.update(counters)
        for move in moves:
            into = self.moves.setdefault((move.key, move.bucket), engagement.MemberMove(
                move.key, move.bucket, move.expires_at, move.counters))
            into.expires_at = max(into.expires_at, move.expires_at)
            self.move_counters.update(move.counters)
            for name, delta in move.deltas.items():
                into.deltas[name] = into.deltas.get(name, 0) + delta
        if change.at is not None and (self.newest is None or change.at > self.newest):
            self.newest = change.at

    def sums(self) -> dict[tuple[str, str], int]:
        return {key: n for key, n in sorted(self.counters.items()) if n}

    def member_moves(self) -> list[engagement.MemberMove]:
        """Moves whose deltas did not cancel out within the part, in a stable order."""
        out = []
        for key in sorted(self.moves):
            move = self.moves[key]
            deltas = {name: delta for name, delta in move.deltas.items() if delta}
            if deltas:
                out.append(engagement.MemberMove(move.key, move.bucket, move.expires_at, move.counters, deltas))
        return out


def plan_parts(changes: Sequence[ContactChange], member: engagement.MemberFn, retention: timedelta,
               capacity: int = TRANSACTION_ITEMS) -> list[Part]:
    """The contacts stream's batch cut into parts (`cut_parts`): statistics counters and member moves."""
    return cut_parts(changes, lambda change: (counter_deltas(change), member_moves(change, member, retention)),
                     capacity)


def conversation_deltas(change: ConversationChange) -> dict[tuple[str, str], int]:
    """The figure counters one conversation change moves (a REMOVE, TTL's, moves nothing)."""
    if change.event == "REMOVE":
        return {}
    return stream_deltas(change.old if change.event == "MODIFY" else None, change.new, change.at)


def plan_conversation_parts(changes: Sequence[ConversationChange], capacity: int = TRANSACTION_ITEMS) -> list[Part]:
    """The conversations stream's batch cut into parts (`cut_parts`): figure counters only."""
    return cut_parts(changes, lambda change: (conversation_deltas(change), ()), capacity)


def rating_deltas(change: RatingChange) -> dict[tuple[str, str], int]:
    """The counts a neighbourhoods-table change adds: a rating given (INSERT) its counts; nothing else."""
    if change.event != "INSERT" or change.new is None:
        return {}
    return trust.rating_counts(change.new)


def plan_rating_parts(changes: Sequence[RatingChange], capacity: int = TRANSACTION_ITEMS) -> list[Part]:
    """The ratings' batch cut into parts (`cut_parts`): rating counts only (their buckets carry
    their own shard, `domain.trust.count_keys`)."""
    return cut_parts(changes, lambda change: (rating_deltas(change), ()), capacity)


def cut_parts(changes: Sequence[Change], contributions: Callable[[Change], Contributions],
              capacity: int = TRANSACTION_ITEMS) -> list[Part]:
    """Cut the batch, in stream order, into parts that each fit one transaction (greedy: a record
    joins the current part unless that would overflow it; a part holds at least one record).
    Deterministic for the same records."""
    parts: list[Part] = []
    current = Part()
    for change in changes:
        counters, moves = contributions(change)
        if current.event_ids and current.items_with(counters, moves) > capacity:
            parts.append(current)
            current = Part()
        current.add(change, counters, moves)
    if current.event_ids:
        parts.append(current)
    return parts
