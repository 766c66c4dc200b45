"""Residents' trust: ratings of team answers, the confidence pulse, and their figures. Pure.

- A **rating** is one resident's verdict on one team answer in their conversation (`answered`:
  yes/partly/no, `satisfaction`: 1..5). Its target (`rating_target`) is the conversation's latest
  team answer; a conversation closed without any team answer is rated once per close instead.
  One rating per target: a second is 409.
- A **pulse** is the Crime Survey for England and Wales confidence question sent to residents
  following chosen areas (or a keyed-hash sample of them, `sampled`); one answer per resident.
- Both are kept as **counts only** (`count_keys`): per calendar month (UTC), team, area and
  answer, in the stats table next to the other figures. The figures (`figures`) withhold every
  count of fewer than 10 answers, and whatever subtraction could give one away
  (domain/disclosure.py). They are kept and published at the one grain, the month
  (`published_grain`): with a second grain, a month's total minus its published weeks or days
  could leave a withheld number, which suppression per grain does not see.
- A month is **published only once it has ended and settled** (`publication`): the month in
  progress changes as answers arrive, so two reads of it a rating apart would give that rating
  away by subtraction. Until `published_from` (the month's end plus `SETTLING`) its counters are
  not read at all and the answer lists it under `unpublished` with the reason; from then on
  nothing adds to it, so each published figure is the same on every read.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final, Literal
from uuid import UUID

import msgspec
from msgspec import Meta, Struct

from chalicelib.clock import to_rfc3339
from chalicelib.domain.disclosure import MIN_ANSWERS, Constraint, wilson, withheld
from chalicelib.domain.errors import FieldError, Undisclosable
from chalicelib.domain.history import AreaFilter, DayOrTime, GroupBy, Purpose, TeamFilter
from chalicelib.domain.pulses import PulseState
from chalicelib.domain.stats_keys import period_of

Answered = Literal["yes", "partly", "no"]
Confidence = Literal["excellent", "good", "fair", "poor", "very_poor"]
Question = Literal["police_good_job"]
ANSWERED_VALUES = ("yes", "partly", "no")
SATISFACTION_VALUES = ("1", "2", "3", "4", "5")
CONFIDENCE_VALUES = ("excellent", "good", "fair", "poor", "very_poor")
# The favourable answers each measure reports a share of (CSEW reports "good or excellent").
FAVOURABLE = {"answered": ("yes",), "satisfaction": ("4", "5"), "confidence": ("excellent", "good")}
MEASURES = {"answered": ANSWERED_VALUES, "satisfaction": SATISFACTION_VALUES, "confidence": CONFIDENCE_VALUES}
FAMILY_OF = {"answered": "rating", "satisfaction": "rating", "confidence": "pulse"}
MAX_PULSE_AREAS = 20
NO_AREA = "-"  # counted for the team but in no named area (a conversation without one)
SHARDS = 4  # counter items per figure (a pulse's answers arrive together): readers sum them
# The one grain trust is counted and published at: periods that nest (days in weeks in months)
# would let a total minus its published parts give a withheld count away.
GRAIN: Final = "month"
# How long after a month's end its figures wait for late counts before they are published. A
# rating's counts come from the neighbourhoods table's stream (in the month of the rating's time), so
# they can land after their month ended, when a batch is late or retried; a DynamoDB stream keeps a
# record 24 hours at most, after which it can no longer land (pulse answers are counted in the
# answer's own transaction). So after one day nothing more can arrive for the month and its published
# figures never change (a figure that changed between two reads would give the difference away).
SETTLING: Final = timedelta(days=1)
# Why a month of the range is not published (yet): it has not begun, it is in progress, or it has
# ended and is waiting for `SETTLING`.
Unpublished = Literal["not_started", "in_progress", "settling"]


# --- wire schemas ---------------------------------------------------------------------------


class RatingIn(Struct, forbid_unknown_fields=True, kw_only=True):
    answered: Annotated[Answered, Meta(description="Did the team answer your question?")]
    satisfaction: Annotated[int, Meta(ge=1, le=5, description="How satisfied: 1 (very dissatisfied) .. 5 (very satisfied).")]


class RatingOut(Struct):
    conversation_id: str
    target: str  # `answer:<message id>` (a team answer) or `close:<time>` (a close without any answer)
    answered: str
    satisfaction: int
    rated_at: str


class PulseIn(Struct, forbid_unknown_fields=True, kw_only=True):
    id: UUID
    question: Question
    areas: Annotated[list[UUID], Meta(min_length=1, max_length=MAX_PULSE_AREAS)]
    sample: Annotated[float, Meta(ge=0, le=1, description="Share of the areas' residents asked (keyed-hash sample).")] = 1.0


class PulseOut(Struct):
    id: str
    question: str
    areas: list[str]
    sample: float
    created_at: str
    sent: int  # residents it reached so far (inbox; and push where they have a push channel)
    state: Annotated[PulseState, Meta(description=(
        "Delivery, off the request: `queued` (written, not started), `sending` (some areas or pages "
        "done; `sent` counts so far), `sent` (every follower reached)."))] = "sent"


class PulseAnswerIn(Struct, forbid_unknown_fields=True):
    answer: Confidence


class PulseAnswerOut(Struct):
    pulse_id: str
    answered: bool


class TrustQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: DayOrTime = msgspec.field(name="from")
    to: DayOrTime
    group_by: Annotated[GroupBy, Meta(description="`month` only (the default): `day` and `week` are 422.")] = GRAIN
    purpose: Purpose
    team: TeamFilter | None = None
    area_id: AreaFilter | None = None


class Share(Struct):
    share: float
    low: float  # 95% Wilson score interval
    high: float


class Measure(Struct):
    """One question's answers in a bucket; all null (`withheld`) when fewer than 10 answered, or
    when publishing them would let a withheld figure be recovered by subtraction."""

    withheld: bool
    n: int | None = None
    counts: dict[str, int] | None = None
    shares: dict[str, Share] | None = None
    favourable: Share | None = None  # answered: yes; satisfaction: 4 or 5; confidence: excellent or good


class TrustBucket(Struct):
    period: str
    team: str
    area_id: str | None  # null: the whole team (its areas and conversations without one)
    answered: Measure
    satisfaction: Measure
    confidence: Measure


class UnpublishedMonth(Struct):
    """A month of the range whose figures are not published yet: no bucket at all (not even a
    withheld one), whatever was answered in it."""

    period: str
    reason: Unpublished
    published_from: str  # RFC 3339: the first moment its figures are published (its end + SETTLING)


class TrustOut(Struct):
    buckets: list[TrustBucket]  # published months only
    published_through: str  # the latest month published now (`YYYY-MM`), inside the range or not
    min_answers: int = MIN_ANSWERS
    unpublished: list[UnpublishedMonth] = msgspec.field(default_factory=list)  # the range's months not published yet


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pulse:
    id: str
    question: str
    areas: tuple[str, ...]
    sample: float
    created_at: str
    sent: int = 0
    state: PulseState = "sent"  # queued | sending | sent (domain/pulses.py); pulses from before the worker: sent
    updated_at: str = ""  # the delivery's last progress

    def same_request(self, body: PulseIn) -> bool:
        return (self.question == body.question and self.areas == tuple(str(a) for a in body.areas)
                and self.sample == body.sample)

    def to_out(self) -> PulseOut:
        return PulseOut(id=self.id, question=self.question, areas=list(self.areas), sample=self.sample,
                        created_at=self.created_at, sent=self.sent, state=self.state)


@dataclass(frozen=True)
class PulseSent:
    """A pulse reached one resident: where their answer will count, and their inbox copy's key."""

    subscriber_id: str
    area_id: str
    team: str
    inbox_key: str


