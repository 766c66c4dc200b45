"""The recount (issue 23): what every derived figure should hold, recomputed from the records it
is derived from, and the drifts between that and what is stored. Pure, no I/O
(usecases/recount.py reads and writes; infra/recount.py is the operator's command).

Kinds (plain counters are compared by day, and by week and month for the periods wholly within
the days; a day counter's repair moves the other weeks and months alike, as a lost or doubled
change did):

- `stats`: the statistics counters, from the contacts (domain.stats_keys);
- `engagement`: the member items and the distinct-staff counter items (domain.engagement), from
  the contacts, for every day, ISO week and month touching the days asked (distinct counts do not
  roll up, so whole weeks and months are recounted);
- `figures`: the conversation figures a conversation item still shows: `opened` / `dismissed`
  (created, closed as abuse or not), `answered` and its first-response bucket `frt:<k>`
  (`first_response_at`), and the open gauge `past_standard_now`. The others (`closed`, `over24`,
  `answered_wait`, `within_standard`, `past_standard`, `escalated`) count events of earlier waits
  and closes that no item keeps: they cannot be recounted;
- `waits`: the open-wait gauge (domain.conversations.wait_gauge): one per conversation waiting now,
  in the day its wait began;
- `trust`: rating counts (`answered`, `satisfaction`; kept by calendar month) from the rating
  items. Erasure deletes a resident's rating items and keeps the counts, so the items are a lower
  bound: only a count below them is a drift. Pulse answers (`confidence`) are kept as counts only,
  by design: they cannot be recounted.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from chalicelib.domain import conversations as conv_rules
from chalicelib.domain import engagement, stats_keys, trust
from chalicelib.domain import strength as strengths
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.conversations import Conversation
from chalicelib.domain.trust import Rating

KINDS = ("stats", "engagement", "figures", "waits", "trust")
COUNT = "contacts"  # the number attribute of a plain counter item
REPAIR_SHARD = "00"  # repairs add to this shard of a sharded counter (readers sum the shards)
RECOUNTED_EVENTS = frozenset({"opened", "dismissed", "answered", "past_standard_now"})
RATING_MEASURES = ("answered", "satisfaction")

Item = tuple[str, str]  # (key, bucket) of a stats-table item
Numbers = dict[Item, dict[str, int]]  # item -> number attribute -> value


@dataclass(frozen=True)
class Drift:
    """One number of one stored item that differs from the recount. Sharded counters are
    compared summed: `bucket` is then the bucket without its shard."""

    key: str
    bucket: str
    counted: int
    recounted: int
    kind: str = "stats"
    attribute: str = COUNT
    roll_ups: tuple[str, ...] = ()  # a day counter's: the grains its repair moves alike (not compared)

    @property
    def difference(self) -> int:
        return self.recounted - self.counted


def drifts(kind: str, counted: Mapping[Item, Mapping[str, int]], expected: Mapping[Item, Mapping[str, int]],
           lower_bound: bool = False) -> list[Drift]:
    """Every (item, attribute) whose stored number differs from the recount (absent = 0). With
    `lower_bound` (the records may be fewer than what was counted) only counts below it."""
    found = []
    for item in sorted(set(counted) | set(expected)):
        have, want = counted.get(item, {}), expected.get(item, {})
        for name in sorted(set(have) | set(want)):
            stored, recounted = have.get(name, 0), want.get(name, 0)
            if stored != recounted and not (lower_bound and stored > recounted):
                found.append(Drift(item[0], item[1], stored, recounted, kind, name))
    return found


def plain(counts: Mapping[Item, int]) -> Numbers:
    """Plain counters (one number each) as items."""
    return {item: {COUNT: n} for item, n in counts.items() if n}


def in_days(bucket: str, day_from: date, day_to: date) -> bool:
    """A day bucket (`<day>|...`) within the days."""
    return day_from.isoformat() <= bucket[:10] <= day_to.isoformat()


def inside(period: str, grain: str, day_from: date, day_to: date) -> bool:
    """The whole period lies within the days."""
    start = strengths.period_start(period, grain)
    return start >= day_from and engagement.period_end(start.isoformat(), grain) <= day_to


def grains_inside(day_from: date, day_to: date) -> dict[str, tuple[str, str]]:
    """Week and month: the first and last period wholly within the days (grains with none left out)."""
    found = {}
    for grain in stats_keys.PERIOD_GRAINS:
        first_day = day_from
        if not inside(stats_keys.period_of(first_day.isoformat(), grain), grain, day_from, day_to):
            first_day = engagement.period_end(day_from.isoformat(), grain) + timedelta(days=1)
        last_day = day_to
        if not inside(stats_keys.period_of(last_day.isoformat(), grain), grain, day_from, day_to):
            last_day = strengths.period_start(stats_keys.period_of(day_to.isoformat(), grain), grain) - timedelta(days=1)
        if first_day <= last_day:
            found[grain] = (stats_keys.period_of(first_day.isoformat(), grain),
                            stats_keys.period_of(last_day.isoformat(), grain))
    return found


def roll_ups(day_counts: Mapping[Item, int], day_from: date, day_to: date) -> Counter[Item]:
    """The week and month counters of plain day counters (`<day>|<value>`), for the periods wholly
    within the days (the only ones a recount of those days knows whole)."""
    out: Counter[Item] = Counter()
    for (key, bucket), n in day_counts.items():
        day, _, value = bucket.partition("|")
        for grain in stats_keys.PERIOD_GRAINS:
            period = stats_keys.period_of(day, grain)
            if inside(period, grain, day_from, day_to):
                out[(stats_keys.grain_pk(key, grain), stats_keys.counter_sk(period, value))] += n
    return out


def with_roll_ups(drift: Drift, day_from: date, day_to: date) -> Drift:
    """A day counter's drift names the grains its repair moves alike: those whose period is not
    wholly within the days (the others are compared, and repaired, on their own)."""
    if drift.key.rsplit("|", 1)[-1] in stats_keys.PERIOD_GRAINS:
        return drift
    day = drift.bucket[:10]
    grains = tuple(g for g in stats_keys.PERIOD_GRAINS if not inside(stats_keys.period_of(day, g), g, day_from, day_to))
    return replace(drift, roll_ups=grains)


def plain_repair(drifts: Iterable[Drift]) -> Numbers:
    """Plain counter drifts -> the items to ADD to: each drift's own, and its roll-ups'."""
    adds: Counter[Item] = Counter()
    for drift in drifts:
        adds[(drift.key, drift.bucket)] += drift.difference
        day, _, value = drift.bucket.partition("|")
        for grain in drift.roll_ups:
            adds[(stats_keys.grain_pk(drift.key, grain), stats_keys.counter_sk(stats_keys.period_of(day, grain), value))] \
                += drift.difference
    return plain({(key, f"{bucket}|{REPAIR_SHARD}"): n for (key, bucket), n in adds.items()})


def marker(run_id: str, kind: str, adds: Mapping[Item, Mapping[str, int]]) -> str:
    """Names one repair write by its run and content: the same write again under the same run id
    is refused by its marker; a different one (what is left after a partial run) is not."""
    digest = hashlib.sha256(repr(sorted((item, sorted(n.items())) for item, n in adds.items())).encode())
    return f"recount-{run_id}-{kind}-{digest.hexdigest()[:16]}"


# -- engagement ---------------------------------------------------------------------------------


def whole_periods(day_from: date, day_to: date) -> tuple[date, date]:
    """The days of every ISO week and month touching the days (what engagement recounts)."""
    first = min(day_from - timedelta(days=day_from.weekday()), day_from.replace(day=1))
    last = max(engagement.period_end(day_to.isoformat(), "week"), engagement.period_end(day_to.isoformat(), "month"))
    return first, last


def periods(day_from: date, day_to: date, grain: str) -> tuple[str, str]:
    """The first and last period of `grain` touching the days."""
    return stats_keys.period_of(day_from.isoformat(), grain), stats_keys.period_of(day_to.isoformat(), grain)


def _in_range(record: ContactRecord, day_from: date, day_to: date, grain: str) -> bool:
    """The contact's period of `grain` touches the days (ISO weeks sort as `<ISO year>-W<nn>`)."""
    first, last = periods(day_from, day_to, grain)
    return first <= stats_keys.period_of(record.occurred_at[:10], grain) <= last


