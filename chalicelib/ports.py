"""The ports: what use cases need from the outside world, and nothing that reaches it.

Interfaces (queue, channel, SNS endpoint registrar), the records that cross them and the
exceptions adapters raise. Adapters (chalicelib/store, chalicelib/notify) implement or raise these;
use cases import only this module and get the implementations from `Services`. Kept cheap to import
(msgspec and the standard library only): it is on every cold start.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeAlias, TypeVar

import msgspec

if TYPE_CHECKING:
    from chalicelib.domain.access import AccessEntryOut, AccessRecord
    from chalicelib.domain.alerts import AlertRecord, Notification
    from chalicelib.domain.areas import AreaRecord
    from chalicelib.domain.contact_schemas import Change
    from chalicelib.domain.contacts import ContactRecord
    from chalicelib.domain.conversations import AnswerNotification, Conversation, Message
    from chalicelib.domain.exports import ExportStep
    from chalicelib.domain.history import AlertFigures, Plan
    from chalicelib.domain.meetings import Meeting
    from chalicelib.domain.notices import NoticeNotification
    from chalicelib.domain.priorities import ActionOut, Priority
    from chalicelib.domain.pulses import PulseState, PulseStep
    from chalicelib.domain.sms import SmsJob
    from chalicelib.domain.staff_devices import StaffDevice
    from chalicelib.domain.staff_figures import Activity
    from chalicelib.domain.stream_counts import ContactChange, ConversationChange, Part, RatingChange
    from chalicelib.domain.strength import StrengthRecord
    from chalicelib.domain.subscribers import SubscriberRecord
    from chalicelib.domain.teams import TeamRecord
    from chalicelib.domain.trust import Pulse, PulseSent, Rating


# --- storage -----------------------------------------------------------------------------------


class StoreUnavailable(Exception):
    """The store throttled, timed out or could not be reached after botocore's retries."""


class ConditionFailed(Exception):
    """The write's precondition did not hold (the id exists, or the version is stale).

    `existing` is the item that failed the condition when the write asked for it back
    (ReturnValuesOnConditionCheckFailure=ALL_OLD), so telling a retry from a conflict costs no
    second round trip.
    """

    def __init__(self, existing: ContactRecord | None = None) -> None:
        super().__init__("condition failed")
        self.existing = existing


class SubscriberGone(Exception):
    """A reply's author was erased (or is being erased): its words are not stored."""


class StaleAlert(Exception):
    """The alert changed state meanwhile (a concurrent approve/update/cancel)."""


class NotFound(Exception):
    """The record does not exist (any more)."""


@dataclass(frozen=True)
class WordHolder:
    """A record about to hold the words of `subscriber_id`, indexed under `owner`."""

    subscriber_id: str
    owner: str
    table: str
    record_id: str
    expires_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.table}#{self.record_id}"


# --- storage records and repositories ----------------------------------------------------------


@dataclass(frozen=True)
class ContactPage:
    records: list[ContactRecord]
    position: dict[str, Any] | None


@dataclass(frozen=True)
class RowPage:
    rows: list[str]  # the stored pseudonymisable history rows (JSON), newest first
    position: dict[str, Any] | None


@dataclass(frozen=True)
class Claim:
    subscriber_id: str
    previous_state: str | None  # None: first claim of any message of this alert for the subscriber
    previous_revision: int | None


@dataclass(frozen=True)
class Held:
    alert_id: str
    subscriber_id: str
    revision: int


@dataclass(frozen=True)
class Delivery:
    """One (alert or conversation message, subscriber) delivery record as the use cases read it."""

    alert_id: str
    subscriber_id: str
    revision: int
    state: str  # claimed|held|retry|gone|failed|expired
    attempts: int
    claimed_at: str | None = None
    read_at: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class InboxCopy:
    """One inbox item of a subscriber: `item` is its JSON; it expires (TTL) at `expires_at`."""

    subscriber_id: str
    sort_key: str
    item: str
    expires_at: datetime


Wanted = tuple[str, str, tuple[str, str] | None]  # a delivery to claim: (subscriber id, state, release bucket/key)


