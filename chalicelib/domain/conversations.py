"""Conversations between a resident and a neighbourhood team: wire schemas and pure rules.

No I/O here. State: `waiting` (the last message is the resident's), `answered` (the last message
is the team's), `closed` (a team member closed it with an outcome; a resident message reopens it).
Figures are counters (see `figure_deltas`) and a fixed log-spaced histogram of first-response
minutes (see `BUCKET_RATIO`, `percentile`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta, Struct

from chalicelib.clock import parse_rfc3339, to_rfc3339
from chalicelib.domain.contact_schemas import OUTCOMES, Location, Topic
from chalicelib.domain.errors import Conflict, StateForbids
from chalicelib.domain.history import DayOrTime, GroupBy, Purpose, TeamFilter
from chalicelib.domain.trust import RatingOut

TEXT_MAX = 1000
MESSAGES_PAGE_MAX = 500  # messages in one read of a conversation (the latest; earlier ones by cursor)
Status = Literal["waiting", "answered", "closed"]
Sender = Literal["resident", "team", "system"]  # system: the automatic emergency guidance, nobody's answer
Text = Annotated[str, Meta(min_length=1, max_length=TEXT_MAX, description=f"1..{TEXT_MAX} characters.")]
Cursor = Annotated[str, Meta(max_length=2048)]
StateToken = Annotated[str, Meta(max_length=4096, description=(
    "`state_token` of the conversation as last read (optional): the server then need not read it "
    "before writing. A stale one only costs the server a retry; a changed one is 400."))]
Limit = Annotated[int, Meta(ge=1, le=100)]


# --- wire schemas ---------------------------------------------------------------------------


class AreaRef(Struct, forbid_unknown_fields=True):
    area_id: UUID


class ConversationIn(Struct, forbid_unknown_fields=True, kw_only=True):
    id: UUID
    topic: Topic
    text: Text
    area_id: UUID | None = None
    location: Location | None = None


class MessageIn(Struct, forbid_unknown_fields=True, kw_only=True):
    id: UUID
    text: Text
    state_token: StateToken | None = None


# A close outcome only (not a contact outcome): the team judged the conversation abuse or spam. It
# leaves the `opened` figure of the period it was opened (counted as `dismissed_as_abuse` there)
# and only the team can change it: the resident's messages no longer reopen it.
ABUSE = "abuse"
CloseOutcome = Literal[(*OUTCOMES, ABUSE)]  # type: ignore[valid-type]


class CloseIn(Struct, forbid_unknown_fields=True, kw_only=True):
    outcome: CloseOutcome
    state_token: StateToken | None = None


class MessageOut(Struct, omit_defaults=True):
    id: str
    from_: Sender = msgspec.field(name="from")
    text: str = ""
    sent_at: str = ""
    officer: str | None = None  # display pseudonym of the answering officer, never the staff id
    erased: bool = False
    state_token: str | None = None  # the conversation's state after this message (sealed; echo it back)


class ConversationSummary(Struct, omit_defaults=True):
    id: str
    team: str
    area_id: str | None
    alert_id: str | None
    status: Status
    topic: str
    created_at: str
    last_message_at: str
    version: int
    urgent: bool  # a resident message suggests immediate danger: first in the queue (docs/conversations.md)
    outcome: str | None = None
    waiting_since: str | None = None
    respond_by: str | None = None  # waiting ones: the team aims to answer by then (the response standard)
    escalated_at: str | None = None  # the resident escalated this wait (past `respond_by` unanswered)
    # What the conversation is about, for residents telling theirs apart (fixed when it opens):
    # the area's name, and for one opened by an alert reply the alert's headline in each language.
    area_name: str | None = None
    alert_headlines: dict[str, str] | None = None


class ConversationOut(ConversationSummary):
    """A conversation with its latest messages, oldest first; `earlier_cursor` (absent when there
    are none) reads the page before them."""

    messages: list[MessageOut] = []
    earlier_cursor: str | None = None
    state_token: str | None = None  # sealed state: echo it in the next message or close (saves a read)
    # The resident owner's own ratings here (`target` names the answer rated): absent for staff.
    ratings: list[RatingOut] | None = None
    # Staff only: the kinds of channel an answer reaches (`app`, `push`, `email`, `sms`; never an
    # address or a number); [] once the resident is erased. Absent for the resident.
    reaches: list[str] | None = None


class ConversationQuery(Struct, forbid_unknown_fields=True):
    limit: Annotated[int, Meta(ge=1, le=MESSAGES_PAGE_MAX)] = MESSAGES_PAGE_MAX
    before: Cursor | None = None


class ConversationPage(Struct):
    items: list[ConversationSummary]
    next_cursor: str | None


QueueStatus = Literal["waiting", "answered", "closed", "escalated"]


class TeamQueueQuery(Struct, forbid_unknown_fields=True):
    status: Annotated[QueueStatus, Meta(description=(
        "`escalated` (supervisors): the waits residents escalated, oldest waiting first; they also lead "
        "the `waiting` queue."))] = "waiting"
    limit: Limit = 25
    cursor: Cursor | None = None


class MyConversationsQuery(Struct, forbid_unknown_fields=True):
    limit: Limit = 25
    cursor: Cursor | None = None


class FiguresQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: DayOrTime = msgspec.field(name="from")
    to: DayOrTime
    group_by: GroupBy = "day"
    purpose: Purpose
    team: TeamFilter | None = None


class FirstResponse(Struct):
    median: float | None
    p90: float | None


class FiguresBucket(Struct):
    period: str
    team: str
    opened: int
    answered: int
    closed: int
    first_response_minutes: FirstResponse
    waiting_over_24h: int
    dismissed_as_abuse: int = 0  # closed by the team as abuse/spam; not in `opened` (same period)
    # The response standard (docs/guarantee.md). Waits ended by a team answer, in the period of the
    # answer, and those of them answered by their `respond_by`, with the share (null: none answered).
    answered_waits: int = 0
    within_standard: int = 0
    within_standard_share: float | None = None
    # Waits that passed `respond_by` unanswered, in the period they passed it (once per wait), and of
    # those the ones still open now (decremented when the wait is answered or closed).
    past_standard: int = 0
    past_standard_now: int = 0
    escalated: int = 0  # waits the resident escalated, in the period of the escalation


FIGURES_AS_OF = (
    "The newest conversation change these figures include (RFC 3339, UTC): figures are derived from the "
    "conversations table's change stream, so a message, close or escalation made just now may be missing "
    "for the stream's delay (normally a second or two). null: no change applied yet.")


class FiguresOut(Struct):
    buckets: list[FiguresBucket]
    as_of: Annotated[str | None, Meta(description=FIGURES_AS_OF)] = None


# --- what residents see of a team answer (inbox item, push) -----------------------------------

ANSWERED = {"en": "Your neighbourhood team answered", "cy": "Atebodd eich tîm cymdogaeth"}
TOPIC_LABELS: dict[str, dict[str, str]] = {
    "en": {"antisocial_behaviour": "Antisocial behaviour", "burglary": "Burglary", "community_event": "Community event",
           "domestic_abuse": "Domestic abuse", "drugs": "Drugs", "fraud_scams": "Fraud and scams",
           "hate_crime": "Hate crime", "neighbour_dispute": "Neighbour dispute", "noise": "Noise",
           "reassurance": "Reassurance", "road_safety": "Road safety", "theft": "Theft",
           "vehicle_crime": "Vehicle crime", "violence": "Violence", "youth": "Young people", "other": "Other"},
    "cy": {"antisocial_behaviour": "Ymddygiad gwrthgymdeithasol", "burglary": "Byrgleriaeth",
           "community_event": "Digwyddiad cymunedol", "domestic_abuse": "Cam-drin domestig", "drugs": "Cyffuriau",
           "fraud_scams": "Twyll a sgamiau", "hate_crime": "Trosedd casineb", "neighbour_dispute": "Anghydfod cymdogion",
           "noise": "Sŵn", "reassurance": "Tawelwch meddwl", "road_safety": "Diogelwch ffyrdd", "theft": "Lladrad",
           "vehicle_crime": "Troseddau cerbydau", "violence": "Trais", "youth": "Pobl ifanc", "other": "Arall"},
}


def ui_language(tag: str | None) -> str:
    """The residents' app languages: Welsh for any `cy` tag, else English."""
    return "cy" if (tag or "").lower().startswith("cy") else "en"