@dataclass
class EngagementRecount:
    """Member items as the contacts added so far say, for the periods touching the days, and the
    TTL each item should carry; `counters()`: the distinct-count items they make."""

    member: engagement.MemberFn
    retention: timedelta
    day_from: date
    day_to: date
    members: Numbers = field(default_factory=dict)
    expires: dict[Item, datetime] = field(default_factory=dict)

    def add(self, record: ContactRecord) -> None:
        for move in engagement.log_moves(None, record, self.member, self.retention):
            if not _in_range(record, self.day_from, self.day_to, move.key.rsplit("|", 1)[1]):
                continue
            into = self.members.setdefault((move.key, move.bucket), {})
            for name, delta in move.deltas.items():
                into[name] = into.get(name, 0) + delta
            self.expires[(move.key, move.bucket)] = move.expires_at
            for key, bucket in move.counters:
                self.expires[(key, bucket.rsplit("|", 1)[0])] = move.expires_at

    def counters(self) -> Numbers:
        """Team items `<period>` and force items `<period>|<team>` (shards summed)."""
        return _distinct(self.members)


def expires_of(key: str, bucket: str, retention: timedelta) -> datetime:
    """The TTL of an engagement item: the end of its period plus the retention."""
    grain, period = key.rsplit("|", 1)[1], bucket.split("|", 1)[0]
    start = strengths.period_start(period, grain).isoformat()
    return datetime.combine(engagement.period_end(start, grain), time(23, 59, 59), UTC) + retention