class ContactRepository(Protocol):
    """chalicelib/store/contacts.py, as the use cases call it."""

    def create(self, record: ContactRecord, audit: AccessRecord, words: WordHolder | None=None) -> Literal['created']: ...

    def redact_words(self, contact_id: str, erased_digest: str, audit: AccessRecord) -> bool: ...

    def get(self, contact_id: str) -> ContactRecord | None: ...

    def amend(self, old: ContactRecord, new: ContactRecord, changes: list[Change], audit: AccessRecord) -> None: ...

    def amendments(self, contact_id: str) -> list[dict[str, Any]]: ...

    def list_contacts(self, *, author: str | None=None, team: str | None=None, occurred_from: str | None, occurred_to: str | None, kind: str | None, limit: int, position: dict[str, Any] | None) -> ContactPage: ...

    def counters(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]: ...


ChangeT_co = TypeVar("ChangeT_co", covariant=True)


class StreamRepository(Protocol[ChangeT_co]):
    """A counter stream's store: decoding its records, writing a batch's parts exactly once, its
    `as_of` (store/stream_ledger.py; store/contact_stream.py, conversation_stream.py, rating_stream.py)."""

    def decode(self, record: Mapping[str, Any]) -> ChangeT_co: ...

    def apply_part(self, part: Part, now: datetime) -> list[str]: ...

    def advance_as_of(self, at: str) -> None: ...

    def as_of(self) -> str | None: ...


ContactStreamRepository: TypeAlias = StreamRepository["ContactChange"]  # the counters derived from the contacts stream
ConversationStreamRepository: TypeAlias = StreamRepository["ConversationChange"]  # the conversations stream's figure counters
RatingStreamRepository: TypeAlias = StreamRepository["RatingChange"]  # the rating counts, from the neighbourhoods stream


class AreaRepository(Protocol):
    """chalicelib/store/areas.py, as the use cases call it."""

    def put(self, record: AreaRecord) -> bool: ...

    def get(self, area_id: str) -> AreaRecord | None: ...

    def page(self, limit: int, position: dict[str, Any] | None) -> tuple[list[AreaRecord], dict[str, Any] | None]: ...

    def area_for_cell(self, cell: str) -> str | None: ...

    def all_areas(self) -> list[AreaRecord]: ...


class TeamRepository(Protocol):
    """chalicelib/store/teams.py: the teams' public pages."""

    def get(self, team_id: str) -> TeamRecord | None: ...

    def put(self, record: TeamRecord) -> bool: ...

    def put_strength(self, record: StrengthRecord) -> bool: ...

    def strengths(self, team_id: str, first_day: str, last_day: str) -> list[StrengthRecord]:
        """Newest first: records from after `first_day` to `last_day`, and the one in force on `first_day`."""
        ...


class PriorityRepository(Protocol):
    """chalicelib/store/priorities.py: neighbourhood priorities, supports, actions and links."""

    def create(self, priority: Priority) -> Priority | None: ...
    def get(self, priority_id: str) -> tuple[Priority, int] | None: ...
    def replace(self, old: Priority, new: Priority) -> bool: ...
    def of_area(self, area_id: str) -> list[tuple[Priority, int]]: ...
    def support(self, priority_id: str, subscriber_id: str, at: str, expires_at: datetime) -> bool: ...
    def supporters(self, priority_id: str) -> Iterator[str]: ...
    def add_action(self, priority_id: str, action: ActionOut) -> ActionOut | None: ...
    def actions(self, priority_id: str) -> list[ActionOut]: ...
    def link(self, priority_id: str, conversation_id: str, at: str) -> None: ...
    def links(self, priority_id: str) -> list[str]: ...
    def erase_subscriber(self, subscriber_id: str) -> int: ...


class TrustRepository(Protocol):
    """chalicelib/store/trust.py: ratings, pulses and their counts (docs/history.md "Residents' trust").
    Residents appear only in rating and pulse-sent items (`subscriber_id`; erased with them by
    `PriorityRepository.erase_subscriber`, which deletes every such item of the table)."""

    def rate(self, rating: Rating, expires_at: datetime, audit: AccessRecord) -> bool: ...
    def ratings(self, conversation_id: str, subscriber_id: str) -> list[Rating]: ...
    def conversation_ratings(self, conversation_id: str) -> list[Rating]: ...
    def create_pulse(self, pulse: Pulse) -> Pulse | None: ...
    def get_pulse(self, pulse_id: str) -> Pulse | None: ...
    def advance_pulse(self, pulse_id: str, state: PulseState, added: int, at: str) -> bool: ...
    def unsent(self, pulse_id: str, subscriber_ids: Sequence[str]) -> list[str]: ...
    def mark_sent(self, pulse_id: str, sent: Sequence[PulseSent], at: str, expires_at: datetime) -> None: ...
    def answer_pulse(self, pulse_id: str, subscriber_id: str, counts: Callable[[PulseSent], Mapping[tuple[str, str], int]],
                     inbox: Callable[[PulseSent], InboxCopy], at: str) -> str: ...
    def counts(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]: ...