def headline_for(headlines: Mapping[str, str], tag: str | None) -> str | None:
    """The alert headline in the resident's language (same primary language), else the first one."""
    if not headlines:
        return None
    wanted = ui_language(tag)
    for language, text in headlines.items():
        if ui_language(language) == wanted:
            return text
    return next(iter(headlines.values()))


def answer_context(topic: str, area_name: str | None, headlines: Mapping[str, str], tag: str | None) -> str:
    """Which conversation an answer is in: the alert's headline, else `<area>: <topic>` (as the app titles it)."""
    headline = headline_for(headlines, tag)
    if headline:
        return headline
    label = TOPIC_LABELS[ui_language(tag)].get(topic, topic)
    return f"{area_name}: {label}" if area_name else label


@dataclass(frozen=True)
class AnswerNotification:
    """What a push channel sends for a team answer: its context and a link, never its words."""

    conversation_id: str
    message_id: str
    language: str
    title: str  # "Your neighbourhood team answered", in the resident's language
    context: str  # the alert's headline, else topic and area (answer_context)
    sent_at: str
    expires_at: str
    url: str


# --- records --------------------------------------------------------------------------------


CONTEXT_FIELDS = ("area_name", "alert_headlines")
UNSTATED_FIELDS = (*CONTEXT_FIELDS, "changed_at")  # kept out of state tokens


