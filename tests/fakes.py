"""In-memory implementations of every port in `chalicelib/ports.py`: repositories, the conversation
store, the fan-out queue, push channels, the SNS endpoint registrar and a clock.

They model the STORAGE mechanics the use cases rely on (conditional writes that refuse, all-or-
nothing transactions, pages with positions, claims that succeed once, TTL attributes), never a
business rule: where the real store computes something from a record it calls the same domain
function (`history.index_attributes`, `engagement.settle`, `conversations.due_at`, `queue_key`,
`CellAreaIndex`, `AlertRecord.status_at`). `tests/test_port_contract.py` runs the same port-level
cases against these and against DynamoDB Local and fails when they disagree.

All repositories of one `FakeDatabase` share its tables, so what one port writes another reads
(a conversation message's contact is in `contacts`, its inbox copy in `subscribers`). Two
`FakeConversations` on one database are two warm containers: each has its own state hints.
The `_: Port = Fake...` lines at the end make mypy check every fake against its Protocol.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from chalicelib.clock import Clock, parse_rfc3339, to_rfc3339
from chalicelib.domain import conversations as conversation_rules
from chalicelib.domain import engagement as engagement_rules
from chalicelib.domain import history
from chalicelib.domain.access import AccessEntryOut, AccessRecord
from chalicelib.domain.alerts import AlertRecord, Notification
from chalicelib.domain.areas import AreaRecord, CellAreaIndex
from chalicelib.domain.contact_schemas import Change
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.conversations import AnswerNotification, Conversation, Message
from chalicelib.domain.engagement import MemberMove
from chalicelib.domain.history import AlertFigures, Plan
from chalicelib.domain.meetings import Meeting
from chalicelib.domain.notices import NoticeNotification
from chalicelib.domain.priorities import ActionOut, Priority
from chalicelib.domain.pulses import PulseState
from chalicelib.domain.staff_devices import StaffDevice
from chalicelib.domain.staff_figures import Activity
from chalicelib.domain.stream_counts import ContactChange, ConversationChange, Part, RatingChange, StreamRecord
from chalicelib.domain.strength import StrengthRecord
from chalicelib.domain.subscribers import SubscriberRecord
from chalicelib.domain.teams import TeamRecord
from chalicelib.domain.trust import Pulse, PulseSent, Rating
from chalicelib.ports import (
    AccessLogRepository,
    AlertHistoryRepository,
    AlertRepository,
    AreaRepository,
    Channel,
    Claim,
    ConditionFailed,
    ConfirmationSender,
    ContactPage,
    ContactRepository,
    ContactStreamRepository,
    ConversationExists,
    ConversationStore,
    ConversationStreamRepository,
    Delivery,
    DeliveryRepository,
    EndpointRegistrar,
    EngagementRepository,
    ExportSink,
    FanoutMessage,
    FanoutQueue,
    HealthProbe,
    Held,
    HistoryRepository,
    InboxCopy,
    MeetingRepository,
    MessageExists,
    PriorityRepository,
    QueueMessage,
    RateCounterRepository,
    RatingStreamRepository,
    RecountRepository,
    Repositories,
    ResidentGone,
    RowPage,
    SendOutcome,
    StaleAlert,
    StoredFile,
    SubscriberGone,
    SubscriberRepository,
    TeamRepository,
    TrustRepository,
    VersionChanged,
    Wanted,
    WordHolder,
    WordRepository,
    Write,
)
from chalicelib.ports import NotFound as StoreNotFound
from tests.sms_fakes import FakeSms, FakeSmsSender

if TYPE_CHECKING:
    from chalicelib.services import Services

PushNotification = Notification | AnswerNotification | NoticeNotification

T = TypeVar("T")
Position = dict[str, Any] | None

# --- paging: DynamoDB's Limit semantics --------------------------------------------------------


class _Result(list[T]):
    """One Query's items and its LastEvaluatedKey (present when the Limit was reached)."""

    last_evaluated_key: Position = None


def _query(ordered: Sequence[T], key: Callable[[T], str], limit: int | None, start: Position,
           *, descending: bool = False) -> _Result[T]:
    """Items of `ordered` (already in index order) after `start`, at most `limit`; the position of
    the last one when the limit was reached (like DynamoDB, even when nothing follows)."""
    after = start.get("after") if start else None
    items = [i for i in ordered if after is None or ((key(i) < after) if descending else (key(i) > after))]
    result: _Result[T] = _Result(items[:limit] if limit is not None else items)
    if limit is not None and len(result) == limit:
        result.last_evaluated_key = {"after": key(result[-1])}
    return result


def _page(ordered: Sequence[T], key: Callable[[T], str], limit: int, start: Position,
          *, descending: bool = False) -> tuple[list[T], Position]:
    result = _query(ordered, key, limit, start, descending=descending)
    return list(result), result.last_evaluated_key


def _walk(partitions: list[str], position: Position, limit: int,
          query: Callable[[str, int, Position], _Result[T]], *, max_partitions: int | None = None,
          key: str = "m") -> tuple[list[T], Position]:
    """The store's own walk over time partitions (chalicelib/store/paging.py, pure), on fake Queries."""
    from chalicelib.store.paging import walk_partitions

    return walk_partitions(partitions, position, limit, query, lambda item: item,
                           max_partitions=max_partitions, key=key)


# --- the tables --------------------------------------------------------------------------------


@dataclass
class DeliveryItem:
    alert_id: str
    subscriber_id: str
    revision: int
    state: str
    claimed_at: str
    expires_at: datetime
    attempts: int = 0
    read_at: str | None = None
    release: tuple[str, str] | None = None


@dataclass
class FakeStream(Generic[T]):
    """A table's stream on a FakeDatabase: changes not yet consumed, consumed at once (in order)
    when a consumer is installed (fake_services installs the real use case)."""

    prefix: str
    pending: list[T] = field(default_factory=list)
    consumer: Callable[[list[T]], Any] | None = None
    records: int = 0

    def next_id(self) -> str:
        self.records += 1
        return f"{self.prefix}-{self.records}"

    def emit(self, change: T) -> None:
        self.pending.append(change)
        if self.consumer is not None:
            pending, self.pending = self.pending, []
            self.consumer(pending)