class MeetingRepository(Protocol):
    """chalicelib/store/meetings.py: beat meetings and attendance."""

    def create(self, meeting: Meeting) -> Meeting | None: ...
    def get(self, meeting_id: str) -> tuple[Meeting, int] | None: ...
    def of_area(self, area_id: str, start_from: str) -> list[tuple[Meeting, int]]: ...
    def save_record(self, old: Meeting, new: Meeting) -> bool: ...
    def attend(self, meeting_id: str, subscriber_id: str, at: str, expires_at: datetime) -> bool: ...
    def attendees(self, meeting_id: str) -> Iterator[str]: ...
    def due_reminders(self, day: str, start_by: str, limit: int) -> list[Meeting]: ...
    def reminded(self, meeting_id: str) -> bool: ...


class AlertRepository(Protocol):
    """chalicelib/store/alerts.py, as the use cases call it."""

    def create(self, record: AlertRecord) -> None: ...

    def get(self, alert_id: str) -> AlertRecord | None: ...

    def replace(self, old: AlertRecord, new: AlertRecord) -> None: ...

    def add_figures(self, alert_id: str, deltas: Mapping[str, int]) -> None: ...

    def team_page(self, team: str, *, status: str | None, now_text: str, limit: int, start: dict[str, Any] | None) -> tuple[list[AlertRecord], dict[str, Any] | None]:
        """Newest first; only alerts whose AlertRecord.status_at(now_text) is `status` (when given)."""
        ...

    def many(self, alert_ids: Iterable[str]) -> list[AlertRecord]: ...

    def put_cells(self, alert_id: str, cells: Iterable[str], expires: str) -> None: ...

    def delete_cells(self, alert_id: str, cells: Iterable[str]) -> None: ...

    def alerts_in_cell(self, cell: str, now: datetime) -> list[str]: ...

    def public_live(self, now: datetime, area_id: str | None, limit: int=100) -> list[AlertRecord]: ...


class DeliveryRepository(Protocol):
    """chalicelib/store/deliveries.py, as the use cases call it."""

    DELIVERY_SHARDS: int

    def claim(self, alert_id: str, subscriber_id: str, revision: int, *, state: str, now_text: str, expires_at: datetime, release: tuple[str, str] | None=None) -> Claim | None: ...

    def mark(self, alert_id: str, subscriber_id: str, revision: int, state: str) -> None: ...

    def audience_page(self, alert_id: str, shard: int, limit: int, start: dict[str, Any] | None) -> tuple[list[str], dict[str, Any] | None]: ...

    def get(self, alert_id: str, subscriber_id: str) -> Delivery | None: ...

    def mark_retry(self, alert_id: str, subscriber_id: str, revision: int, max_attempts: int) -> bool: ...

    def receipt(self, alert_id: str, subscriber_id: str, now_text: str) -> bool: ...

    def held_due(self, bucket: str, until_key: str) -> list[Held]: ...

    def release(self, alert_id: str, subscriber_id: str, revision: int) -> bool: ...

    def erase_subscriber(self, subscriber_id: str) -> int: ...

    def claim_many(self, alert_id: str, revision: int, wanted: list[Wanted], *, now_text: str, expires_at: datetime) -> dict[str, Claim]: ...