@dataclass(frozen=True)
class Rating:
    """A resident's rating of one target of their conversation (erased with them)."""

    conversation_id: str
    target: str
    subscriber_id: str
    answered: str
    satisfaction: int
    rated_at: str
    # Where its counts go (`rating_counts`): the conversation's team and area (None: none) when rated.
    team: str = ""
    area_id: str | None = None

    def to_out(self) -> RatingOut:
        return RatingOut(conversation_id=self.conversation_id, target=self.target, answered=self.answered,
                         satisfaction=self.satisfaction, rated_at=self.rated_at)


# --- rules ------------------------------------------------------------------------------------


def rating_target(latest_team_answer: str | None, status: str, last_message_at: str) -> str | None:
    """What a rating now rates: the latest team answer; a closed conversation without one, its close
    (a reopened and closed again conversation has a new last message, so a new close); else None."""
    if latest_team_answer is not None:
        return f"answer:{latest_team_answer}"
    if status == "closed":
        return f"close:{last_message_at}"
    return None


def sampled(key: bytes, pulse_id: str, subscriber_id: str, sample: float) -> bool:
    """Deterministic keyed-hash sample: the same residents for a pulse on every retry, unpredictable
    without the key (so nobody can steer who is asked)."""
    if sample >= 1:
        return True
    digest = hmac.new(key, f"{pulse_id}|{subscriber_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < sample


def shard_of(seed: str) -> int:
    return int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16) % SHARDS


