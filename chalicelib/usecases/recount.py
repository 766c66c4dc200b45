"""The recount (issue 23): check every derived figure against the records it is derived from, and
repair the differences (domain/recount.py says what each kind recounts; infra/recount.py is the
operator's command). Not a request path, but still no Scan: per team, the contacts' `by_team`
index page by page, the conversations' team/status index (`team_page`), one Query per counter
key and per rated conversation.

Repair once the streams have settled and at a quiet time: a change applied between the check and
the repair is counted by both (check again afterwards: it should report nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from chalicelib.domain import conversations as conv_rules
from chalicelib.domain import engagement, stats_keys, trust
from chalicelib.domain import recount as rules
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.conversations import Conversation
from chalicelib.domain.recount import KINDS, Drift, Item, Numbers

if TYPE_CHECKING:
    from chalicelib.services import Services

CONTACT_PAGE = 500
CONVERSATION_PAGE = 100


@dataclass(frozen=True)
class Scope:
    """What one check covers: the days, the teams, whether force-wide items too, which kinds."""

    day_from: date
    day_to: date
    teams: tuple[str, ...]
    force: bool
    kinds: frozenset[str]

    @property
    def first(self) -> str:
        return f"{self.day_from.isoformat()}|"

    @property
    def last(self) -> str:
        return f"{self.day_to.isoformat()}|\uffff"


# -- teams ------------------------------------------------------------------------------------


def counted_teams(svc: Services, day_from: date, day_to: date) -> set[str]:
    """The teams the force-wide counters name in the days: statistics (`team`), conversation
    figures and the open-wait gauge (so a team with conversations but no contacts is recounted)."""
    first, last = f"{day_from.isoformat()}|", f"{day_to.isoformat()}|\uffff"
    named = {b.split("|", 1)[1] for b, _ in svc.store.contacts.counters(
        stats_keys.counter_pk(stats_keys.FORCE_SCOPE, "team"), first, last)}
    named |= {b.split("|", 1)[1].rsplit("|", 1)[0] for b, _ in svc.store.conversations.figures(
        conv_rules.figures_pk(None, "day"), first, last)}
    named |= {b.split("|", 1)[1] for b, _ in svc.store.conversations.figures(conv_rules.waits_pk(None), first, last)}
    return named


def _scope(svc: Services, day_from: date, day_to: date, teams: Iterable[str], force: bool,
           kinds: Iterable[str]) -> Scope:
    every = {*counted_teams(svc, day_from, day_to), *teams} if force else set(teams)
    wanted = frozenset(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds: {sorted(unknown)}")
    return Scope(day_from, day_to, tuple(sorted(every)), force, wanted)


# -- reading the records ------------------------------------------------------------------------


def _team_contacts(svc: Services, team: str, day_from: date, day_to: date) -> Iterator[ContactRecord]:
    """Every contact of `team` that occurred in the days (Query on `by_team`, page by page)."""
    position: dict[str, Any] | None = None
    while True:
        page = svc.store.contacts.list_contacts(
            team=team, occurred_from=f"{day_from.isoformat()}T00:00:00Z", occurred_to=f"{day_to.isoformat()}T23:59:59Z",
            kind=None, limit=CONTACT_PAGE, position=position)
        yield from page.records
        if page.position is None:
            return
        position = page.position


def _status_pages(svc: Services, team: str, status: str, since: str | None) -> Iterator[Conversation]:
    """One status of the team's index, page by page; answered and closed (latest first) only
    down to `since`."""
    start: dict[str, Any] | None = None
    while True:
        items, start = svc.store.conversations.team_page(team, status, CONVERSATION_PAGE, start)
        for conv in items:
            if since is not None and conv.last_message_at < since:
                return
            yield conv
        if start is None:
            return


def _team_conversations(svc: Services, team: str, scope: Scope) -> Iterator[Conversation]:
    """The waiting ones (the erased queue too: still waiting) always; answered and closed ones
    last active since the first day for the figures (opened, first answered: no later than their
    last message), all of them for ratings (a close can be rated long after), none for waits only."""
    for status in ("waiting", conv_rules.ERASED_QUEUE):
        yield from _status_pages(svc, team, status, None)
    if not scope.kinds & {"figures", "trust"}:
        return
    since = None if "trust" in scope.kinds else f"{scope.day_from.isoformat()}T00:00:00Z"
    for status in ("answered", "closed"):
        yield from _status_pages(svc, team, status, since)


# -- counted ------------------------------------------------------------------------------------


def _plain(rows: Iterable[tuple[str, int]], key: str, keep: Any = None) -> Numbers:
    """Summed counter rows of one key as items, those `keep(bucket)` accepts."""
    return {(key, bucket): {rules.COUNT: n} for bucket, n in rows if keep is None or keep(bucket)}


def _keys(scope: Scope, team_key: Any, force_key: str, keep: Any, team_of: Any) -> list[tuple[str, Any]]:
    """(key, which of its buckets count): each team's key, and the force-wide key's buckets of
    the teams recounted."""
    keys: list[tuple[str, Any]] = [(team_key(team), keep) for team in scope.teams]
    if scope.force:
        teams = set(scope.teams)
        keys.append((force_key, lambda bucket: keep(bucket) and team_of(bucket) in teams))
    return keys


# -- each kind ----------------------------------------------------------------------------------


def _plain_kind(svc: Services, scope: Scope, kind: str, keys: list[tuple[str, Any]],
                expected_days: Mapping[Item, int]) -> list[Drift]:
    """Plain counters (stats, figures): the day counters of the days, and the week and month
    counters of the periods wholly within them, against the recount's days and their roll-ups."""
    counted: Numbers = {}
    inside = rules.grains_inside(scope.day_from, scope.day_to)
    for key, keep in keys:
        counted.update(_plain(svc.store.contacts.counters(key, scope.first, scope.last), key, keep))
        for grain, (first, last) in inside.items():
            rolled = stats_keys.grain_pk(key, grain)
            counted.update(_plain(svc.store.contacts.counters(rolled, f"{first}|", f"{last}|\uffff"), rolled, keep))
    wanted = {key for key, _ in keys}
    days = {item: n for item, n in expected_days.items()
            if item[0] in wanted and rules.in_days(item[1], scope.day_from, scope.day_to)}
    expected = rules.plain({**days, **rules.roll_ups(days, scope.day_from, scope.day_to)})
    return [rules.with_roll_ups(d, scope.day_from, scope.day_to) for d in rules.drifts(kind, counted, expected)]