@dataclass(frozen=True)
class Conversation:
    id: str
    team: str
    owner: str  # the resident (subscriber id); removed by erasure
    area_id: str | None
    alert_id: str | None
    topic: str
    status: str
    created_at: str
    last_message_at: str
    version: int
    content_digest: str
    expires_at: datetime
    waiting_since: str | None = None
    first_response_at: str | None = None
    outcome: str | None = None
    over24_at: str | None = None  # the current wait passed 24 h and was counted (once per wait)
    respond_by: str | None = None  # the current wait: waiting_since + the response standard (set when it began)
    past_standard_at: str | None = None  # the current wait passed respond_by and was counted (once per wait)
    escalated_at: str | None = None  # the resident escalated the current wait (kept after it ends)
    nearing_at: str | None = None  # the current wait reached 2/3 of its standard and the team was told (once)
    urgent: bool = False  # a resident message of the current wait suggests immediate danger (top of the queue)
    # Read for the team's queue only (store/team_queue.py writes the claim, a message's write its
    # id); no write is computed from them, so they take no part in comparing states.
    last_message_id: str | None = dataclasses.field(default=None, compare=False)
    claimed_by: str | None = dataclasses.field(default=None, compare=False)  # display pseudonym of a claim's holder
    claim_expires_at: str | None = dataclasses.field(default=None, compare=False)
    # Context fixed at the opening (what residents see to tell conversations apart); no write is
    # computed from it, so it takes no part in comparing states and stays out of state tokens.
    area_name: str | None = dataclasses.field(default=None, compare=False)
    alert_headlines: dict[str, str] = dataclasses.field(default_factory=dict, compare=False)
    # When the last change of state happened (a message, a close, an escalation, the clock): the
    # "now" its figures are computed with, kept on the item so the conversations stream's consumer
    # (`stream_deltas`) counts exactly what the request would have. Not part of the state.
    changed_at: str | None = dataclasses.field(default=None, compare=False)

    def summary(self) -> ConversationSummary:
        return ConversationSummary(
            id=self.id, team=self.team, area_id=self.area_id, alert_id=self.alert_id,
            status=self.status, topic=self.topic, created_at=self.created_at,  # type: ignore[arg-type]
            last_message_at=self.last_message_at, version=self.version, outcome=self.outcome,
            waiting_since=self.waiting_since, respond_by=promised_by(self), escalated_at=self.escalated_at,
            area_name=self.area_name, urgent=self.urgent,
            alert_headlines=dict(self.alert_headlines) or None,
        )

    def to_out(self, messages: Iterable[Message], earlier_cursor: str | None = None,
               state_token: str | None = None) -> ConversationOut:
        s = self.summary()
        return ConversationOut(messages=[m.to_out() for m in messages], earlier_cursor=earlier_cursor,
                               state_token=state_token, **msgspec.structs.asdict(s))

    def state(self) -> dict[str, object]:
        """Everything a change is computed from, for a state token (sealed by the caller)."""
        state: dict[str, object] = msgspec.to_builtins(self)
        for context in UNSTATED_FIELDS:  # fixed at the opening (unbounded), or only for the figures
            state.pop(context, None)
        return state

    @staticmethod
    def from_state(raw: object) -> Conversation | None:
        """None when the state does not fit this code's shape (a token from another release)."""
        if not isinstance(raw, dict) or set(raw) - {f.name for f in dataclasses.fields(Conversation)}:
            return None
        try:
            return msgspec.convert(raw, Conversation)
        except msgspec.ValidationError:
            return None