def counter_pk(team: str | None, grain: str) -> str:
    """Force-wide (`trust|<grain>`) or one team's (`trust|team:<team>|<grain>`)."""
    return f"trust|{grain}" if team is None else f"trust|team:{team}|{grain}"


def published_grain(group_by: str) -> str:
    """The grain of a figures read: the calendar month, and nothing finer (422): weekly or daily
    figures next to the monthly ones would let a month minus its published weeks or days single
    out fewer than `MIN_ANSWERS` answers, which suppression within one grain cannot prevent."""
    if group_by != GRAIN:
        raise Undisclosable(
            "Residents' trust is published by calendar month only (group_by=month), so that no small group "
            "can be singled out by combining periods.",
            [FieldError("group_by", "must be month")])
    return GRAIN


def count_keys(answers: Mapping[str, str], *, team: str, area_id: str | None, day: str,
               shard: int) -> dict[tuple[str, str], int]:
    """(pk, bucket) -> +1 for each measure's answer, in the month of `day`, force and team
    partitions (`trust|month`, `trust|team:<team>|month`). Bucket:
    `<month>|<team>|<area or ->|<measure>|<value>|<shard>`. The one place these counts are keyed
    (ratings: `rating_counts`, from the neighbourhoods table's stream; pulse answers: in the
    answer's transaction)."""
    deltas: dict[tuple[str, str], int] = {}
    area = area_id or NO_AREA
    for measure, value in sorted(answers.items()):
        bucket = f"{period_of(day, GRAIN)}|{team}|{area}|{measure}|{value}|{shard:02d}"
        for pk in (counter_pk(None, GRAIN), counter_pk(team, GRAIN)):
            deltas[(pk, bucket)] = deltas.get((pk, bucket), 0) + 1
    return deltas


def rating_counts(rating: Rating) -> dict[tuple[str, str], int]:
    """The counts one rating adds (the ratings stream's consumer, domain/stream_counts.py): its two
    measures, in the month it was given, under its team and area, on its target's shard."""
    return count_keys({"answered": rating.answered, "satisfaction": str(rating.satisfaction)}, team=rating.team,
                      area_id=rating.area_id, day=rating.rated_at[:10],
                      shard=shard_of(f"{rating.conversation_id}|{rating.target}"))


@dataclass(frozen=True)
class Count:
    period: str
    team: str
    area: str
    measure: str
    value: str


def parse_bucket(bucket: str) -> Count | None:
    """`<period>|<team>|<area>|<measure>|<value>|<shard>` (a team id may hold `|`)."""
    period, _, rest = bucket.partition("|")
    parts = rest.rsplit("|", 4)
    if len(parts) != 5 or parts[2] not in MEASURES:
        return None
    team, area, measure, value, _shard = parts
    return Count(period, team, area, measure, value)


# --- publication: ended and settled months only ---------------------------------------------


def _month_start(period: str) -> datetime:
    return datetime(int(period[:4]), int(period[5:7]), 1, tzinfo=UTC)