@dataclass
class FakeDatabase:
    """Every table the adapters write, as plain dictionaries (tests may look inside)."""

    contacts: dict[str, ContactRecord] = field(default_factory=dict)
    amendments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # The stats table: (key, bucket) -> number attributes (contact counters: {"contacts": n}).
    stats: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    stats_expiry: dict[tuple[str, str], datetime] = field(default_factory=dict)
    access: list[AccessRecord] = field(default_factory=list)
    access_expiry: dict[str, datetime] = field(default_factory=dict)
    areas: dict[str, AreaRecord] = field(default_factory=dict)
    alerts: dict[str, AlertRecord] = field(default_factory=dict)
    alert_cells: dict[str, dict[str, tuple[str, datetime]]] = field(default_factory=dict)  # cell -> id -> expiry
    deliveries: dict[tuple[str, str], DeliveryItem] = field(default_factory=dict)
    subscribers: dict[str, SubscriberRecord] = field(default_factory=dict)
    erasing: set[str] = field(default_factory=set)
    subscriptions: dict[str, dict[str, tuple[list[dict[str, Any]], list[str], Any]]] = field(default_factory=dict)
    inbox: dict[str, dict[str, tuple[str, datetime]]] = field(default_factory=dict)
    words: dict[str, dict[str, datetime]] = field(default_factory=dict)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[str, dict[str, Message]] = field(default_factory=dict)
    rate_hits: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    claim_staff: dict[str, str] = field(default_factory=dict)  # conversation id -> staff id holding a claim
    teams: dict[str, TeamRecord] = field(default_factory=dict)
    strengths: dict[tuple[str, str], StrengthRecord] = field(default_factory=dict)  # (team, from day)
    priorities: dict[str, Priority] = field(default_factory=dict)
    meetings: dict[str, Meeting] = field(default_factory=dict)
    tallies: dict[str, int] = field(default_factory=dict)  # priority/meeting id -> supporters/attending
    # (priority or meeting id) -> subscriber id -> when (supports and attendances)
    residents_of: dict[str, dict[str, str]] = field(default_factory=dict)
    actions: dict[str, dict[str, ActionOut]] = field(default_factory=dict)
    links: dict[str, set[str]] = field(default_factory=dict)
    reminded: set[str] = field(default_factory=set)
    staff_devices: dict[tuple[str, str], StaffDevice] = field(default_factory=dict)  # (staff, device id)
    ratings: dict[tuple[str, str], Rating] = field(default_factory=dict)  # (conversation, target)
    pulses: dict[str, Pulse] = field(default_factory=dict)
    # (pulse, subscriber) -> (where the answer counts, answered?): never the answer itself
    pulse_sent: dict[tuple[str, str], tuple[PulseSent, bool]] = field(default_factory=dict)
    sms: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # the SMS table (tests/sms_fakes.py)
    # The contacts table's stream: changes not yet consumed, the consumer (fake_services installs
    # the real use case, usecases.counters.apply_changes: a stream without delay), the markers
    # of the records applied and the newest applied (`as_of`).
    stream: list[ContactChange] = field(default_factory=list)
    stream_consumer: Callable[[list[ContactChange]], Any] | None = None
    stream_marks: set[str] = field(default_factory=set)
    stream_as_of: dict[str, str] = field(default_factory=dict)  # ledger ("contacts", "conversations", "ratings") -> as_of
    # The conversations table's stream, alike (usecases.counters.apply_conversation_changes).
    conversation_stream: FakeStream[ConversationChange] = field(default_factory=lambda: FakeStream("fake-conv"))
    # The neighbourhoods table's stream of ratings given (usecases.counters.apply_rating_changes).
    rating_stream: FakeStream[RatingChange] = field(default_factory=lambda: FakeStream("fake-rating"))
    reachable: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def settled(self, conv: Conversation) -> Conversation:
        """A conversation as stored after a change: a claim ends when it stops waiting."""
        if conv.status == "waiting":
            return conv
        self.claim_staff.pop(conv.id, None)
        return replace(conv, claimed_by=None, claim_expires_at=None)

    # -- shared write helpers (what one transaction puts besides its own item) ---------------
    def add_counters(self, deltas: Mapping[tuple[str, str], int]) -> None:
        for (key, bucket), delta in deltas.items():
            item = self.stats.setdefault((key, bucket), {})
            item["contacts"] = item.get("contacts", 0) + delta

    def append_access(self, record: AccessRecord) -> None:
        if any(r.at_id == record.at_id and r.day == record.day for r in self.access):
            raise ConditionFailed()  # an entry is never overwritten
        self.access.append(record)

    def accepts_words(self, subscriber_id: str) -> bool:
        return subscriber_id in self.subscribers and subscriber_id not in self.erasing

    def hold_words(self, holder: WordHolder) -> None:
        self.words.setdefault(holder.owner, {})[holder.ref] = holder.expires_at

    def put_inbox(self, copy: InboxCopy) -> None:
        self.inbox.setdefault(copy.subscriber_id, {})[copy.sort_key] = (copy.item, copy.expires_at)

    def add_log_entry(self, record: ContactRecord) -> None:
        """store.contacts.add_log_entry: the contact (its counters and engagement items follow
        from the stream), every route alike."""
        self.changed(None, record)

    def changed(self, old: ContactRecord | None, new: ContactRecord) -> None:
        """A contact written: its stream record, consumed at once when a consumer is installed."""
        self.stream.append(ContactChange(event_id=f"fake-{new.id}-{new.version}",
                                         event="INSERT" if old is None else "MODIFY", old=old, new=new))
        if self.stream_consumer is not None:
            pending, self.stream = self.stream, []
            self.stream_consumer(pending)

    def put_conversation(self, conv: Conversation) -> None:
        """A conversation item written: its stream record (old and new images), consumed at once
        when a consumer is installed."""
        old = self.conversations.get(conv.id)
        self.conversations[conv.id] = conv
        stream = self.conversation_stream
        stream.emit(ConversationChange(event_id=stream.next_id(), event="INSERT" if old is None else "MODIFY",
                                       old=old, new=conv))

    def move_engagement(self, moves: Sequence[MemberMove]) -> None:
        """Member items get their deltas; counter items the distinct-count change they cause
        (the domain's `settle`, on the state the item holds: what the store's retry converges to)."""
        for move in moves:
            member = self.stats.setdefault((move.key, move.bucket), {})
            _, changes = engagement_rules.settle(member, move.deltas)
            for name, delta in move.deltas.items():
                member[name] = member.get(name, 0) + delta
            self.stats_expiry[(move.key, move.bucket)] = move.expires_at
            for item in move.counters:
                counter = self.stats.setdefault(item, {})
                for name, delta in changes.items():
                    counter[name] = counter.get(name, 0) + delta
                self.stats_expiry[item] = move.expires_at