def _distinct(members: Mapping[Item, Mapping[str, int]]) -> Numbers:
    counters: Numbers = {}
    for (key, bucket), state in members.items():
        team = key.split("|", 1)[0].removeprefix("team:")
        grain = key.rsplit("|", 1)[1]
        period = bucket.split("|", 1)[0]
        for item in ((engagement.team_key(team, grain), period), (engagement.force_key(grain), f"{period}|{team}")):
            into = counters.setdefault(item, {})
            for name in engagement.counted(state):
                into[name] = into.get(name, 0) + 1
    return counters


def unsharded(rows: Iterable[tuple[str, Mapping[str, int]]], key: str) -> Numbers:
    """Stored engagement counter items of one key, shards summed (`<...>|<shard>` -> `<...>`)."""
    out: Numbers = {}
    for bucket, numbers in rows:
        into = out.setdefault((key, bucket.rsplit("|", 1)[0]), {})
        for name, n in numbers.items():
            into[name] = into.get(name, 0) + n
    return out


# -- conversations ------------------------------------------------------------------------------


def figure_counts(conversations: Iterable[Conversation]) -> Counter[Item]:
    """The day figure counters (force and team) of the recountable events, as the conversations
    are now: `opened` or `dismissed` in the day it opened, `answered` and `frt:<k>` in the day of
    the first answer, `past_standard_now` in the day its open wait passed its standard."""
    counts: Counter[Item] = Counter()
    for conv in conversations:
        dismissed = conv.status == "closed" and conv.outcome == conv_rules.ABUSE
        events = [(conv.created_at, "dismissed" if dismissed else "opened")]
        if conv.first_response_at:
            minutes = conv_rules.minutes_between(conv.created_at, conv.first_response_at)
            events += [(conv.first_response_at, "answered"),
                       (conv.first_response_at, f"frt:{conv_rules.bucket_of(minutes):02d}")]
        if conv.status == "waiting" and conv.waiting_since and conv.past_standard_at:
            events.append((conv.past_standard_at, "past_standard_now"))
        for at, event in events:
            for key in (conv_rules.figures_pk(None, "day"), conv_rules.figures_pk(conv.team, "day")):
                counts[(key, f"{at[:10]}|{conv.team}|{event}")] += 1
    return counts


def recounted_event(bucket: str) -> bool:
    """A figure bucket `<period>|<team>|<event>` of an event the conversations still show."""
    event = bucket.rsplit("|", 1)[1]
    return event in RECOUNTED_EVENTS or event.startswith("frt:")


def wait_counts(conversations: Iterable[Conversation]) -> Counter[Item]:
    """The open-wait gauge (force and team) as the conversations waiting now make it."""
    counts: Counter[Item] = Counter()
    for conv in conversations:
        if conv.status == "waiting" and conv.waiting_since:
            counts.update(conv_rules.wait_gauge(None, conv))
    return counts


def may_be_rated(conv: Conversation) -> bool:
    """A rating needs a team answer or a close."""
    return bool(conv.first_response_at) or conv.status == "closed"


# -- trust --------------------------------------------------------------------------------------


def rating_counts(ratings: Iterable[tuple[Rating, Conversation]]) -> Counter[Item]:
    """Rating counts (force and team, in the grain they are kept: domain.trust.count_keys), shards
    summed: buckets `<period>|<team>|<area>|<measure>|<value>`."""
    counts: Counter[Item] = Counter()
    for rating, conv in ratings:
        answers = {"answered": rating.answered, "satisfaction": str(rating.satisfaction)}
        for (key, bucket), n in trust.count_keys(answers, team=conv.team, area_id=conv.area_id,
                                                  day=rating.rated_at[:10], shard=0).items():
            counts[(key, bucket.rsplit("|", 1)[0])] += n
    return counts


def rating_bucket(bucket: str) -> str | None:
    """A stored trust bucket of a rating measure without its shard; None for pulse answers."""
    parsed = trust.parse_bucket(bucket)
    if parsed is None or parsed.measure not in RATING_MEASURES:
        return None
    return bucket.rsplit("|", 1)[0]