def _shift_month(period: str, months: int) -> str:
    index = int(period[:4]) * 12 + int(period[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def published_from(period: str) -> datetime:
    """The first moment month `period` (`YYYY-MM`) is published: its end plus `SETTLING`."""
    return _month_start(_shift_month(period, 1)) + SETTLING


def published_through(now: datetime) -> str:
    """The latest month published at `now`: the month before the one `SETTLING` ago."""
    return _shift_month((now - SETTLING).astimezone(UTC).strftime("%Y-%m"), -1)


def unpublished_reason(period: str, now: datetime) -> Unpublished | None:
    """None once the month is published; else why not yet."""
    if now >= published_from(period):
        return None
    if now < _month_start(period):
        return "not_started"
    return "in_progress" if now < _month_start(_shift_month(period, 1)) else "settling"


@dataclass(frozen=True)
class Publication:
    """What a read of months `first`..`last` may publish at `now`: the months up to `read_to`
    (None: none of them), and the others with their reasons."""

    read_to: str | None
    published_through: str
    unpublished: list[UnpublishedMonth]


def publication(first: str, last: str, now: datetime) -> Publication:
    latest = published_through(now)
    months = [first]
    while months[-1] < last:
        months.append(_shift_month(months[-1], 1))
    waiting = [UnpublishedMonth(period=m, reason=reason, published_from=to_rfc3339(published_from(m)))
               for m in months if (reason := unpublished_reason(m, now)) is not None]
    read_to = min(last, latest) if first <= latest else None
    return Publication(read_to=read_to, published_through=latest, unpublished=waiting)


# --- figures ----------------------------------------------------------------------------------


Tally = dict[tuple[str, str, str, str], dict[str, int]]  # (period, team, area, measure) -> value -> n


def tally(counters: Iterable[tuple[str, int]]) -> Tally:
    """Summed shards: (period, team, area, measure) -> answer -> count."""
    out: Tally = {}
    for bucket, count in counters:
        parsed = parse_bucket(bucket)
        if parsed is None or count <= 0:
            continue
        values = out.setdefault((parsed.period, parsed.team, parsed.area, parsed.measure), {})
        values[parsed.value] = values.get(parsed.value, 0) + count
    return out


def _node(period: str, team: str, area: str | None) -> str:
    return f"{period}\x00{team}" if area is None else f"{period}\x00{team}\x00{area}"


def _sizes(counts: Tally, family_measure: str) -> tuple[dict[str, int], dict[tuple[str, str], dict[str, int]]]:
    """Answers per team node and per area node (one measure stands for its family: every rating
    has both measures, so both have the same n), and per (period, team) the areas' sizes."""
    sizes: dict[str, int] = {}
    parts: dict[tuple[str, str], dict[str, int]] = {}
    for (period, team, area, measure), values in counts.items():
        if measure != family_measure:
            continue
        n = sum(values.values())
        team_node = _node(period, team, None)
        sizes[team_node] = sizes.get(team_node, 0) + n
        parts.setdefault((period, team), {})[area] = n
        if area != NO_AREA:
            sizes[_node(period, team, area)] = n
    return sizes, parts


def hidden_nodes(counts: Tally, family_measure: str) -> set[str]:
    """The team and area figures to withhold for one family: each team's total is the sum of its
    areas and of its answers without an area (the remainder), so the areas are parts of it."""
    sizes, parts = _sizes(counts, family_measure)
    rules = [Constraint(parent=_node(period, team, None),
                        children=tuple(_node(period, team, a) for a in sorted(areas) if a != NO_AREA),
                        remainder=areas.get(NO_AREA, 0))
             for (period, team), areas in parts.items()]
    return withheld(sizes, rules)


def _share(count: int, n: int) -> Share:
    low, high = wilson(count, n)
    return Share(share=round(count / n, 4), low=round(low, 4), high=round(high, 4))


def measure(values: Mapping[str, int] | None, measure_name: str, hidden: bool) -> Measure:
    n = sum(values.values()) if values else 0
    if hidden or n < MIN_ANSWERS or values is None:
        return Measure(withheld=True)
    answers = MEASURES[measure_name]
    counts = {v: values.get(v, 0) for v in answers}
    favourable = sum(counts[v] for v in FAVOURABLE[measure_name])
    return Measure(withheld=False, n=n, counts=counts, shares={v: _share(counts[v], n) for v in answers},
                   favourable=_share(favourable, n))


def _team_totals(counts: Tally) -> dict[tuple[str, str, str], dict[str, int]]:
    """(period, team, measure) -> answer -> count, over the team's areas and the remainder."""
    totals: dict[tuple[str, str, str], dict[str, int]] = {}
    for (period, team, _area, name), values in counts.items():
        total = totals.setdefault((period, team, name), {})
        for value, n in values.items():
            total[value] = total.get(value, 0) + n
    return totals


def _bucket_keys(counts: Tally, area_filter: str | None) -> list[tuple[str, str, str | None]]:
    """(period, team, None) for each team's bucket and (period, team, area) for each named area's,
    sorted; only that area's with `area_filter`."""
    teams: set[tuple[str, str, str | None]] = {(p, t, None) for p, t, _a, _m in counts}
    areas: set[tuple[str, str, str | None]] = {(p, t, a) for p, t, a, _m in counts if a != NO_AREA}
    keys = areas if area_filter is not None else teams | areas
    return sorted((k for k in keys if area_filter is None or k[2] == area_filter),
                  key=lambda k: (k[0], k[1], k[2] or ""))


def figures(counts: Tally, area_filter: str | None = None) -> list[TrustBucket]:
    """One bucket per (period, team) (`area_id` null) and per (period, team, area), sorted;
    `area_filter`: that area's buckets only (withheld exactly as in the unfiltered answer)."""
    hidden = {family: hidden_nodes(counts, m) for family, m in (("rating", "answered"), ("pulse", "confidence"))}
    totals = _team_totals(counts)
    out = []
    for period, team, area in _bucket_keys(counts, area_filter):
        node = _node(period, team, area)
        by_measure = {}
        for name in MEASURES:
            values = totals.get((period, team, name)) if area is None else counts.get((period, team, area, name))
            by_measure[name] = measure(values, name, node in hidden[FAMILY_OF[name]])
        out.append(TrustBucket(period=period, team=team, area_id=area, **by_measure))
    return out