@dataclass(frozen=True)
class Message:
    conversation_id: str
    id: str
    seq: int  # the conversation version this message produced: exact order
    sender: str  # resident|team
    text: str | None  # None once erased
    sent_at: str
    contact_id: str
    content_digest: str
    expires_at: datetime
    author: str | None = None  # staff id of a team message (kept for the contact; never shown)
    officer: str | None = None  # display pseudonym shown to the resident

    def to_out(self) -> MessageOut:
        return MessageOut(id=self.id, from_=self.sender, text=self.text or "", sent_at=self.sent_at,  # type: ignore[arg-type]
                          officer=self.officer, erased=self.text is None)


# --- state changes --------------------------------------------------------------------------


def after_message(conv: Conversation, sender: str, now_text: str,
                  standard: timedelta | None = None) -> Conversation:
    """The conversation after one message (version + 1). A team message on a closed one is refused.
    A new wait gets its `respond_by` (now + `standard`, the setting) and starts unescalated."""
    if sender == "team":
        if conv.status == "closed":
            raise StateForbids("The conversation is closed; a resident message reopens it.")
        return replace(conv, status="answered", waiting_since=None, over24_at=None, last_message_at=now_text,
                       respond_by=None, past_standard_at=None, nearing_at=None,
                       version=conv.version + 1, outcome=None, urgent=False, changed_at=now_text,
                       first_response_at=conv.first_response_at or now_text)
    if conv.status == "closed" and conv.outcome == ABUSE:
        raise StateForbids("The team closed this conversation; start a new one.")
    if conv.status == "waiting" and conv.waiting_since:  # the same wait goes on
        return replace(conv, last_message_at=now_text, version=conv.version + 1, outcome=None, changed_at=now_text)
    return replace(conv, status="waiting", waiting_since=now_text, over24_at=None, last_message_at=now_text,
                   version=conv.version + 1, outcome=None, past_standard_at=None, escalated_at=None, nearing_at=None,
                   respond_by=respond_by_for(now_text, standard), changed_at=now_text)


def after_close(conv: Conversation, outcome: str, now_text: str) -> Conversation:
    if conv.status == "closed":
        raise Conflict("The conversation is already closed.")
    return replace(conv, status="closed", waiting_since=None, over24_at=None, outcome=outcome,
                   version=conv.version + 1, respond_by=None, past_standard_at=None, nearing_at=None,
                   urgent=False, changed_at=now_text)


DEFAULT_STANDARD = timedelta(hours=72)  # BEATLINE_RESPONSE_STANDARD_HOURS' default


def respond_by_for(waiting_since: str, standard: timedelta | None) -> str:
    return to_rfc3339(parse_rfc3339(waiting_since) + (standard or DEFAULT_STANDARD))


def promised_by(conv: Conversation) -> str | None:
    """The current wait's `respond_by` (a wait stored before it was kept: the default standard)."""
    if conv.status != "waiting" or not conv.waiting_since:
        return None
    return conv.respond_by or respond_by_for(conv.waiting_since, None)


NEARING_SHARE = 2 / 3  # of the standard: the team is told the wait is nearing it


def nearing_time(conv: Conversation) -> str | None:
    """When the current wait reaches two thirds of its standard."""
    promised = promised_by(conv)
    if promised is None or not conv.waiting_since:
        return None
    since = parse_rfc3339(conv.waiting_since)
    return to_rfc3339(since + (parse_rfc3339(promised) - since) * NEARING_SHARE)