def _stats(svc: Services, scope: Scope, expected: Counter[Item]) -> list[Drift]:
    keys = [stats_keys.counter_pk(stats_keys.team_scope(t), d) for t in scope.teams for d in stats_keys.DIMENSIONS
            if d != "team"]
    if scope.force:
        keys += [stats_keys.counter_pk(stats_keys.FORCE_SCOPE, d) for d in stats_keys.DIMENSIONS]
    return _plain_kind(svc, scope, "stats", [(key, None) for key in sorted(keys)], expected)


def _engagement(svc: Services, scope: Scope, recounted: rules.EngagementRecount) -> list[Drift]:
    members: Numbers = {}
    counters: Numbers = {}
    for grain in engagement.GRAINS:
        first, last = rules.periods(scope.day_from, scope.day_to, grain)
        span = (f"{first}|", f"{last}|\uffff")
        for team in scope.teams:
            key = engagement.member_key(team, grain)
            members.update({(key, b): n for b, n in svc.store.engagement.items(key, *span)})
            key = engagement.team_key(team, grain)
            counters.update(rules.unsharded(svc.store.engagement.items(key, *span), key))
        if scope.force:
            key = engagement.force_key(grain)
            teams = set(scope.teams)
            counters.update({item: n for item, n in rules.unsharded(svc.store.engagement.items(key, *span), key).items()
                             if item[1].split("|", 1)[1] in teams})
    expected = recounted.counters()
    if not scope.force:
        expected = {item: n for item, n in expected.items() if not item[0].startswith(stats_keys.FORCE_SCOPE)}
    return (rules.drifts("engagement", members, recounted.members)
            + rules.drifts("engagement", counters, expected))


def _figures(svc: Services, scope: Scope, conversations: Sequence[Conversation]) -> list[Drift]:
    keys = _keys(scope, lambda t: conv_rules.figures_pk(t, "day"), conv_rules.figures_pk(None, "day"),
                 rules.recounted_event, lambda b: b.split("|", 1)[1].rsplit("|", 1)[0])
    return _plain_kind(svc, scope, "figures", keys, rules.figure_counts(conversations))


def _waits(svc: Services, scope: Scope, conversations: Sequence[Conversation]) -> list[Drift]:
    keys = _keys(scope, conv_rules.waits_pk, conv_rules.waits_pk(None), lambda b: True, lambda b: b.split("|", 1)[1])
    counted: Numbers = {}
    for key, keep in keys:
        counted.update(_plain(svc.store.conversations.figures(key, scope.first, scope.last), key, keep))
    wanted = {key for key, _ in keys}
    return rules.drifts("waits", counted, rules.plain({
        item: n for item, n in rules.wait_counts(conversations).items()
        if item[0] in wanted and rules.in_days(item[1], scope.day_from, scope.day_to)}))


def _trust_counted(svc: Services, span: tuple[str, str], keys: list[tuple[str, Any]]) -> Numbers:
    """Stored rating counts of the keys, shards summed (pulse answers left out)."""
    counted: Numbers = {}
    for key, keep in keys:
        summed: Counter[str] = Counter()
        for bucket, n in svc.store.trust.counts(key, *span):
            logical = rules.rating_bucket(bucket)
            if logical is not None and keep(logical):
                summed[logical] += n
        counted.update(rules.plain({(key, b): n for b, n in summed.items()}))
    return counted


