"""Writing a stream's counters exactly once (issue 23): one `Ledger` per consumed stream (the
contacts stream: store/contact_stream.py; the conversations stream: store/conversation_stream.py;
the neighbourhoods table's, for ratings: store/rating_stream.py).

A part (domain/stream_counts.py) is ONE TransactWriteItems on the stats table: a marker per stream
record (key `stream|<stream>|mark|<h>`, bucket = the record's `eventID`, condition: new; it expires
after `MARK_DAYS`, well past the stream's 24 h retention), the counter sums (ADD, on the counter
shard of the part's first record) and any engagement member items with the distinct-count changes
they cause (settled like the write path's were: store.contacts.Engagement). A record already
applied fails its marker's condition: nothing of that part is written, and the caller re-plans
without it.

`as_of` (the newest record applied) is one item per stream (`stream|<stream>`/`as_of`), moved
forward only, after the parts commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.operand import Path

from chalicelib.clock import to_rfc3339
from chalicelib.domain.stream_counts import TTL_SERVICE, EventName, Part, StreamRecord
from chalicelib.store import contacts as contact_store
from chalicelib.store import transact
from chalicelib.store.errors import error_code, translate_store_errors
from chalicelib.store.models import StatCounterModel
from chalicelib.store.transact import ConditionsFailed, Transaction

MARK_PARTITIONS = 16  # markers spread over this many partition keys (by eventID)
MARK_DAYS = 3
AS_OF_BUCKET = "as_of"
MARK = "mark:"  # label prefix of a marker: mark:<eventID>
EVENTS: frozenset[str] = frozenset({"INSERT", "MODIFY", "REMOVE"})


class BadRecord(ValueError):
    """A stream record that is not a record of the table this code can read."""


def approximate_at(value: Any) -> str | None:
    """Lambda gives ApproximateCreationDateTime as epoch seconds."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), UTC)
    return to_rfc3339(moment.astimezone(UTC))


def checked(record: Mapping[str, Any]) -> tuple[EventName, Mapping[str, Any]]:
    """The record's event name and its `dynamodb` body; BadRecord if it is no stream record."""
    event = record.get("eventName")
    body = record.get("dynamodb")
    if event not in EVENTS or not isinstance(body, Mapping) or not record.get("eventID"):
        raise BadRecord(f"not a stream record: {record.get('eventID')!r}")
    named: EventName = event  # checked against EVENTS above
    return named, body


def by_ttl(record: Mapping[str, Any]) -> bool:
    """A REMOVE made by DynamoDB's TTL (userIdentity dynamodb.amazonaws.com)."""
    identity = record.get("userIdentity") or {}
    return bool(identity.get("principalId") == TTL_SERVICE)


Image = TypeVar("Image")


def decoded(record: Mapping[str, Any], image: Callable[[dict[str, Any]], Image]) -> StreamRecord[Image]:
    """One Lambda DynamoDB stream record (eventID, eventName, dynamodb.{OldImage,NewImage,
    ApproximateCreationDateTime}, userIdentity), its images read by `image` (an item's raw data
    -> record). BadRecord if unreadable (the event source mapping then bisects and reports it)."""
    event, body = checked(record)
    try:
        old, new = (image(dict(raw)) if raw else None for raw in (body.get("OldImage"), body.get("NewImage")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadRecord(f"unreadable image in {record.get('eventID')!r}") from exc
    return StreamRecord(event_id=str(record["eventID"]), event=event, old=old, new=new,
                   at=approximate_at(body.get("ApproximateCreationDateTime")), by_ttl=by_ttl(record))


class AlreadyApplied(Exception):
    """Some records of the part had been applied before (their markers exist): nothing was written."""

    def __init__(self, event_ids: list[str]) -> None:
        super().__init__(f"{len(event_ids)} stream records applied before")
        self.event_ids = event_ids


@dataclass(frozen=True)
class Ledger:
    """The markers and `as_of` of one stream, named `stream` in the stats table's keys.
    `shard_buckets`: the sums go to a counter shard of their bucket (`<bucket>|<shard>`, chosen per
    part); off for buckets that end in their own shard already (rating counts, domain/trust.py)."""

    stream: str
    shard_buckets: bool = True

    @property
    def as_of_key(self) -> str:
        return f"stream|{self.stream}"

    def mark_key(self, event_id: str) -> str:
        shard = int(hashlib.sha256(event_id.encode()).hexdigest()[:4], 16) % MARK_PARTITIONS
        return f"stream|{self.stream}|mark|{shard:02d}"

    def _build(self, tx: Transaction, part: Part, members: contact_store.Engagement, counter_shard: int,
               expires: datetime) -> None:
        for event_id in part.event_ids:
            tx.put(f"{MARK}{event_id}", StatCounterModel(key=self.mark_key(event_id), bucket=event_id,
                                                         expires_at=expires),
                   condition=StatCounterModel.key.does_not_exist())
        for (key, bucket), delta in part.sums().items():
            stored = f"{bucket}|{counter_shard:02d}" if self.shard_buckets else bucket
            tx.update("counter", StatCounterModel(key=key, bucket=stored),
                      actions=[StatCounterModel.contacts.add(delta)])
        members.add(tx)

    def _once(self, part: Part, members: contact_store.Engagement, counter_shard: int, expires: datetime) -> None:
        try:
            transact.run(lambda tx: self._build(tx, part, members, counter_shard, expires), via=StatCounterModel)
        except ConditionsFailed as cancelled:
            applied = [r.label.removeprefix(MARK) for r in cancelled.failed if r.label.startswith(MARK)]
            if applied:
                raise AlreadyApplied(applied) from cancelled
            moved = contact_store.members_moved(cancelled)
            if moved is None:
                raise cancelled.error from None
            raise moved from cancelled

    @translate_store_errors
    def apply_part(self, part: Part, now: datetime) -> list[str]:
        """Write one part exactly once. [] when written; else the eventIDs already applied (nothing
        was written: the caller plans again without them). The sums go to one counter shard, chosen
        by the part's first record, so parallel stream shards rarely meet on an item."""
        counter_shard = contact_store.counter_shard(part.event_ids[0])
        members = contact_store.Engagement(part.member_moves())
        expires = now + timedelta(days=MARK_DAYS)
        try:
            contact_store.settled(lambda: self._once(part, members, counter_shard, expires), members)
        except AlreadyApplied as applied:
            return applied.event_ids
        return []

    @translate_store_errors
    def advance_as_of(self, at: str) -> None:
        """Move `as_of` forward to `at` (never back: parallel shards may finish out of order)."""
        as_of = Path("as_of")
        try:
            StatCounterModel(key=self.as_of_key, bucket=AS_OF_BUCKET).update(
                actions=[as_of.set(at)], condition=as_of.does_not_exist() | (as_of < at))
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise  # else a newer as_of is already there

    @translate_store_errors
    def as_of(self) -> str | None:
        """The newest stream record the counters include (None: none applied yet)."""
        raw = transact.table(StatCounterModel).get_item(self.as_of_key, AS_OF_BUCKET, consistent_read=True)
        value = (raw.get("Item") or {}).get("as_of", {}).get("S")
        return str(value) if value else None

    @translate_store_errors
    def applied(self, event_id: str) -> bool:
        """Whether a stream record's marker exists (tests and the recount check)."""
        raw = transact.table(StatCounterModel).get_item(self.mark_key(event_id), event_id, consistent_read=True)
        return bool(raw.get("Item"))