class SubscriberRepository(Protocol):
    """chalicelib/store/subscribers.py, as the use cases call it."""

    def create(self, record: SubscriberRecord) -> None: ...

    def get(self, subscriber_id: str) -> SubscriberRecord | None: ...

    def save(self, record: SubscriberRecord) -> None: ...

    def set_secret(self, subscriber_id: str, secret: str) -> bool: ...

    def mark_erasing(self, subscriber_id: str) -> None: ...

    def many(self, subscriber_ids: Iterable[str]) -> dict[str, SubscriberRecord]: ...

    def downgrade_to_inbox(self, subscriber_id: str, gone_type: str) -> None: ...

    def write_index(self, subscriber_id: str, cells: Iterable[str], shapes: list[dict[str, Any]], expires_at: Any) -> None: ...

    def delete_index(self, subscriber_id: str, cells: Iterable[str]) -> None: ...

    def index_page(self, cell: str, limit: int, start: dict[str, Any] | None) -> tuple[list[tuple[str, list[dict[str, Any]], list[str]]], dict[str, Any] | None]: ...

    def put_inbox(self, entries: Iterable[InboxCopy]) -> None: ...

    def inbox_page(self, subscriber_id: str, limit: int, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...

    def erase(self, record: SubscriberRecord) -> None: ...


class WordRepository(Protocol):
    """chalicelib/store/words.py, as the use cases call it."""

    CONTACTS: str

    def split_ref(self, ref: str) -> tuple[str, str]: ...

    def refs(self, owner: str) -> Iterator[str]: ...

    def forget(self, owner: str, done: Iterable[str]) -> None: ...


class AccessLogRepository(Protocol):
    """chalicelib/store/access_log.py, as the use cases call it."""

    def append(self, record: AccessRecord) -> None: ...

    def entries_by_actor(self, actor: str, *, at_from: str, at_to: str, limit: int, position: dict[str, Any] | None) -> tuple[list[AccessEntryOut], dict[str, Any] | None]: ...

    def entries_by_day(self, days: list[str], *, at_from: str, at_to: str, limit: int, position: dict[str, Any] | None, max_days: int) -> tuple[list[AccessEntryOut], dict[str, Any] | None]: ...


class AlertHistoryRepository(Protocol):
    """chalicelib/store/alert_history.py, as the use cases call it."""

    def alerts_published_between(self, published_from: str, published_to: str, position: dict[str, Any] | None, limit: int, *, now: datetime | None=None) -> tuple[list[AlertFigures], dict[str, Any] | None]: ...


class EngagementRepository(Protocol):
    """chalicelib/store/engagement.py, as the use cases call it."""

    def items(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, dict[str, int]]]: ...


class RecountRepository(Protocol):
    """chalicelib/store/recount.py: the recount's repair writes (infra/recount.py only)."""

    def add(self, marker: str, adds: Mapping[tuple[str, str], Mapping[str, int]],
            expires: Mapping[tuple[str, str], datetime], now: datetime) -> bool: ...


class HistoryRepository(Protocol):
    """chalicelib/store/history.py, as the use cases call it."""

    def contacts_page(self, plan: Plan, *, months: list[str], occurred_from: str, occurred_to: str, limit: int, position: dict[str, Any] | None) -> RowPage: ...


class RateCounterRepository(Protocol):
    """chalicelib/store/ratelimit.py, as the use cases call it."""

    def hit(self, key: str, *, limit: int, window_ends: datetime) -> bool: ...


class HealthProbe(Protocol):
    """chalicelib/store/health.py, as the use cases call it."""

    def store_reachable(self) -> bool: ...



class ConversationStore(Protocol):
    """chalicelib/store/conversations.py ConversationRepository: conversations, their messages and
    figure counters (docs/conversations.md). Areas and the access log have their own repositories."""

    def start(self, conversation: Conversation, message: Message, write: Write) -> None: ...
    def append(self, old: Conversation, new: Conversation, message: Message, write: Write) -> None: ...
    def close(self, old: Conversation, new: Conversation,
              audit: AccessRecord) -> None: ...
    def escalate(self, old: Conversation, new: Conversation,
                 audit: AccessRecord) -> None: ...
    def count_overdue(self, old: Conversation, new: Conversation) -> None: ...
    def overdue(self, days: Iterable[str], due_by: str, limit: int) -> list[Conversation]: ...
    def get(self, conversation_id: str) -> Conversation | None: ...
    def many(self, conversation_ids: Iterable[str]) -> dict[str, Conversation]: ...
    def last_seen(self, conversation_id: str) -> Conversation | None: ...
    def get_message(self, conversation_id: str, message_id: str) -> Message | None: ...
    def messages(self, conversation_id: str) -> list[Message]: ...
    def message_page(self, conversation_id: str, limit: int,
                     before: dict[str, Any] | None) -> tuple[list[Message], dict[str, Any] | None]: ...
    def team_page(self, team: str, status: str, limit: int,
                  start: dict[str, Any] | None) -> tuple[list[Conversation], dict[str, Any] | None]: ...
    def owner_page(self, owner: str, limit: int,
                   start: dict[str, Any] | None) -> tuple[list[Conversation], dict[str, Any] | None]: ...
    def figures(self, key: str, bucket_from: str, bucket_to: str) -> list[tuple[str, int]]: ...
    def owned(self, owner: str) -> list[Conversation]: ...
    def erase_resident_words(self, conversation_id: str) -> list[str]: ...
    def erase_message_words(self, conversation_id: str, message_id: str) -> str | None: ...
    def forget_owner(self, conversation_id: str, erased_digest: str) -> None: ...
    def unlink_contacts(self, contact_ids: Iterable[str]) -> None: ...