def _trust(svc: Services, scope: Scope, conversations: Sequence[Conversation]) -> list[Drift]:
    """Rating counts below the rating items left (erasure deletes items and keeps counts), in the
    grain they are kept (the calendar month: every month touching the days)."""
    ratings = [(rating, conv) for conv in conversations if rules.may_be_rated(conv)
               for rating in svc.store.trust.conversation_ratings(conv.id)]
    keys = _keys(scope, lambda t: trust.counter_pk(t, trust.GRAIN), trust.counter_pk(None, trust.GRAIN),
                 lambda b: True, lambda b: b.split("|", 2)[1])
    first, last = rules.periods(scope.day_from, scope.day_to, trust.GRAIN)
    wanted = {key for key, _ in keys}
    expected = {item: n for item, n in rules.rating_counts(ratings).items()
                if item[0] in wanted and first <= item[1].split("|", 1)[0] <= last}
    counted = _trust_counted(svc, (f"{first}|", f"{last}|\uffff"), keys)
    return rules.drifts("trust", counted, rules.plain(expected), lower_bound=True)


# -- check and repair ---------------------------------------------------------------------------


def _contact_kinds(svc: Services, scope: Scope) -> list[Drift]:
    """Statistics and engagement, from one read of each team's contacts over whole periods."""
    first, last = rules.whole_periods(scope.day_from, scope.day_to) if "engagement" in scope.kinds else (
        scope.day_from, scope.day_to)
    stats: Counter[Item] = Counter()
    members = rules.EngagementRecount(svc.pseudonyms.staff, svc.contact_rules.retention, scope.day_from, scope.day_to)
    for team in scope.teams:
        for record in _team_contacts(svc, team, first, last):
            if scope.day_from.isoformat() <= record.occurred_at[:10] <= scope.day_to.isoformat():
                stats.update(record.counter_keys())
            members.add(record)
    found = _stats(svc, scope, stats) if "stats" in scope.kinds else []
    return found + (_engagement(svc, scope, members) if "engagement" in scope.kinds else [])


def _conversation_kinds(svc: Services, scope: Scope) -> list[Drift]:
    conversations = [conv for team in scope.teams for conv in _team_conversations(svc, team, scope)]
    found = _figures(svc, scope, conversations) if "figures" in scope.kinds else []
    found += _waits(svc, scope, conversations) if "waits" in scope.kinds else []
    return found + (_trust(svc, scope, conversations) if "trust" in scope.kinds else [])


def check(svc: Services, day_from: date, day_to: date, teams: Sequence[str] = (), force: bool = True,
          kinds: Iterable[str] = KINDS) -> list[Drift]:
    """Every stored number of the kinds asked that differs from a recount, for the days: of each
    team and, with `force`, the force-wide items (then every team the counters name is recounted
    too; `teams` adds those without any)."""
    scope = _scope(svc, day_from, day_to, teams, force, kinds)
    found = _contact_kinds(svc, scope) if scope.kinds & {"stats", "engagement"} else []
    return found + (_conversation_kinds(svc, scope) if scope.kinds & {"figures", "waits", "trust"} else [])


def _writes(svc: Services, kind: str, drifts: Sequence[Drift]) -> tuple[Numbers, dict[Item, Any]]:
    """A kind's drifts -> the items to ADD to (roll-ups and repair shard included) and their TTLs."""
    if kind in ("stats", "figures"):
        return rules.plain_repair(drifts), {}
    day = {(d.key, d.bucket): d.difference for d in drifts}
    if kind in ("waits", "trust"):  # no roll-ups: the gauge is by day, rating counts by month only
        return rules.plain({(k, f"{b}|{rules.REPAIR_SHARD}"): n for (k, b), n in day.items()}), {}
    adds: Numbers = {}
    expires: dict[Item, Any] = {}
    for d in drifts:
        item = (d.key, d.bucket if engagement.MEMBER_PART in d.key else f"{d.bucket}|{rules.REPAIR_SHARD}")
        adds.setdefault(item, {})[d.attribute] = d.difference
        expires[item] = rules.expires_of(d.key, d.bucket, svc.contact_rules.retention)
    return adds, expires


def repair(svc: Services, drifts: Sequence[Drift], run_id: str, per_write: int = 90) -> int:
    """Add each drift's difference (with the roll-ups of its kind) so the stored numbers equal the
    recount; each write of at most `per_write` items under a marker named by `run_id` and its
    content, so the same repair run again with the same id changes nothing. The items written."""
    now, written = svc.clock(), 0
    for kind in KINDS:
        adds, expires = _writes(svc, kind, [d for d in drifts if d.kind == kind])
        items = sorted(adds.items())
        for start in range(0, len(items), per_write):
            chunk: Mapping[Item, Mapping[str, int]] = dict(items[start:start + per_write])
            if svc.store.recount.add(rules.marker(run_id, kind, chunk), chunk,
                                     {i: expires[i] for i in chunk if i in expires}, now):
                written += len(chunk)
    return written