def _one_shard(deltas: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Counter buckets as stored: `<bucket>|<shard>` (one shard here; readers strip it)."""
    return {(key, f"{bucket}|00"): delta for (key, bucket), delta in deltas.items() if delta}


def _counters(db: FakeDatabase, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for (item_key, bucket), attributes in db.stats.items():
        if item_key == key and bucket_from <= bucket <= bucket_to + "\uffff" and "contacts" in attributes:
            name = bucket.rsplit("|", 1)[0]
            totals[name] = totals.get(name, 0) + attributes["contacts"]
    return sorted(totals.items())


# --- repositories ------------------------------------------------------------------------------

WORD_FIELDS = ("notes", "handle_pseudonym")


class FakeContacts:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def create(self, record: ContactRecord, audit: AccessRecord, words: WordHolder | None = None) -> Literal["created"]:
        with self.db.lock:
            if record.id in self.db.contacts:
                raise ConditionFailed(self.db.contacts[record.id])
            if words is not None and not self.db.accepts_words(words.subscriber_id):
                raise SubscriberGone()
            self.db.append_access(audit)
            self.db.contacts[record.id] = record
            if words is not None:
                self.db.hold_words(words)
            self.db.add_log_entry(record)
        return "created"

    def redact_words(self, contact_id: str, erased_digest: str, audit: AccessRecord) -> bool:
        with self.db.lock:
            old = self.db.contacts.get(contact_id)
            if old is None:
                return False
            self.db.append_access(audit)
            self.db.contacts[contact_id] = replace(old, notes=None, handle_pseudonym=None,
                                                   content_digest=erased_digest, version=old.version + 1)
            self.db.changed(old, self.db.contacts[contact_id])
            for amendment in self.db.amendments.get(contact_id, []):
                for change in amendment["changes"]:
                    if change.get("field") in WORD_FIELDS and (change.get("old") is not None
                                                               or change.get("new") is not None):
                        change.update(old=None, new=None, erased=True)
        return True

    def get(self, contact_id: str) -> ContactRecord | None:
        return self.db.contacts.get(contact_id)

    def amend(self, old: ContactRecord, new: ContactRecord, changes: list[Change], audit: AccessRecord) -> None:
        with self.db.lock:
            current = self.db.contacts.get(new.id)
            kept = self.db.amendments.setdefault(new.id, [])
            if current is None or current.version != old.version or any(a["version"] == new.version for a in kept):
                raise ConditionFailed()
            self.db.append_access(audit)
            self.db.contacts[new.id] = new
            kept.append({"version": new.version, "at": new.updated_at, "by": audit.actor, "by_role": audit.role,
                         "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in changes]})
            self.db.changed(current, new)

    def amendments(self, contact_id: str) -> list[dict[str, Any]]:
        copied: list[dict[str, Any]] = json.loads(json.dumps(self.db.amendments.get(contact_id, [])))
        return sorted(copied, key=lambda a: int(a["version"]))

    def list_contacts(self, *, author: str | None = None, team: str | None = None, occurred_from: str | None,
                      occurred_to: str | None, kind: str | None, limit: int, position: Position) -> ContactPage:
        """By author or team, newest first (PynamoDB's `limit` counts items after the kind filter)."""
        index = [c for c in self.db.contacts.values() if (c.author == author if author else c.team == team)
                 and (occurred_from is None or c.occurred_at >= occurred_from)
                 and (occurred_to is None or c.occurred_at <= occurred_to) and (kind is None or c.kind == kind)]
        index.sort(key=_occurred_key, reverse=True)
        records, next_position = _page(index, _occurred_key, limit, position, descending=True)
        return ContactPage(records=records, position=next_position)

    def counters(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]:
        return _counters(self.db, key, bucket_from, bucket_to)


def _occurred_key(c: ContactRecord) -> str:
    return f"{c.occurred_at}#{c.id}"


class FakeAreas:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def put(self, record: AreaRecord) -> bool:
        created = record.id not in self.db.areas
        self.db.areas[record.id] = record
        return created

    def get(self, area_id: str) -> AreaRecord | None:
        return self.db.areas.get(area_id)

    def page(self, limit: int, position: Position) -> tuple[list[AreaRecord], Position]:
        return _page(sorted(self.db.areas.values(), key=lambda a: a.id), lambda a: a.id, limit, position)

    def area_for_cell(self, cell: str) -> str | None:
        return CellAreaIndex(self.db.areas.values()).area_for_cell(cell)

    def all_areas(self) -> list[AreaRecord]:
        return sorted(self.db.areas.values(), key=lambda a: a.id)


class FakeTeams:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def get(self, team_id: str) -> TeamRecord | None:
        return self.db.teams.get(team_id)

    def put(self, record: TeamRecord) -> bool:
        created = record.id not in self.db.teams
        self.db.teams[record.id] = record
        return created

    def put_strength(self, record: StrengthRecord) -> bool:
        key = (record.team, record.from_day)
        created = key not in self.db.strengths
        self.db.strengths[key] = record
        return created

    def strengths(self, team_id: str, first_day: str, last_day: str) -> list[StrengthRecord]:
        found = []
        for (team, day), record in sorted(self.db.strengths.items(), reverse=True):
            if team != team_id or day > last_day:
                continue
            found.append(record)
            if day <= first_day:
                break
        return found


class _Tallied:
    """Supports and attendances: one per resident, counted once (a transaction in DynamoDB)."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def _count_once(self, record_id: str, subscriber_id: str, at: str) -> bool:
        with self.db.lock:
            residents = self.db.residents_of.setdefault(record_id, {})
            if subscriber_id in residents:
                return False
            residents[subscriber_id] = at
            self.db.tallies[record_id] = self.db.tallies.get(record_id, 0) + 1
            return True

    def _residents(self, record_id: str) -> Iterator[str]:
        yield from sorted(self.db.residents_of.get(record_id, {}))

    def erase_subscriber(self, subscriber_id: str) -> int:
        """Every item of the table naming the resident (index by_subscriber): supports,
        attendances, ratings and pulse-sent items."""
        with self.db.lock:
            removed = [r for r in self.db.residents_of.values() if r.pop(subscriber_id, None) is not None]
            ratings = [k for k, r in self.db.ratings.items() if r.subscriber_id == subscriber_id]
            sent = [k for k in self.db.pulse_sent if k[1] == subscriber_id]
            for key in ratings:
                del self.db.ratings[key]
            for pair in sent:
                del self.db.pulse_sent[pair]
            return len(removed) + len(ratings) + len(sent)


class FakePriorities(_Tallied):
    def create(self, priority: Priority) -> Priority | None:
        with self.db.lock:
            if priority.id in self.db.priorities:
                return self.db.priorities[priority.id]
            self.db.priorities[priority.id] = priority
            return None

    def get(self, priority_id: str) -> tuple[Priority, int] | None:
        found = self.db.priorities.get(priority_id)
        return (found, self.db.tallies.get(priority_id, 0)) if found else None

    def replace(self, old: Priority, new: Priority) -> bool:
        with self.db.lock:
            if self.db.priorities.get(old.id) != old:
                return False
            self.db.priorities[old.id] = new
            return True

    def of_area(self, area_id: str) -> list[tuple[Priority, int]]:
        found = sorted((p for p in self.db.priorities.values() if p.area_id == area_id), key=lambda p: (p.proposed_at, p.id))
        return [(p, self.db.tallies.get(p.id, 0)) for p in found]

    def support(self, priority_id: str, subscriber_id: str, at: str, expires_at: datetime) -> bool:
        if priority_id not in self.db.priorities:
            raise StoreNotFound()
        return self._count_once(priority_id, subscriber_id, at)

    def supporters(self, priority_id: str) -> Iterator[str]:
        return self._residents(priority_id)

    def add_action(self, priority_id: str, action: ActionOut) -> ActionOut | None:
        with self.db.lock:
            actions = self.db.actions.setdefault(priority_id, {})
            if action.id in actions:
                return actions[action.id]
            actions[action.id] = action
            return None

    def actions(self, priority_id: str) -> list[ActionOut]:
        return sorted(self.db.actions.get(priority_id, {}).values(), key=lambda a: a.id)

    def link(self, priority_id: str, conversation_id: str, at: str) -> None:
        self.db.links.setdefault(priority_id, set()).add(conversation_id)

    def links(self, priority_id: str) -> list[str]:
        return sorted(self.db.links.get(priority_id, set()))


class FakeMeetings(_Tallied):
    def create(self, meeting: Meeting) -> Meeting | None:
        with self.db.lock:
            if meeting.id in self.db.meetings:
                return self.db.meetings[meeting.id]
            self.db.meetings[meeting.id] = meeting
            return None

    def get(self, meeting_id: str) -> tuple[Meeting, int] | None:
        found = self.db.meetings.get(meeting_id)
        return (found, self.db.tallies.get(meeting_id, 0)) if found else None

    def of_area(self, area_id: str, start_from: str) -> list[tuple[Meeting, int]]:
        found = sorted((m for m in self.db.meetings.values() if m.area_id == area_id and m.start >= start_from),
                       key=lambda m: (m.start, m.id))
        return [(m, self.db.tallies.get(m.id, 0)) for m in found]

    def save_record(self, old: Meeting, new: Meeting) -> bool:
        with self.db.lock:
            if self.db.meetings.get(old.id) != old:
                return False
            self.db.meetings[old.id] = new
            return True

    def attend(self, meeting_id: str, subscriber_id: str, at: str, expires_at: datetime) -> bool:
        if meeting_id not in self.db.meetings:
            raise StoreNotFound()
        return self._count_once(meeting_id, subscriber_id, at)

    def attendees(self, meeting_id: str) -> Iterator[str]:
        return self._residents(meeting_id)

    def due_reminders(self, day: str, start_by: str, limit: int) -> list[Meeting]:
        due = [m for m in self.db.meetings.values()
               if m.id not in self.db.reminded and m.remind_at[:10] == day and m.start <= start_by + "\uffff"]
        return sorted(due, key=lambda m: (m.start, m.id))[:limit]

    def reminded(self, meeting_id: str) -> bool:
        with self.db.lock:
            if meeting_id in self.db.reminded:
                return False
            self.db.reminded.add(meeting_id)
            return True


FIGURES = ("targeted", "sent", "failed", "read", "responses")


def _same_state(stored: AlertRecord, old: AlertRecord) -> bool:
    pending = stored.pending.id if stored.pending else None
    return (stored.status, stored.revision, stored.updated_at, pending) == (
        old.status, old.revision, old.updated_at, old.pending.id if old.pending else None)


class FakeAlerts:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def create(self, record: AlertRecord) -> None:
        with self.db.lock:
            if record.id in self.db.alerts:
                raise ConditionFailed()
            self.db.alerts[record.id] = replace(record, figures={})

    def get(self, alert_id: str) -> AlertRecord | None:
        record = self.db.alerts.get(alert_id)
        return replace(record, figures={name: record.figures.get(name, 0) for name in FIGURES}) if record else None

    def replace(self, old: AlertRecord, new: AlertRecord) -> None:
        """If still in the state `old` was read in; counters are kept (only ever ADDed)."""
        with self.db.lock:
            stored = self.db.alerts.get(new.id)
            if stored is None or not _same_state(stored, old):
                raise StaleAlert()
            self.db.alerts[new.id] = replace(new, figures=dict(stored.figures))

    def add_figures(self, alert_id: str, deltas: Mapping[str, int]) -> None:
        with self.db.lock:
            stored = self.db.alerts.get(alert_id)
            if stored is None:
                return
            figures = dict(stored.figures)
            for name, delta in deltas.items():
                if delta and name in FIGURES:
                    figures[name] = figures.get(name, 0) + delta
            self.db.alerts[alert_id] = replace(stored, figures=figures)

    def team_page(self, team: str, *, status: str | None, now_text: str, limit: int,
                  start: Position) -> tuple[list[AlertRecord], Position]:
        """Newest first (PynamoDB's `limit` counts items after the status filter)."""
        now = parse_rfc3339(now_text)
        index = sorted((a for a in self.db.alerts.values()
                        if a.team == team and (status is None or a.status_at(now) == status)),
                       key=_created_key, reverse=True)
        records, position = _page(index, _created_key, limit, start, descending=True)
        return [r for r in (self.get(a.id) for a in records) if r], position

    def many(self, alert_ids: Iterable[str]) -> list[AlertRecord]:
        return [r for r in (self.get(i) for i in dict.fromkeys(alert_ids)) if r is not None]

    def put_cells(self, alert_id: str, cells: Iterable[str], expires: str) -> None:
        for cell in cells:
            self.db.alert_cells.setdefault(cell, {})[alert_id] = (expires, parse_rfc3339(expires) + timedelta(days=1))

    def delete_cells(self, alert_id: str, cells: Iterable[str]) -> None:
        for cell in cells:
            self.db.alert_cells.get(cell, {}).pop(alert_id, None)

    def alerts_in_cell(self, cell: str, now: datetime) -> list[str]:
        now_text = to_rfc3339(now)
        return [i for i, (expires, _) in sorted(self.db.alert_cells.get(cell, {}).items()) if expires > now_text]

    def public_live(self, now: datetime, area_id: str | None, limit: int = 100) -> list[AlertRecord]:
        """The sparse public index: published or cancelled with a message, not past `expires`."""
        now_text = to_rfc3339(now)
        index = sorted((a for a in self.db.alerts.values()
                        if a.status in ("published", "cancelled") and a.messages and a.expires > now_text),
                       key=lambda a: (a.expires, a.id))[:limit]
        return [r for r in (self.get(a.id) for a in index) if r and (area_id is None or r.area.area_id == area_id)]


def _created_key(a: AlertRecord) -> str:
    return f"{a.created_at}#{a.id}"


DELIVERY_SHARDS = 64  # as chalicelib/store/deliveries.py: the audience is paged per shard


def _shard_of(subscriber_id: str) -> int:
    return zlib.crc32(subscriber_id.encode()) % DELIVERY_SHARDS


class FakeDeliveries:
    DELIVERY_SHARDS = DELIVERY_SHARDS

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def claim(self, alert_id: str, subscriber_id: str, revision: int, *, state: str, now_text: str,
              expires_at: datetime, release: tuple[str, str] | None = None) -> Claim | None:
        """New to this message, or this message's recorded `retry`: claimed (once)."""
        with self.db.lock:
            old = self.db.deliveries.get((alert_id, subscriber_id))
            if old is not None and not (old.revision < revision or (old.revision == revision and old.state == "retry")):
                return None
            self.db.deliveries[(alert_id, subscriber_id)] = DeliveryItem(
                alert_id=alert_id, subscriber_id=subscriber_id, revision=revision, state=state, claimed_at=now_text,
                expires_at=expires_at, attempts=(old.attempts if old else 0) + 1,
                read_at=old.read_at if old else None, release=release)
            return Claim(subscriber_id, old.state if old else None, old.revision if old else None)

    def claim_many(self, alert_id: str, revision: int, wanted: list[Wanted], *, now_text: str,
                   expires_at: datetime) -> dict[str, Claim]:
        """As the store: new-to-this-message items claimed in one go (first message: new to the
        alert), the rest one by one (which also reclaims retries)."""
        first = revision == 0
        claims: dict[str, Claim] = {}
        with self.db.lock:
            for subscriber_id, state, release in wanted:
                old = self.db.deliveries.get((alert_id, subscriber_id))
                if (old is None) if first else (old is None or old.revision < revision):
                    self.db.deliveries[(alert_id, subscriber_id)] = DeliveryItem(
                        alert_id=alert_id, subscriber_id=subscriber_id, revision=revision, state=state,
                        claimed_at=now_text, expires_at=expires_at, attempts=1,
                        read_at=old.read_at if old else None, release=release)
                    claims[subscriber_id] = Claim(subscriber_id, None if first else "claimed",
                                                  None if first else revision - 1)
                    continue
                single = self.claim(alert_id, subscriber_id, revision, state=state, now_text=now_text,
                                    expires_at=expires_at, release=release)
                if single is not None:
                    claims[subscriber_id] = single
        return claims

    def mark(self, alert_id: str, subscriber_id: str, revision: int, state: str) -> None:
        with self.db.lock:
            item = self.db.deliveries.get((alert_id, subscriber_id))
            if item is not None and item.revision == revision:
                item.state = state

    def mark_retry(self, alert_id: str, subscriber_id: str, revision: int, max_attempts: int) -> bool:
        """As the store: `retry` while fewer than `max_attempts` claims, else `failed`."""
        with self.db.lock:
            item = self.db.deliveries.get((alert_id, subscriber_id))
            if item is None or item.revision != revision:
                return False
            item.state = "retry" if item.attempts < max_attempts else "failed"
            return item.state == "retry"

    def audience_page(self, alert_id: str, shard: int, limit: int, start: Position) -> tuple[list[str], Position]:
        ids = sorted(s for (a, s) in self.db.deliveries if a == alert_id and _shard_of(s) == shard)
        return _page(ids, lambda s: s, limit, start)

    def get(self, alert_id: str, subscriber_id: str) -> Delivery | None:
        item = self.db.deliveries.get((alert_id, subscriber_id))
        if item is None:
            return None
        return Delivery(alert_id=item.alert_id, subscriber_id=item.subscriber_id, revision=item.revision,
                        state=item.state, attempts=item.attempts, claimed_at=item.claimed_at, read_at=item.read_at,
                        expires_at=item.expires_at)

    def receipt(self, alert_id: str, subscriber_id: str, now_text: str) -> bool:
        with self.db.lock:
            item = self.db.deliveries.get((alert_id, subscriber_id))
            if item is None or item.read_at is not None:
                return False
            item.read_at = now_text
            FakeAlerts(self.db).add_figures(alert_id, {"read": 1})
            return True

    def held_due(self, bucket: str, until_key: str) -> list[Held]:
        due = sorted((i for i in self.db.deliveries.values()
                      if i.release and i.release[0] == bucket and i.release[1] <= until_key and i.state == "held"),
                     key=lambda i: i.release[1] if i.release else "")
        return [Held(alert_id=i.alert_id, subscriber_id=i.subscriber_id, revision=i.revision) for i in due]

    def release(self, alert_id: str, subscriber_id: str, revision: int) -> bool:
        with self.db.lock:
            item = self.db.deliveries.get((alert_id, subscriber_id))
            if item is None or item.revision != revision or item.state != "held":
                return False
            item.state, item.release = "claimed", None
            return True

    def erase_subscriber(self, subscriber_id: str) -> int:
        with self.db.lock:
            keys = [k for k in self.db.deliveries if k[1] == subscriber_id]
            for k in keys:
                del self.db.deliveries[k]
            return len(keys)


class FakeSubscribers:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def create(self, record: SubscriberRecord) -> None:
        with self.db.lock:
            if record.id in self.db.subscribers:
                raise ConditionFailed()
            self.db.subscribers[record.id] = record

    def get(self, subscriber_id: str) -> SubscriberRecord | None:
        return self.db.subscribers.get(subscriber_id)

    def save(self, record: SubscriberRecord) -> None:
        """Replaces the whole item (the erasure mark too, as the store's put does)."""
        with self.db.lock:
            if record.id not in self.db.subscribers:
                raise StoreNotFound()
            self.db.subscribers[record.id] = record
            self.db.erasing.discard(record.id)

    def set_secret(self, subscriber_id: str, secret: str) -> bool:
        with self.db.lock:
            record = self.db.subscribers.get(subscriber_id)
            if record is None or record.secret is not None:
                return False
            self.db.subscribers[subscriber_id] = replace(record, secret=secret)
            return True

    def mark_erasing(self, subscriber_id: str) -> None:
        if subscriber_id in self.db.subscribers:
            self.db.erasing.add(subscriber_id)

    def many(self, subscriber_ids: Iterable[str]) -> dict[str, SubscriberRecord]:
        return {i: self.db.subscribers[i] for i in dict.fromkeys(subscriber_ids) if i in self.db.subscribers}

    def downgrade_to_inbox(self, subscriber_id: str, gone_type: str) -> None:
        with self.db.lock:
            record = self.db.subscribers.get(subscriber_id)
            if record is not None:
                self.db.subscribers[subscriber_id] = replace(record, channel={"type": "inbox", "gone": gone_type})

    def write_index(self, subscriber_id: str, cells: Iterable[str], shapes: list[dict[str, Any]],
                    expires_at: Any) -> None:
        all_cells = sorted(cells)
        stored = json.loads(json.dumps(shapes))
        for cell in all_cells:
            self.db.subscriptions.setdefault(cell, {})[subscriber_id] = (stored, all_cells, expires_at)

    def delete_index(self, subscriber_id: str, cells: Iterable[str]) -> None:
        for cell in cells:
            self.db.subscriptions.get(cell, {}).pop(subscriber_id, None)

    def index_page(self, cell: str, limit: int, start: Position) -> tuple[
            list[tuple[str, list[dict[str, Any]], list[str]]], Position]:
        entries = self.db.subscriptions.get(cell, {})
        ids, position = _page(sorted(entries), lambda s: s, limit, start)
        return [(s, json.loads(json.dumps(entries[s][0])), list(entries[s][1])) for s in ids], position

    def put_inbox(self, entries: Iterable[InboxCopy]) -> None:
        for copy in entries:
            self.db.put_inbox(copy)

    def inbox_page(self, subscriber_id: str, limit: int, start: Position) -> tuple[list[dict[str, Any]], Position]:
        box = self.db.inbox.get(subscriber_id, {})
        keys, position = _page(sorted(box, reverse=True), lambda k: k, limit, start, descending=True)
        return [json.loads(box[k][0]) for k in keys], position

    def erase(self, record: SubscriberRecord) -> None:
        with self.db.lock:
            self.delete_index(record.id, record.cells)
            self.db.inbox.pop(record.id, None)
            self.db.subscribers.pop(record.id, None)
            self.db.erasing.discard(record.id)


class FakeWords:
    CONTACTS = "contacts"

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def split_ref(self, ref: str) -> tuple[str, str]:
        table, _, record_id = ref.partition("#")
        return table, record_id

    def refs(self, owner: str) -> Iterator[str]:
        yield from sorted(self.db.words.get(owner, {}))

    def forget(self, owner: str, done: Iterable[str]) -> None:
        held = self.db.words.get(owner, {})
        for ref in done:
            held.pop(ref, None)


def _entry(record: AccessRecord) -> AccessEntryOut:
    return AccessEntryOut(at=record.at_text, actor=record.actor, role=record.role, action=record.action,
                          request_id=record.request_id, record_id=record.record_id,
                          query=json.loads(q) if (q := record.query_json()) else None,
                          row_count=record.row_count, purpose=record.purpose)


class FakeAccessLog:
    """Append-only, like the store (no update, no delete)."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def append(self, record: AccessRecord) -> None:
        with self.db.lock:
            self.db.append_access(record)

    def entries_by_actor(self, actor: str, *, at_from: str, at_to: str, limit: int,
                         position: Position) -> tuple[list[AccessEntryOut], Position]:
        index = sorted((r for r in self.db.access if r.actor == actor and at_from <= r.at_id <= at_to + "#~"),
                       key=lambda r: r.at_id, reverse=True)
        records, next_position = _page(index, lambda r: r.at_id, limit, position, descending=True)
        return [_entry(r) for r in records], next_position

    def entries_by_day(self, days: list[str], *, at_from: str, at_to: str, limit: int, position: Position,
                       max_days: int) -> tuple[list[AccessEntryOut], Position]:
        def query_day(day: str, wanted: int, start: Position) -> _Result[AccessEntryOut]:
            index = sorted((r for r in self.db.access if r.day == day and at_from <= r.at_id <= at_to + "#~"),
                           key=lambda r: r.at_id, reverse=True)
            read = _query(index, lambda r: r.at_id, wanted, start, descending=True)
            out: _Result[AccessEntryOut] = _Result(_entry(r) for r in read)
            out.last_evaluated_key = read.last_evaluated_key
            return out

        return _walk(days, position, limit, query_day, max_partitions=max_days, key="d")

    def entries(self) -> list[AccessRecord]:
        return list(self.db.access)


class FakeAlertHistory:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def alerts_published_between(self, published_from: str, published_to: str, position: Position, limit: int,
                                 *, now: datetime | None = None) -> tuple[list[AlertFigures], Position]:
        months = history.months_desc(parse_rfc3339(published_from), parse_rfc3339(published_to))

        def query_month(month: str, wanted: int, start: Position) -> _Result[AlertRecord]:
            index = sorted((a for a in self.db.alerts.values() if a.messages and a.messages[0][1][:7] == month
                            and published_from <= _published_key(a) <= published_to + "#~"),
                           key=_published_key, reverse=True)
            return _query(index, _published_key, wanted, start, descending=True)

        records, next_position = _walk(months, position, limit, query_month)
        at = now or datetime.now(UTC)
        return [AlertFigures(id=r.id, team=r.team, headline=r.content.headline, status=r.status_at(at),
                             published_at=r.messages[0][1], **{n: r.figures.get(n, 0) for n in FIGURES})
                for r in records], next_position


def _published_key(a: AlertRecord) -> str:
    return f"{a.messages[0][1]}#{a.id}"


class FakeEngagement:
    KEY_ATTRIBUTES = frozenset({"contacts"})

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def items(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, dict[str, int]]]:
        return [(bucket, {n: v for n, v in attributes.items() if n not in self.KEY_ATTRIBUTES})
                for (item_key, bucket), attributes in sorted(self.db.stats.items())
                if item_key == key and bucket_from <= bucket <= bucket_to]


class FakeHistory:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def contacts_page(self, plan: Plan, *, months: list[str], occurred_from: str, occurred_to: str, limit: int,
                      position: Position) -> RowPage:
        if plan.empty:
            return RowPage([], None)
        rows = [history.index_attributes(c) for c in self.db.contacts.values()]

        def query_month(month: str, wanted: int, start: Position) -> _Result[dict[str, str | None]]:
            partition = plan.partition(month)
            index = sorted((r for r in rows if r[plan.index] == partition
                            and occurred_from <= str(r[history.SORT_ATTRIBUTE]) <= occurred_to + "#~"),
                           key=_history_key, reverse=True)
            return _query(index, _history_key, wanted, start, descending=True)

        found, next_position = _walk(months, position, limit, query_month)
        return RowPage([str(r[history.ROW_ATTRIBUTE]) for r in found], next_position)


def _history_key(row: Mapping[str, str | None]) -> str:
    return str(row[history.SORT_ATTRIBUTE])


class FakeRateCounters:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def hit(self, key: str, *, limit: int, window_ends: datetime) -> bool:
        with self.db.lock:
            hits, _ = self.db.rate_hits.get(key, (0, window_ends))
            if hits >= limit:
                return False
            self.db.rate_hits[key] = (hits + 1, window_ends + timedelta(minutes=5))
            return True


class FakeHealth:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def store_reachable(self) -> bool:
        return self.db.reachable


class FakeLedger:
    """store/stream_ledger.py's Ledger on a FakeDatabase: markers, sums on one shard, engagement settled."""

    name = "contacts"
    shard_buckets = True  # as the store's Ledger: off where buckets carry their own shard

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def apply_part(self, part: Part, now: datetime) -> list[str]:
        with self.db.lock:
            applied = [event_id for event_id in part.event_ids if event_id in self.db.stream_marks]
            if applied:
                return applied
            self.db.stream_marks.update(part.event_ids)
            self.db.add_counters(_one_shard(part.sums()) if self.shard_buckets else part.sums())
            self.db.move_engagement(part.member_moves())
        return []

    def advance_as_of(self, at: str) -> None:
        with self.db.lock:
            if at > self.db.stream_as_of.get(self.name, ""):
                self.db.stream_as_of[self.name] = at

    def as_of(self) -> str | None:
        return self.db.stream_as_of.get(self.name)


class FakeContactStream(FakeLedger):
    """store/contact_stream.py on a FakeDatabase."""

    def decode(self, record: Mapping[str, Any]) -> ContactChange:
        return _decoded(record)


class FakeConversationStream(FakeLedger):
    """store/conversation_stream.py on a FakeDatabase."""

    name = "conversations"

    def decode(self, record: Mapping[str, Any]) -> ConversationChange:
        return _decoded(record)


class FakeRatingStream(FakeLedger):
    """store/rating_stream.py on a FakeDatabase."""

    name = "ratings"
    shard_buckets = False

    def decode(self, record: Mapping[str, Any]) -> RatingChange:
        return _decoded(record)


def _decoded(record: Mapping[str, Any]) -> StreamRecord[Any]:
    change = record.get("change")
    if not isinstance(change, StreamRecord):
        raise ValueError("the fake stream carries decoded changes only")
    return change


# --- conversations -----------------------------------------------------------------------------


class FakeConversations:
    """ConversationStore on a FakeDatabase. One instance is one warm container: its `hints` are
    the states it last read or wrote (`last_seen`), which may be stale when another instance on
    the same database wrote since; the write's condition then refuses with the current state."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.hints: dict[str, Conversation] = {}

    # -- writes ---------------------------------------------------------------------------------
    def _check_side(self, write: Write) -> None:
        if write.words is not None and not self.db.accepts_words(write.words.subscriber_id):
            raise ResidentGone()

    def _apply_side(self, write: Write) -> None:
        db = self.db
        db.contacts[write.contact.id] = write.contact
        db.append_access(write.audit)
        if write.inbox is not None:
            db.put_inbox(write.inbox)
        if write.words is not None:
            db.hold_words(write.words)
        db.add_log_entry(write.contact)

    def start(self, conversation: Conversation, message: Message, write: Write) -> None:
        with self.db.lock:
            self._check_side(write)
            if conversation.id in self.db.conversations:
                raise ConversationExists(self.db.conversations[conversation.id])
            if message.id in self.db.messages.get(conversation.id, {}) or write.contact.id in self.db.contacts:
                raise VersionChanged()  # a derived id collided
            self._apply_side(write)
            self.db.put_conversation(replace(conversation, last_message_id=message.id))
            self.db.messages.setdefault(conversation.id, {})[message.id] = message
            self.hints[conversation.id] = conversation

    def _assumed(self, old: Conversation) -> Conversation | None:
        """The stored state when it is still `old` (version, owner, team); else VersionChanged."""
        current = self.db.conversations.get(old.id)
        if current is None or (current.version, current.owner, current.team) != (old.version, old.owner, old.team):
            raise self._changed(old.id, current)
        return current

    def append(self, old: Conversation, new: Conversation, message: Message, write: Write) -> None:
        with self.db.lock:
            self._check_side(write)
            existing = self.db.messages.get(old.id, {}).get(message.id)
            if existing is not None:
                raise MessageExists(existing)
            if write.contact.id in self.db.contacts:
                raise self._changed(old.id, None)
            self._assumed(old)
            self._apply_side(write)
            self.db.put_conversation(replace(self.db.settled(new), last_message_id=message.id))
            self.db.messages.setdefault(old.id, {})[message.id] = message
            self.hints[old.id] = new

    def close(self, old: Conversation, new: Conversation, audit: AccessRecord) -> None:
        self._change(old, new, lambda status: status != "closed", audit)

    def count_overdue(self, old: Conversation, new: Conversation) -> None:
        self._change(old, new, lambda status: status == "waiting")

    def escalate(self, old: Conversation, new: Conversation, audit: AccessRecord) -> None:
        self._change(old, new, lambda status: status == "waiting", audit)

    def _change(self, old: Conversation, new: Conversation, status_allows: Callable[[str], bool],
                audit: AccessRecord | None = None) -> None:
        with self.db.lock:
            current = self._assumed(old)
            if current is None or not status_allows(current.status):
                raise self._changed(old.id, current)
            if audit is not None:
                self.db.append_access(audit)
            self.db.put_conversation(self.db.settled(new))
            self.hints[old.id] = new

    def _changed(self, conversation_id: str, current: Conversation | None) -> VersionChanged:
        if current is None:
            self.hints.pop(conversation_id, None)
            return VersionChanged()
        self.hints[conversation_id] = current
        return VersionChanged(current)

    # -- reads ----------------------------------------------------------------------------------
    def overdue(self, days: Iterable[str], due_by: str, limit: int) -> list[Conversation]:
        found: list[Conversation] = []
        for day in days:
            due = sorted((f"{d}#{c.id}", c) for c in self.db.conversations.values()
                         if (d := conversation_rules.due_at(c)) and d[:10] == day and d <= due_by + "\uffff")
            found += [c for _, c in due[:limit - len(found)]]
            if len(found) >= limit:
                break
        return found

    def many(self, conversation_ids: Iterable[str]) -> dict[str, Conversation]:
        return {cid: self.db.conversations[cid] for cid in set(conversation_ids) if cid in self.db.conversations}

    def get(self, conversation_id: str) -> Conversation | None:
        conv = self.db.conversations.get(conversation_id)
        if conv is None:
            self.hints.pop(conversation_id, None)
        else:
            self.hints[conversation_id] = conv
        return conv

    def last_seen(self, conversation_id: str) -> Conversation | None:
        return self.hints.get(conversation_id)

    def get_message(self, conversation_id: str, message_id: str) -> Message | None:
        return self.db.messages.get(conversation_id, {}).get(message_id)

    def messages(self, conversation_id: str) -> list[Message]:
        return self.message_page(conversation_id, conversation_rules.MESSAGES_PAGE_MAX, None)[0]

    def message_page(self, conversation_id: str, limit: int,
                     before: Position) -> tuple[list[Message], Position]:
        ordered = sorted(self.db.messages.get(conversation_id, {}).values(), key=_seq_key, reverse=True)
        newest_first, earlier = _page(ordered, _seq_key, limit, before, descending=True)
        return newest_first[::-1], earlier

    def team_page(self, team: str, status: str, limit: int, start: Position) -> tuple[list[Conversation], Position]:
        waiting = status in ("waiting", "escalated")
        index = sorted((c for c in self.db.conversations.values() if c.team == team
                        and conversation_rules.queue_key(c).startswith(conversation_rules.queue_prefix(status))),
                       key=conversation_rules.queue_key, reverse=not waiting)
        items, position = _page(index, conversation_rules.queue_key, limit, start, descending=not waiting)
        return self._seen(items), position

    def owner_page(self, owner: str, limit: int, start: Position) -> tuple[list[Conversation], Position]:
        index = sorted((c for c in self.db.conversations.values() if c.owner and c.owner == owner),
                       key=conversation_rules.activity_key, reverse=True)
        items, position = _page(index, conversation_rules.activity_key, limit, start, descending=True)
        return self._seen(items), position

    def _seen(self, items: list[Conversation]) -> list[Conversation]:
        for conv in items:
            known = self.hints.get(conv.id)
            if known is None or known.version < conv.version:
                self.hints[conv.id] = conv
        return items

    def figures(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]:
        return _counters(self.db, key, bucket_from, bucket_to)

    # -- erasure --------------------------------------------------------------------------------
    def owned(self, owner: str) -> list[Conversation]:
        return [c for c in self.db.conversations.values() if c.owner and c.owner == owner]

    def erase_resident_words(self, conversation_id: str) -> list[str]:
        contact_ids = []
        box = self.db.messages.get(conversation_id, {})
        for message_id, m in sorted(box.items()):
            if m.sender != "resident":
                continue
            contact_ids.append(m.contact_id)
            if m.text is not None:
                box[message_id] = replace(m, text=None, content_digest="erased")
        return contact_ids

    def erase_message_words(self, conversation_id: str, message_id: str) -> str | None:
        box = self.db.messages.get(conversation_id, {})
        m = box.get(message_id)
        if m is None or m.sender != "resident":
            return None
        box[message_id] = replace(m, text=None, content_digest="erased")
        return m.contact_id

    def forget_owner(self, conversation_id: str, erased_digest: str) -> None:
        self.hints.pop(conversation_id, None)
        conv = self.db.conversations.get(conversation_id)
        if conv is None:
            raise StoreNotFound()
        self.db.put_conversation(replace(conv, owner="", content_digest=erased_digest))

    def unlink_contacts(self, contact_ids: Iterable[str]) -> None:
        for contact_id in contact_ids:
            contact = self.db.contacts.get(contact_id)
            if contact is not None:
                self.db.contacts[contact_id] = replace(contact, handle_pseudonym=None, notes=None)


def _seq_key(m: Message) -> str:
    return f"{m.seq:012d}#{m.id}"


# --- queue, channels, registrar, clock -----------------------------------------------------------


class FakeQueue:
    """Keeps what was enqueued; `refuse` makes it raise QueueUnavailable (nothing kept)."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.messages: list[QueueMessage] = []
        self.refuse = refuse

    def enqueue(self, messages: Sequence[QueueMessage]) -> None:
        from chalicelib.ports import QueueUnavailable

        if self.refuse:
            raise QueueUnavailable("refused (fake)")
        self.messages.extend(messages)

    def alert_work(self) -> list[FanoutMessage]:
        """The alert fan-out messages queued (answer pushes left out)."""
        return [m for m in self.messages if isinstance(m, FanoutMessage)]

    def take_alert_work(self) -> list[FanoutMessage]:
        """Take what is queued; all of it must be alert fan-out work."""
        taken = self.take()
        work = [m for m in taken if isinstance(m, FanoutMessage)]
        assert len(work) == len(taken), taken
        return work

    def take(self) -> list[QueueMessage]:
        taken, self.messages = self.messages, []
        return taken

    def drain(self, process: Callable[[QueueMessage], bool], rounds: int = 20) -> list[bool]:
        """Process until empty (continuations included); the results in order."""
        results: list[bool] = []
        for _ in range(rounds):
            batch = self.take()
            if not batch:
                return results
            results += [process(m) for m in batch]
        raise AssertionError("the queue never emptied")


class FakeConfirmations:
    """Records every confirmation sent (type, address, what it carries, language); answers
    `outcome`. One per contact type in `Fakes.confirmations`."""

    def __init__(self, contact_type: str, outcome: SendOutcome = SendOutcome.SENT) -> None:
        self.type = contact_type
        self.outcome = outcome
        self.sent: list[tuple[str, str, str | None]] = []

    def send_confirmation(self, address: str, secret: str, language: str | None) -> SendOutcome:
        self.sent.append((address, secret, language))
        return self.outcome

    def last(self, address: str) -> str:
        """What the latest confirmation to `address` carried (a link token or a code)."""
        return [secret for to, secret, _ in self.sent if to == address][-1]


class FakeChannel:
    """Records every send. A target's key is its Web Push endpoint, SNS token or endpoint ARN;
    `script[key]` lists outcomes to answer in turn, keys in `failing` get RETRY, others `outcome`."""

    def __init__(self, outcome: SendOutcome = SendOutcome.SENT) -> None:
        self.outcome = outcome
        self.script: dict[str, list[SendOutcome]] = {}
        self.failing: set[str] = set()
        self.sent: list[tuple[str, PushNotification, SendOutcome]] = []
        self._lock = threading.Lock()

    @staticmethod
    def key(target: Mapping[str, Any]) -> str:
        return str(target.get("subscription", {}).get("endpoint") or target.get("token")
                   or target.get("endpoint_arn") or target.get("address", ""))

    def send(self, target: dict[str, Any], notification: PushNotification) -> SendOutcome:
        key = self.key(target)
        with self._lock:
            scripted = self.script.get(key)
            outcome = SendOutcome.RETRY if key in self.failing else (scripted.pop(0) if scripted else self.outcome)
            self.sent.append((key, notification, outcome))
        return outcome

    def sent_to(self, key: str) -> list[Notification]:
        """The alert notifications sent to `key`."""
        return [n for k, n, _ in self.sent if k == key and isinstance(n, Notification)]

    def answers_to(self, key: str) -> list[AnswerNotification]:
        """The team-answer notifications sent to `key`."""
        return [n for k, n, _ in self.sent if k == key and isinstance(n, AnswerNotification)]

    def notices_to(self, key: str) -> list[NoticeNotification]:
        """The notices ("we did", meeting reminders) sent to `key`."""
        return [n for k, n, _ in self.sent if k == key and isinstance(n, NoticeNotification)]

    def delivered(self, key: str) -> int:
        return sum(1 for k, _, outcome in self.sent if k == key and outcome is SendOutcome.SENT)


class FakeRegistrar:
    def __init__(self) -> None:
        self.endpoints: dict[str, tuple[str, str]] = {}
        self.deleted: list[str] = []

    def create(self, platform_app_arn: str, token: str) -> str:
        arn = f"{platform_app_arn}/endpoint-{len(self.endpoints) + 1}"
        self.endpoints[arn] = (platform_app_arn, token)
        return arn

    def delete(self, endpoint_arn: str) -> None:
        self.deleted.append(endpoint_arn)
        self.endpoints.pop(endpoint_arn, None)


class FakeTeamQueue:
    """TeamQueueRepository on a FakeDatabase: previews from the latest message, claims decided
    under the database lock (the store decides them with one conditional write)."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def last_texts(self, conversations: Iterable[Conversation]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for conv in conversations:
            messages = sorted(self.db.messages.get(conv.id, {}).values(), key=_seq_key)
            found[conv.id] = messages[-1].text if messages else None
        return found

    def claim(self, conversation_id: str, *, team: str, staff: str, display: str, expires_at: str,
              now_text: str, audit: AccessRecord) -> bool:
        with self.db.lock:
            conv = self.db.conversations.get(conversation_id)
            if conv is None or conv.team != team or conv.status != "waiting" or not conv.owner:
                return False
            holder = self.db.claim_staff.get(conversation_id)
            if holder not in (None, staff) and conv.claim_expires_at and conv.claim_expires_at > now_text:
                return False
            self.db.append_access(audit)
            self.db.claim_staff[conversation_id] = staff
            self.db.put_conversation(replace(conv, claimed_by=display, claim_expires_at=expires_at))
            return True

    def release(self, conversation_id: str, *, team: str, staff: str | None, audit: AccessRecord) -> bool:
        with self.db.lock:
            conv = self.db.conversations.get(conversation_id)
            holder = self.db.claim_staff.get(conversation_id)
            if conv is None or conv.team != team or holder is None or staff not in (None, holder):
                return False
            self.db.append_access(audit)
            del self.db.claim_staff[conversation_id]
            self.db.put_conversation(replace(conv, claimed_by=None, claim_expires_at=None))
            return True

    def leave_queue(self, conversation: Conversation) -> bool:
        return not conversation.owner and conversation.status == "waiting"  # the fake's queue key follows the owner


class FakeStaff:
    """StaffRepository on a FakeDatabase."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def own_activity(self, author: str, occurred_from: str, occurred_to: str, limit: int) -> list[Activity]:
        mine = sorted((c for c in self.db.contacts.values()
                       if c.author == author and occurred_from <= c.occurred_at < occurred_to),
                      key=lambda c: c.occurred_at)
        return [Activity(occurred_at=c.occurred_at, kind=c.kind, direction=c.direction, platform=c.platform,
                         thread_ref=c.thread_ref, tags=tuple(c.tags)) for c in mine[:limit]]

    def alerts_drafted(self, team: str, author: str, created_from: str, created_to: str) -> list[str]:
        return [a.created_at for a in self.db.alerts.values()
                if a.team == team and a.author == author and created_from <= a.created_at < created_to]

    def add_signup(self, team: str, periods: dict[str, str]) -> None:
        with self.db.lock:
            self.db.add_counters({(f"team:{team}|signups|{grain}", f"{period}|00"): 1 for grain, period in periods.items()})

    def signups(self, team: str, grain: str, period: str) -> int:
        return self.db.stats.get((f"team:{team}|signups|{grain}", f"{period}|00"), {}).get("contacts", 0)

    def device_ids(self, staff: str, limit: int) -> list[str]:
        return sorted(d for (s, d) in self.db.staff_devices if s == staff)[:limit]

    def put_device(self, device: StaffDevice) -> None:
        self.db.staff_devices[(device.staff, device.device_id)] = device

    def delete_device(self, staff: str, device_id: str) -> None:
        self.db.staff_devices.pop((staff, device_id), None)

    def team_devices(self, team: str) -> list[StaffDevice]:
        return [d for _, d in sorted(self.db.staff_devices.items()) if d.team == team]

    def team_has_devices(self, team: str) -> bool:
        return bool(self.team_devices(team))


class FakeClock:
    """A clock tests move by hand: `clock()` is now; `clock.advance(minutes=5)`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class FakeTrust:
    """store/trust.py: a rating and an answered mark each land once; a pulse answer with its counts,
    a rating's counts from the ratings stream (`FakeDatabase.rating_stream`)."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def rate(self, rating: Rating, expires_at: datetime, audit: AccessRecord) -> bool:
        with self.db.lock:
            key = (rating.conversation_id, rating.target)
            if key in self.db.ratings:
                return False
            self.db.append_access(audit)
            self.db.ratings[key] = rating
            stream = self.db.rating_stream
            stream.emit(RatingChange(event_id=stream.next_id(), event="INSERT", old=None, new=rating))
            return True

    def ratings(self, conversation_id: str, subscriber_id: str) -> list[Rating]:
        return [r for r in self.conversation_ratings(conversation_id) if r.subscriber_id == subscriber_id]

    def conversation_ratings(self, conversation_id: str) -> list[Rating]:
        return sorted((r for (c, _), r in self.db.ratings.items() if c == conversation_id), key=lambda r: r.rated_at)


    def create_pulse(self, pulse: Pulse) -> Pulse | None:
        with self.db.lock:
            if pulse.id in self.db.pulses:
                return self.db.pulses[pulse.id]
            self.db.pulses[pulse.id] = pulse
            return None

    def get_pulse(self, pulse_id: str) -> Pulse | None:
        return self.db.pulses.get(pulse_id)

    def advance_pulse(self, pulse_id: str, state: PulseState, added: int, at: str) -> bool:
        with self.db.lock:
            pulse = self.db.pulses.get(pulse_id)
            if pulse is None or pulse.state == "sent":
                return False
            self.db.pulses[pulse_id] = replace(pulse, sent=pulse.sent + added, state=state, updated_at=at)
            return True

    def unsent(self, pulse_id: str, subscriber_ids: Sequence[str]) -> list[str]:
        return [s for s in dict.fromkeys(subscriber_ids) if (pulse_id, s) not in self.db.pulse_sent]

    def mark_sent(self, pulse_id: str, sent: Sequence[PulseSent], at: str, expires_at: datetime) -> None:
        for one in sent:
            self.db.pulse_sent[(pulse_id, one.subscriber_id)] = (one, False)

    def answer_pulse(self, pulse_id: str, subscriber_id: str,
                     counts: Callable[[PulseSent], Mapping[tuple[str, str], int]],
                     inbox: Callable[[PulseSent], InboxCopy], at: str) -> str:
        with self.db.lock:
            found = self.db.pulse_sent.get((pulse_id, subscriber_id))
            if found is None:
                return "not_sent"
            if found[1]:
                return "already"
            self.db.pulse_sent[(pulse_id, subscriber_id)] = (found[0], True)
            self.db.put_inbox(inbox(found[0]))
            self.db.add_counters(counts(found[0]))
            return "answered"

    def counts(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]:
        return sorted((bucket, int(item.get("contacts", 0))) for (k, bucket), item in self.db.stats.items()
                      if k == key and bucket_from <= bucket <= bucket_to)


class FakeRecount:
    """store/recount.py: ADD to stats items under a marker, once per marker."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.markers: set[str] = set()

    def add(self, marker: str, adds: Mapping[tuple[str, str], Mapping[str, int]],
            expires: Mapping[tuple[str, str], datetime], now: datetime) -> bool:
        with self.db.lock:
            if marker in self.markers:
                return False
            self.markers.add(marker)
            for item, numbers in adds.items():
                into = self.db.stats.setdefault(item, {})
                for name, delta in numbers.items():
                    into[name] = into.get(name, 0) + delta
                if item in expires:
                    self.db.stats_expiry[item] = expires[item]
            return True


# --- assembling ----------------------------------------------------------------------------------


def fake_repositories(db: FakeDatabase | None = None) -> Repositories:
    db = db if db is not None else FakeDatabase()
    return Repositories(
        contacts=FakeContacts(db), areas=FakeAreas(db), alerts=FakeAlerts(db), deliveries=FakeDeliveries(db),
        subscribers=FakeSubscribers(db), words=FakeWords(db), access_log=FakeAccessLog(db),
        alert_history=FakeAlertHistory(db), engagement=FakeEngagement(db), history=FakeHistory(db),
        ratelimit=FakeRateCounters(db), health=FakeHealth(db), conversations=FakeConversations(db),
        team_queue=FakeTeamQueue(db), staff=FakeStaff(db), teams=FakeTeams(db), priorities=FakePriorities(db),
        meetings=FakeMeetings(db), trust=FakeTrust(db), sms=FakeSms(db.sms, db.lock), contact_stream=FakeContactStream(db),
        recount=FakeRecount(db),
        conversation_stream=FakeConversationStream(db), rating_stream=FakeRatingStream(db),
    )


class FakeExportSink:
    """Export jobs and files in memory (ports.ExportSink), with the links it handed out."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.links: list[str] = []

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.objects[key] = (body, content_type)

    def get(self, key: str) -> bytes | None:
        found = self.objects.get(key)
        return found[0] if found else None

    def files(self, prefix: str) -> list[StoredFile]:
        return [StoredFile(key, len(body)) for key, (body, _) in sorted(self.objects.items()) if key.startswith(prefix)]

    def link(self, key: str) -> str:
        self.links.append(key)
        return f"memory://{key}"

    def location(self, prefix: str) -> str:
        return f"memory://{prefix}"


@dataclass
class Fakes:
    """What `fake_services` built, for a test to look into or script."""

    db: FakeDatabase
    queue: FakeQueue
    channels: dict[str, FakeChannel]
    registrar: FakeRegistrar
    clock: FakeClock
    confirmations: dict[str, FakeConfirmations] = dataclasses.field(default_factory=lambda: {
        t: FakeConfirmations(t) for t in ("email", "sms")})
    sms: FakeSmsSender = field(default_factory=FakeSmsSender)
    exports: FakeExportSink = dataclasses.field(default_factory=FakeExportSink)


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def fake_services(*, now: datetime = NOW, db: FakeDatabase | None = None, settings: Any = None,
                  **overrides: Any) -> tuple[Services, Fakes]:
    """Services on fakes only (no DynamoDB, SQS, SNS or DNS): (services, the fakes)."""
    from chalicelib.services import build_services
    from chalicelib.settings import SETTINGS
    from chalicelib.usecases import counters as counters_usecase
    from tests.push_dns import TEST_PUSH_RESOLVER

    fakes = Fakes(db=db if db is not None else FakeDatabase(), queue=FakeQueue(),
                  channels={"webpush": FakeChannel(), "sns": FakeChannel()}, registrar=FakeRegistrar(),
                  clock=FakeClock(now))
    arguments: dict[str, Any] = {
        "store": fake_repositories(fakes.db), "clock": fakes.clock, "channels": fakes.channels,
        "fanout_queue": fakes.queue, "sns_endpoints": fakes.registrar, "push_resolver": TEST_PUSH_RESOLVER,
        "confirmation_senders": fakes.confirmations,
        "sms_sender": fakes.sms,
        "export_sink": fakes.exports,
    }
    arguments.update(overrides)
    svc = build_services(settings or SETTINGS, **arguments)
    if fakes.db.stream_consumer is None:
        fakes.db.stream_consumer = lambda changes: counters_usecase.apply_changes(
            svc, [replace(change, at=to_rfc3339(svc.clock())) for change in changes])
    if fakes.db.conversation_stream.consumer is None:
        fakes.db.conversation_stream.consumer = lambda changes: counters_usecase.apply_conversation_changes(
            svc, [replace(change, at=to_rfc3339(svc.clock())) for change in changes])
    if fakes.db.rating_stream.consumer is None:
        fakes.db.rating_stream.consumer = lambda changes: counters_usecase.apply_rating_changes(
            svc, [replace(change, at=to_rfc3339(svc.clock())) for change in changes])
    return svc, fakes


def records_of(kind: type[T], items: Iterable[Any]) -> list[T]:
    return [i for i in items if isinstance(i, kind)]


def field_names(record: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(record)]


# --- mypy checks each fake against its port ------------------------------------------------------

_db = FakeDatabase()
_contacts: ContactRepository = FakeContacts(_db)
_areas: AreaRepository = FakeAreas(_db)
_teams: TeamRepository = FakeTeams(_db)
_priorities: PriorityRepository = FakePriorities(_db)
_meetings: MeetingRepository = FakeMeetings(_db)
_trust: TrustRepository = FakeTrust(_db)
_alerts: AlertRepository = FakeAlerts(_db)
_deliveries: DeliveryRepository = FakeDeliveries(_db)
_subscribers: SubscriberRepository = FakeSubscribers(_db)
_confirmations: ConfirmationSender = FakeConfirmations("email")
_words: WordRepository = FakeWords(_db)
_access_log: AccessLogRepository = FakeAccessLog(_db)
_alert_history: AlertHistoryRepository = FakeAlertHistory(_db)
_engagement: EngagementRepository = FakeEngagement(_db)
_export_sink: ExportSink = FakeExportSink()
_history: HistoryRepository = FakeHistory(_db)
_ratelimit: RateCounterRepository = FakeRateCounters(_db)
_health: HealthProbe = FakeHealth(_db)
_contact_stream: ContactStreamRepository = FakeContactStream(_db)
_recount: RecountRepository = FakeRecount(_db)
_conversation_stream: ConversationStreamRepository = FakeConversationStream(_db)
_rating_stream: RatingStreamRepository = FakeRatingStream(_db)
_conversations: ConversationStore = FakeConversations(_db)
_queue: FanoutQueue = FakeQueue()
_channel: Channel = FakeChannel()
_registrar: EndpointRegistrar = FakeRegistrar()
_clock: Clock = FakeClock(NOW)
del _db