class TeamQueueRepository(Protocol):
    """chalicelib/store/team_queue.py: previews and claims of the team's queue."""

    def last_texts(self, conversations: Iterable[Conversation]) -> dict[str, str | None]: ...
    def claim(self, conversation_id: str, *, team: str, staff: str, display: str, expires_at: str,
              now_text: str, audit: AccessRecord) -> bool: ...
    def release(self, conversation_id: str, *, team: str, staff: str | None, audit: AccessRecord) -> bool: ...
    def leave_queue(self, conversation: Conversation) -> bool: ...


class StaffRepository(Protocol):
    """chalicelib/store/staff.py: an officer's own figures, door sign-ups, staff devices."""

    def own_activity(self, author: str, occurred_from: str, occurred_to: str, limit: int) -> list[Activity]: ...
    def alerts_drafted(self, team: str, author: str, created_from: str, created_to: str) -> list[str]: ...
    def add_signup(self, team: str, periods: dict[str, str]) -> None: ...
    def signups(self, team: str, grain: str, period: str) -> int: ...
    def device_ids(self, staff: str, limit: int) -> list[str]: ...
    def put_device(self, device: StaffDevice) -> None: ...
    def delete_device(self, staff: str, device_id: str) -> None: ...
    def team_devices(self, team: str) -> list[StaffDevice]: ...
    def team_has_devices(self, team: str) -> bool: ...


@dataclass(frozen=True)
class Repositories:
    """The storage adapters use cases call (chalicelib/store modules, one per table group, satisfy
    these Protocols as modules). Injectable: tests may hand use cases in-memory fakes."""

    contacts: ContactRepository
    areas: AreaRepository
    alerts: AlertRepository
    deliveries: DeliveryRepository
    subscribers: SubscriberRepository
    words: WordRepository
    access_log: AccessLogRepository
    alert_history: AlertHistoryRepository
    engagement: EngagementRepository
    history: HistoryRepository
    ratelimit: RateCounterRepository
    health: HealthProbe
    conversations: ConversationStore
    team_queue: TeamQueueRepository
    teams: TeamRepository
    priorities: PriorityRepository
    meetings: MeetingRepository
    staff: StaffRepository
    trust: TrustRepository
    sms: SmsRepository
    contact_stream: ContactStreamRepository
    recount: RecountRepository
    conversation_stream: ConversationStreamRepository
    rating_stream: RatingStreamRepository


# --- fan-out queue -----------------------------------------------------------------------------


class FanoutMessage(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False, tag_field="type", tag="alert"):
    """One unit of alert fan-out work: some cells of the subscription index (`cells` mode) or the
    audience of an earlier message (`audience` mode: Update/Cancel), from a position.

    Bodies written before the queue carried a `type` have none: they decode as this type."""

    alert_id: str
    revision: int
    mode: str = "cells"  # cells|audience (|conversation: the old format of an AnswerPush, read only)
    cells: list[str] = []
    cell_index: int = 0
    shard: int = 0  # audience mode: which delivery shard (see store.deliveries.DELIVERY_SHARDS)
    start: dict[str, Any] | None = None
    message: str | None = None  # old format only: the team message of a `conversation` mode message


class AnswerPush(msgspec.Struct, forbid_unknown_fields=False, tag_field="type", tag="answer"):
    """Push one team answer in a conversation to its resident (usecases/conversation_push.py)."""

    conversation_id: str
    message_id: str