def _milestones(conv: Conversation) -> dict[str, str]:
    """The clock's marks of the current wait not yet counted: `over24` (24 h passed),
    `nearing` (two thirds of the standard: the team is told) and `past_standard` (`respond_by`
    passed), each at its time."""
    if conv.status != "waiting" or not conv.waiting_since:
        return {}
    marks = {}
    if conv.over24_at is None:
        marks["over24"] = to_rfc3339(parse_rfc3339(conv.waiting_since) + timedelta(minutes=OVER_24H_MINUTES))
    promised = promised_by(conv)
    if conv.past_standard_at is None and promised:
        marks["past_standard"] = promised
    nearing = nearing_time(conv)
    if conv.nearing_at is None and nearing:
        marks["nearing"] = nearing
    return marks


def after_guidance(conv: Conversation) -> Conversation:
    """The conversation once the automatic emergency guidance is added after a resident's message:
    flagged urgent, one more version (the guidance message's seq); still waiting for the team (the
    guidance is nobody's answer: no first response, no figure)."""
    return replace(conv, urgent=True, version=conv.version + 1)


def due_at(conv: Conversation) -> str | None:
    """When the current wait next passes a mark still to be counted (the `by_due` index): 24 h or
    its `respond_by`, whichever of them is uncounted and first."""
    marks = _milestones(conv)
    return min(marks.values()) if marks else None


def after_overdue(conv: Conversation, now_text: str) -> Conversation | None:
    """The conversation once every mark its wait has passed by `now_text` is counted; None if none."""
    now = parse_rfc3339(now_text)
    passed = {mark: at for mark, at in _milestones(conv).items() if parse_rfc3339(at) <= now}
    if not passed:
        return None
    return replace(conv, over24_at=passed.get("over24", conv.over24_at),
                   past_standard_at=passed.get("past_standard", conv.past_standard_at),
                   nearing_at=passed.get("nearing", conv.nearing_at), version=conv.version + 1, changed_at=now_text)


def tell_nearing(old: Conversation, new: Conversation) -> bool:
    """Whether the clock's change `old` -> `new` is the wait reaching two thirds of its standard
    (the team's devices are told once; not when the same run finds it past the standard already)."""
    return old.nearing_at is None and new.nearing_at is not None and new.past_standard_at is None


def overdue_keys(old: Conversation, new: Conversation) -> dict[tuple[str, str], int]:
    """The clock's counters for `old` -> `new` (after_overdue), each in the day its mark passed:
    `over24`; `past_standard` and the open gauge `past_standard_now`."""
    deltas: dict[tuple[str, str], int] = {}
    if old.over24_at is None and new.over24_at is not None:
        _merge(deltas, figure_keys(new.team, new.over24_at[:10], ["over24"]))
    if old.past_standard_at is None and new.past_standard_at is not None:
        _merge(deltas, figure_keys(new.team, new.past_standard_at[:10], ["past_standard", "past_standard_now"]))
    return deltas


def _merge(into: dict[tuple[str, str], int], more: Mapping[tuple[str, str], int], sign: int = 1) -> None:
    for key, count in more.items():
        into[key] = into.get(key, 0) + sign * count


def after_escalation(conv: Conversation, now_text: str) -> Conversation | None:
    """The conversation once the resident escalates its wait; None when this wait already is
    (a repeat). Only a waiting conversation past its `respond_by` (else StateForbids: 422)."""
    promised = promised_by(conv)
    if promised is None:
        raise StateForbids("Only a conversation waiting for the team can be escalated.")
    if parse_rfc3339(now_text) < parse_rfc3339(promised):
        raise StateForbids(f"Your team aims to reply by {promised}; you can escalate after that.")
    if conv.escalated_at is not None:
        return None
    return replace(conv, escalated_at=now_text, version=conv.version + 1, changed_at=now_text)


def queue_key(conv: Conversation) -> str:
    """Sort key of the team index: waiting ones by the time they started waiting (oldest first);
    urgent ones (immediate danger) lead, then escalated ones, then the rest (`!` < `+` < digits)."""
    since = conv.waiting_since if conv.status == "waiting" and conv.waiting_since else conv.last_message_at
    if conv.status == "waiting" and not conv.owner:
        return f"{ERASED_QUEUE}#{since}#{conv.id}"  # the resident was erased: out of the team's queue
    if conv.status == "waiting" and conv.escalated_at:
        return f"{ESCALATED_QUEUE}{since}#{conv.id}"  # escalated: first in the queue (`+` sorts before digits)
    urgent = "!" if conv.status == "waiting" and conv.urgent else ""  # `!` sorts before `+` and digits
    return f"{conv.status}#{urgent}{since}#{conv.id}"


