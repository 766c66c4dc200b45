"""Counters off the write path (issue 23): the contacts, conversations and ratings streams' aggregators,
and the statistics check of the recount (usecases/recount.py: every derived figure, and the repair).

`apply_contact_stream` is the body of app.py's `contact_counter`, `apply_conversation_stream` of
its `conversation_counter`, `apply_rating_stream` of its `rating_counter` (Lambda's event source
mappings in AWS, infra/local/streams.py locally and in tests): the batch is aggregated in memory
and written part by part, each part exactly once (domain/stream_counts.py, store/stream_ledger.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain import stream_counts
from chalicelib.domain.recount import Drift
from chalicelib.domain.stream_counts import Change, ContactChange, ConversationChange, Part, RatingChange
from chalicelib.usecases import recount

if TYPE_CHECKING:
    from chalicelib.services import Services


@dataclass(frozen=True)
class Applied:
    """What one stream batch did: records in it, records applied before (replays), parts written."""

    records: int
    replayed: int
    parts: int
    as_of: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "replayed": self.replayed, "parts": self.parts, "as_of": self.as_of}


class Ledger(Protocol):
    """What writing a stream's parts needs of its repository (contact_stream, conversation_stream, rating_stream)."""

    def apply_part(self, part: Part, now: datetime) -> list[str]: ...

    def advance_as_of(self, at: str) -> None: ...


def apply_parts(ledger: Ledger, changes: Sequence[Change], plan: Callable[[Sequence[Change]], list[Part]],
                now: datetime) -> Applied:
    """Write the sums of `changes` (one stream shard's records, in order) exactly once: `plan`
    cuts them into parts; a part some of whose records were applied before writes nothing, and
    the rest is planned again without them."""
    pending = list(changes)
    replayed = parts = 0
    newest: str | None = None
    planned = plan(pending)
    while planned:
        part = planned.pop(0)
        already = ledger.apply_part(part, now)
        if already:
            replayed += len(already)
            done = {*already}
            pending = [change for change in pending if change.event_id not in done]
            planned = plan(pending)
            continue
        parts += 1
        pending = pending[len(part.event_ids):]
        if part.newest is not None and (newest is None or part.newest > newest):
            newest = part.newest
    if newest is not None:
        ledger.advance_as_of(newest)
    return Applied(records=len(changes), replayed=replayed, parts=parts, as_of=newest)


def apply_changes(svc: Services, changes: Sequence[ContactChange]) -> Applied:
    """Write the statistics and engagement sums of contact changes exactly once."""
    return apply_parts(svc.store.contact_stream, changes, lambda pending: stream_counts.plan_parts(
        pending, svc.pseudonyms.staff, svc.contact_rules.retention), svc.clock())


def apply_conversation_changes(svc: Services, changes: Sequence[ConversationChange]) -> Applied:
    """Write the figure sums of conversation changes exactly once."""
    return apply_parts(svc.store.conversation_stream, changes, stream_counts.plan_conversation_parts, svc.clock())


def apply_rating_changes(svc: Services, changes: Sequence[RatingChange]) -> Applied:
    """Write the counts of the ratings given exactly once (every other record of the neighbourhoods
    table is left out before planning: it needs no marker)."""
    given = [change for change in changes if stream_counts.rating_deltas(change)]
    applied = apply_parts(svc.store.rating_stream, given, stream_counts.plan_rating_parts, svc.clock())
    return Applied(records=len(changes), replayed=applied.replayed, parts=applied.parts, as_of=applied.as_of)


def apply_contact_stream(svc: Services, records: Sequence[Mapping[str, Any]]) -> Applied:
    """Lambda's DynamoDB stream records (raw) -> counters. A record that cannot be read raises:
    the event source mapping bisects the batch and sends that record to its on-failure queue
    (the records before it, applied already, are replays then and change nothing)."""
    return apply_changes(svc, [svc.store.contact_stream.decode(record) for record in records])


def apply_conversation_stream(svc: Services, records: Sequence[Mapping[str, Any]]) -> Applied:
    """The conversations table's stream records (raw) -> figure counters (as `apply_contact_stream`)."""
    return apply_conversation_changes(svc, [svc.store.conversation_stream.decode(record) for record in records])


def apply_rating_stream(svc: Services, records: Sequence[Mapping[str, Any]]) -> Applied:
    """The neighbourhoods table's stream records (raw) -> rating counts (as `apply_contact_stream`)."""
    return apply_rating_changes(svc, [svc.store.rating_stream.decode(record) for record in records])


# -- recount ----------------------------------------------------------------------------------

def check(svc: Services, day_from: date, day_to: date, teams: Sequence[str] = (), force: bool = True) -> list[Drift]:
    """The statistics counters of the days that differ from a recount of the contacts
    (usecases/recount.py checks every other derived figure too)."""
    return recount.check(svc, day_from, day_to, teams, force, kinds=("stats",))