class NoticePush(msgspec.Struct, forbid_unknown_fields=False, tag_field="type", tag="notice"):
    """Push one notice (domain/notices.py: a priority's action, a meeting's reminder) to some of
    its residents (at most SUBSCRIBERS_PER_MESSAGE); usecases/notice_push.py. `ref` is
    `<priority>:<action>` for an action, the meeting's id for a reminder."""

    kind: str
    ref: str
    subscribers: list[str]


class StaffPush(msgspec.Struct, forbid_unknown_fields=False, tag_field="type", tag="staff"):
    """A staff push to a team's devices (usecases/staff_push.py): what happened (`kind`), the
    record's id and how many; no resident words. Not to `exclude` (a staff id); only to `roles`
    when given. `occurrence` tells apart two pushes of one kind about one record (a new wait on a
    conversation: the message that began it; a proposed update: the proposal): each is claimed
    once per device (usecases/staff_push.py)."""

    kind: str
    record_id: str
    team: str
    exclude: str | None = None
    roles: list[str] = []
    count: int = 1
    occurrence: str = ""


QueueMessage = FanoutMessage | AnswerPush | NoticePush | StaffPush


class _Envelope(msgspec.Struct, forbid_unknown_fields=False):
    type: str = "alert"
    mode: str = "cells"


def decode_queue_message(body: str | bytes) -> QueueMessage:
    """A queue body as its message type; bodies of the format before `type` (a conversation answer
    as `FanoutMessage(mode="conversation")`) still decode, so a deploy loses no message in flight."""
    envelope = msgspec.json.decode(body, type=_Envelope)
    if envelope.type == "answer":
        return msgspec.json.decode(body, type=AnswerPush)
    if envelope.type == "notice":
        return msgspec.json.decode(body, type=NoticePush)
    if envelope.type == "staff":
        return msgspec.json.decode(body, type=StaffPush)
    message = msgspec.json.decode(body, type=FanoutMessage)
    if message.mode == "conversation":
        return AnswerPush(conversation_id=message.alert_id, message_id=message.message or "")
    return message


def encode_queue_message(message: QueueMessage) -> str:
    return msgspec.json.encode(message).decode()


class FanoutQueue(Protocol):
    """The push work queue (SQS; in-process locally): alert fan-out and answer pushes."""

    def enqueue(self, messages: Sequence[QueueMessage]) -> None: ...


class QueueUnavailable(Exception):
    """Some messages could not be enqueued after retries."""


# --- bulk exports (domain/exports.py) ----------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int


class ExportSink(Protocol):
    """Where export jobs and their files live: S3 in AWS, a local folder, memory in tests."""

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The object at `key`, None when there is none."""

    def files(self, prefix: str) -> list[StoredFile]:
        """Every object under `prefix`, by key."""

    def link(self, key: str) -> str:
        """Where a reader fetches `key`: a short-lived presigned URL (S3) or a file URI (local)."""

    def location(self, prefix: str) -> str:
        """The prefix as a table location (`s3://bucket/prefix`, a folder path locally)."""


class PulseQueue(Protocol):
    """The pulse worker's queue (SQS; in-process locally): one message per step of a delivery."""

    def send(self, step: PulseStep) -> None: ...


class ExportQueue(Protocol):
    """The export worker's queue (SQS; in-process locally): one message per step of a job."""

    def send(self, step: ExportStep) -> None: ...


# --- delivery channels -------------------------------------------------------------------------


class SendOutcome(enum.Enum):
    """The result of one send, as the fan-out worker acts on it.

    SENT: accepted by the push service. GONE: the subscription/endpoint no longer exists or can
    never be delivered to (remove it; no retry). RETRY: transient (throttling, 5xx, network):
    send again later. FAILED: this message was refused for a reason a retry cannot fix (e.g.
    400/413 from the push service); keep the subscription, count the delivery as failed.
    """

    SENT = "sent"
    GONE = "gone"
    RETRY = "retry"
    FAILED = "failed"


class Channel(Protocol):
    """One delivery channel (SNS mobile push, Web Push); fakes implement the same. Three kinds of
    notification: an alert, a team answer in a conversation and a notice (notify/payloads.py)."""

    def send(self, target: dict[str, Any], notification: Notification | AnswerNotification | NoticeNotification,
             ) -> SendOutcome:
        """Deliver one notification to one target; never raises for delivery failures."""
        ...