ESCALATED_QUEUE = "waiting#+"  # queue-key prefix of an escalated wait: still waiting, listed first


def queue_prefix(status: str) -> str:
    """The queue-key prefix a team-queue listing reads (`escalated`: the escalated waits only)."""
    return ESCALATED_QUEUE if status == "escalated" else f"{status}#"


ERASED_QUEUE = "erased"  # queue-key prefix of a waiting conversation whose resident was erased


def activity_key(conv: Conversation) -> str:
    return f"{conv.last_message_at}#{conv.id}"


def keyed_uuid(key: bytes, *parts: str) -> str:
    """A UUID nobody can predict without `key` (ids derived from client ids: no collisions planted)."""
    digest = hmac.new(key, "|".join(parts).encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def officer_display(key: bytes, staff_id: str) -> str:
    """`Officer 4F2K`: stable per officer, unlinkable to the staff id without the key."""
    digest = hmac.new(key, staff_id.encode(), hashlib.sha256).digest()
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "Officer " + "".join(alphabet[b % len(alphabet)] for b in digest[:4])


# --- figures --------------------------------------------------------------------------------

# First-response minutes go into fixed log-spaced buckets: bucket 0 is [0, 1) minute, bucket k
# (1..LAST) is [R^(k-1), R^k); the last one is open-ended (>= R^(LAST-1), about 16 days).
BUCKET_RATIO = 1.25
LAST_BUCKET = 46
OVER_24H_MINUTES = 24 * 60
METRICS = ("opened", "answered", "closed", "over24", "answered_wait", "within_standard", "past_standard",
           "past_standard_now", "escalated")


def bucket_of(minutes: float) -> int:
    if minutes < 1:
        return 0
    return min(LAST_BUCKET, math.floor(math.log(minutes) / math.log(BUCKET_RATIO)) + 1)


def bucket_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, 1.0
    low = BUCKET_RATIO ** (index - 1)
    return low, (math.inf if index == LAST_BUCKET else BUCKET_RATIO ** index)


def percentile(histogram: Mapping[int, int], p: float) -> float | None:
    """Interpolated within the bucket holding rank p*N: the error is below that bucket's width
    (25 % of its lower bound, under a minute below one minute). Open-ended bucket: its lower bound."""
    total = sum(n for n in histogram.values() if n > 0)
    if total == 0:
        return None
    rank = p * total
    seen = 0
    for index in sorted(histogram):
        count = histogram[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            low, high = bucket_bounds(index)
            if math.isinf(high):
                return round(low, 1)
            return round(low + (high - low) * (rank - seen) / count, 1)
        seen += count
    return None


def minutes_between(start: str, end: str) -> float:
    return (parse_rfc3339(end) - parse_rfc3339(start)).total_seconds() / 60


def figure_events(old: Conversation | None, new: Conversation, now_text: str) -> list[str]:
    """Figure counters one change adds 1 to: `opened`, `answered` (first team answer) with its
    first-response bucket `frt:<k>`, `closed`, and `over24` (a wait of 24 h+ ended by the team
    before the clock counted it: see `after_overdue`; each wait counts once)."""
    events: list[str] = []
    if old is None:
        return ["opened"]
    if new.status == "closed" and old.status != "closed":
        events.append("closed")
    if old.first_response_at is None and new.first_response_at is not None:
        events += ["answered", f"frt:{bucket_of(minutes_between(new.created_at, now_text)):02d}"]
    if _ends_uncounted_long_wait(old, new, now_text):
        events.append("over24")
    return events + _standard_events(old, new, now_text)


def _ends_uncounted_long_wait(old: Conversation, new: Conversation, now_text: str) -> bool:
    """The change ends a wait of 24 h or more that the clock has not counted yet."""
    if old.status != "waiting" or new.status == "waiting" or not old.waiting_since or old.over24_at is not None:
        return False
    return minutes_between(old.waiting_since, now_text) >= OVER_24H_MINUTES


def _standard_events(old: Conversation, new: Conversation, now_text: str) -> list[str]:
    """A wait the team answers: `answered_wait`, and `within_standard` by its `respond_by`; a wait
    ending past `respond_by` before the clock counted it: `past_standard` (once per wait)."""
    promised = promised_by(old)
    if promised is None or new.status == "waiting":
        return []
    late = parse_rfc3339(now_text) > parse_rfc3339(promised)
    events = []
    if new.status == "answered":
        events += ["answered_wait"] if late else ["answered_wait", "within_standard"]
    if late and old.past_standard_at is None:
        events.append("past_standard")
    return events


def figure_deltas(old: Conversation | None, new: Conversation, now_text: str) -> dict[tuple[str, str], int]:
    """Every counter a change moves: `figure_events` in the day of the change, and the open gauge
    `past_standard_now` - 1 in the day the wait passed its standard, when such a wait ends."""
    deltas = figure_keys(new.team, now_text[:10], figure_events(old, new, now_text))
    if old is not None and old.status == "waiting" and old.past_standard_at and new.status != "waiting":
        _merge(deltas, figure_keys(old.team, old.past_standard_at[:10], ["past_standard_now"]), -1)
    _merge(deltas, wait_gauge(old, new))
    return deltas


def waits_pk(team: str | None) -> str:
    """Open-wait gauge partition: force-wide (`conv|waits`) or one team's; buckets `<day>|<team>`."""
    return "conv|waits" if team is None else f"conv|team:{team}|waits"


def wait_gauge(old: Conversation | None, new: Conversation) -> dict[tuple[str, str], int]:
    """The open waits now, each in the day it began: +1 when a wait begins, -1 in that same day when
    it ends (a team answer or a close). Summed, the waits open now; the first day with a positive
    count is the day the oldest open wait began (GET /v1/history/waiting)."""
    deltas: dict[tuple[str, str], int] = {}
    if new.status == "waiting" and new.waiting_since and (old is None or old.status != "waiting"):
        _merge(deltas, _wait_keys(new.team, new.waiting_since[:10]))
    if old is not None and old.status == "waiting" and old.waiting_since and new.status != "waiting":
        _merge(deltas, _wait_keys(old.team, old.waiting_since[:10]), -1)
    return deltas


def _wait_keys(team: str, day: str) -> dict[tuple[str, str], int]:
    return {(waits_pk(None), f"{day}|{team}"): 1, (waits_pk(team), f"{day}|{team}"): 1}


class WaitingQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    purpose: Purpose
    team: TeamFilter | None = None


class WaitingTeam(Struct):
    team: str
    waiting: int
    oldest_waiting_since: str | None  # the UTC day the oldest open wait began


class WaitingOut(Struct):
    as_of: str  # when the answer was made
    waiting: int
    oldest_waiting_since: str | None
    teams: list[WaitingTeam]
    counted_as_of: Annotated[str | None, Meta(description=FIGURES_AS_OF)] = None


WAITING_LOOKBACK_DAYS = 366  # waits begun earlier than this are not counted (the history range)


def waiting_now(counters: Iterable[tuple[str, int]], as_of: str) -> WaitingOut:
    """Gauge counters `<day>|<team>` (sorted by day) -> waits open now, in all and per team."""
    teams: dict[str, WaitingTeam] = {}
    for bucket, count in counters:
        day, team = bucket.split("|", 1)
        if count <= 0:
            continue
        row = teams.setdefault(team, WaitingTeam(team=team, waiting=0, oldest_waiting_since=day))
        row.waiting += count
        row.oldest_waiting_since = min(day, row.oldest_waiting_since or day)
    rows = sorted(teams.values(), key=lambda r: r.team)
    days = [r.oldest_waiting_since for r in rows if r.oldest_waiting_since]
    return WaitingOut(as_of=as_of, waiting=sum(r.waiting for r in rows), oldest_waiting_since=min(days, default=None),
                      teams=rows)


def figures_pk(team: str | None, grain: str) -> str:
    """Counter partition: force-wide (`conv|figures`) or one team's; suffixed by week/month grain."""
    base = "conv|figures" if team is None else f"conv|team:{team}|figures"
    return base if grain == "day" else f"{base}|{grain}"


def figure_keys(team: str, day: str, events: Iterable[str]) -> dict[tuple[str, str], int]:
    """(pk, bucket) -> +1 for each event, in the day, ISO week and month grains, force and team."""
    from chalicelib.domain.stats_keys import period_of

    deltas: dict[tuple[str, str], int] = {}
    for event in events:
        for grain in ("day", "week", "month"):
            period = period_of(day, grain)
            for key in ((figures_pk(None, grain), f"{period}|{team}|{event}"),
                        (figures_pk(team, grain), f"{period}|{team}|{event}")):
                deltas[key] = deltas.get(key, 0) + 1
    return deltas


def dismissal_keys(conv: Conversation, figures: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """A close as abuse: `figures` plus, in the period the conversation was opened, `opened` - 1
    and `dismissed` + 1 (so one address's flood, once the team dismisses it, inflates nothing)."""
    out = dict(figures)
    day = conv.created_at[:10]
    for event, sign in (("opened", -1), ("dismissed", 1)):
        for key, count in figure_keys(conv.team, day, [event]).items():
            out[key] = out.get(key, 0) + sign * count
    return out


def stream_deltas(old: Conversation | None, new: Conversation | None, at: str | None = None) -> dict[tuple[str, str], int]:
    """Every figure counter a stored change `old` -> `new` moves (the conversations stream's
    images: `old` None for a new conversation, `new` None for a deletion), exactly what the
    request that made the change used to add: `figure_deltas` at the change's time
    (`changed_at`; `at`, the stream record's time, for an item written before it was kept), a
    dismissal as abuse (`dismissal_keys`), the clock's marks (`overdue_keys`) and an escalation.
    A deletion (TTL) and a change of no state (a claim, an erasure: same version) move nothing."""
    if new is None or not _changes_state(old, new):
        return {}
    deltas = figure_deltas(old, new, new.changed_at or at or new.last_message_at)
    if old is not None and _dismissed(old, new):
        deltas = dismissal_keys(old, deltas)
    if old is not None:
        _merge(deltas, overdue_keys(old, new))
    _merge(deltas, _escalation_keys(old, new))
    return {key: count for key, count in deltas.items() if count}


def _changes_state(old: Conversation | None, new: Conversation) -> bool:
    """Every change of state moves `version`; a claim or an erasure does not."""
    return old is None or old.version != new.version


def _dismissed(old: Conversation, new: Conversation) -> bool:
    """The change is the team's close as abuse (`close` added `dismissal_keys`)."""
    return old.status != "closed" and new.status == "closed" and new.outcome == ABUSE


def _escalation_keys(old: Conversation | None, new: Conversation) -> dict[tuple[str, str], int]:
    """`escalated` in the day of a new escalation (once per wait: `after_escalation`)."""
    if not new.escalated_at or (old is not None and old.escalated_at == new.escalated_at):
        return {}
    return figure_keys(new.team, new.escalated_at[:10], ["escalated"])


def figures_buckets(counters: Iterable[tuple[str, int]]) -> list[FiguresBucket]:
    """Summed counters `<period>|<team>|<event>` -> one bucket per (period, team)."""
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for bucket, count in counters:
        period, team, event = bucket.split("|", 2)
        grouped.setdefault((period, team), {})[event] = count
    out = []
    for (period, team), events in sorted(grouped.items()):
        histogram = {int(e[4:]): n for e, n in events.items() if e.startswith("frt:")}
        out.append(FiguresBucket(
            period=period, team=team, opened=events.get("opened", 0), answered=events.get("answered", 0),
            closed=events.get("closed", 0), waiting_over_24h=events.get("over24", 0),
            dismissed_as_abuse=events.get("dismissed", 0), answered_waits=events.get("answered_wait", 0),
            within_standard=events.get("within_standard", 0),
            within_standard_share=_share(events.get("within_standard", 0), events.get("answered_wait", 0)),
            past_standard=events.get("past_standard", 0), past_standard_now=events.get("past_standard_now", 0),
            escalated=events.get("escalated", 0),
            first_response_minutes=FirstResponse(median=percentile(histogram, 0.5), p90=percentile(histogram, 0.9)),
        ))
    return out


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def now_text(moment: datetime) -> str:
    return to_rfc3339(moment)