class ConfirmationSender(Protocol):
    """Sends the confirmation of one contact channel type (email: the link; sms: the code).
    `secret` is what the message carries: the whole `c.` token for a link, the code for a code.
    The address is personal data: adapters never log it."""

    def send_confirmation(self, address: str, secret: str, language: str | None) -> SendOutcome: ...


class Mailbox(Protocol):
    """Where SES receiving stored an inbound email (S3): read once, then deleted (the raw message
    holds personal data; only the resident's new words are kept, in the conversation)."""

    def take(self, bucket: str, key: str) -> bytes: ...


class EndpointRegistrar(Protocol):
    """SNS platform endpoints for device tokens (registration and erasure)."""

    def create(self, platform_app_arn: str, token: str) -> str: ...

    def delete(self, endpoint_arn: str) -> None: ...


class DestinationRefused(Exception):
    """The URL must not be requested; `reason` says why (safe to show to the subscriber)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PushGuard(Protocol):
    """Checks a push endpoint before it is stored (raises DestinationRefused)."""

    def check(self, url: str) -> object:
        """The vetted destination (the adapter's own type: use cases only need the refusal)."""
        ...


# --- conversations (chalicelib/store/conversations.py implements them) ---------------------------


class ConversationExists(Exception):
    def __init__(self, existing: Conversation | None) -> None:
        super().__init__("conversation exists")
        self.existing = existing


class MessageExists(Exception):
    def __init__(self, existing: Message | None) -> None:
        super().__init__("message exists")
        self.existing = existing


class ResidentGone(Exception):
    """The resident was erased (or is being erased): its words are not stored."""


class VersionChanged(Exception):
    """The conversation is not in the state the write assumed (another message or a close landed
    first, or the assumed state was an old hint). `current` is the state DynamoDB returned with the
    failed condition (ALL_OLD), so the caller retries without reading; None when it returned none."""

    def __init__(self, current: Conversation | None = None) -> None:
        super().__init__("conversation changed")
        self.current = current


@dataclass(frozen=True)
class Write:
    """Everything one message writes besides the message and the conversation (no counter: the
    figures follow from the conversations stream, the contact's statistics from the contacts one)."""

    contact: ContactRecord
    audit: AccessRecord
    inbox: InboxCopy | None = None  # a team answer's copy in the resident's inbox
    words: WordHolder | None = None  # a resident message: indexed for erasure, refused while erasing
    guidance: Message | None = None  # the automatic emergency guidance after it (sender "system")


# --- SMS (docs/channels.md: the SMS channel) -----------------------------------------------------


@dataclass(frozen=True)
class SmsReceipt:
    """What the SMS service said to one send: SENT with its message id, or why not."""

    outcome: SendOutcome
    message_id: str | None = None


class SmsSender(Protocol):
    """Texts one number (notify/sms.py: SNS Publish to a phone number; fakes in tests)."""

    def send_text(self, number: str, text: str) -> SmsReceipt:
        """Never raises for a delivery failure (the outcome says it)."""
        ...

    def opted_out(self, number: str) -> bool:
        """The service's own opt-out list holds the number (it replied STOP to the service)."""
        ...


class SmsQueue(Protocol):
    """The `sms_sender` function's queue (SQS; in-process locally): one message per text, ids only."""

    def send(self, job: SmsJob) -> None:
        """Raises QueueUnavailable when the job could not be queued."""
        ...


class SmsRepository(Protocol):
    """chalicelib/store/sms.py: the number -> subscriber index (a keyed digest of the number,
    never the number), per-message delivery status and per-day figures per channel."""

    def link_number(self, number_digest: str, subscriber_id: str, expires_at: datetime) -> None: ...
    def unlink_number(self, number_digest: str, subscriber_id: str) -> None: ...
    def holders(self, number_digest: str) -> list[str]: ...
    def record_message(self, message_id: str, ref: str, status: str, at: str, expires_at: datetime) -> None: ...
    def set_status(self, message_id: str, status: str, at: str) -> str | None:
        """The message's `ref` when its status changed to `status` now (None: unknown or already so)."""
        ...
    def message_status(self, message_id: str) -> tuple[str, str] | None:
        """(ref, status) of a message sent, None when unknown (or expired)."""
        ...
    def add_figures(self, channel: str, day: str, deltas: Mapping[str, int]) -> None: ...
    def figures(self, channel: str, day_from: str, day_to: str) -> list[tuple[str, dict[str, int]]]: ...
