"""Engagement breadth: how many distinct staff of a team logged contacts per period. Pure, no I/O.

Kept as counters written in the contact's own transaction (see docs/history.md, "Engagement"),
in two kinds of stats-table items:

- member items (never read by the API): one per (team, grain, period, member), key
  `team:<id>|engmember|<grain>`, bucket `<period>|<member>`, one number attribute per
  `<category><role>` = that member's contacts of that category and role in the period. `member`
  is a keyed staff pseudonym that is different for every period (so the stored items cannot link
  one person across periods, nor to the `off_` pseudonym of history rows); and one per
  `<category>r_<rank>` = that member's contacts of that category logged at that rank;
- counter items (what the read Queries): `team:<id>|engagement|<grain>` / `<period>|<shard>` and
  `force|engagement|<grain>` / `<period>|<team>|<shard>`, attributes `<category>_<role>` =
  distinct members (category `a` any, `s`, `n`, `o`; role `o`, `s`, `t` either), shards summed,
  and `<category>_r_<rank>` = distinct members by rank (`unknown`: logged without a rank).

A write first assumes the member's counted state does not change (`optimistic_checks`: each moved
attribute is and stays > 0), which holds for every contact but a member's first (or, for an
amendment, last) of that period and category: one round trip, counter items untouched. When a
member item fails that condition, the store retries with the state it returned (`settle`): the
conditions pin that state, the counter items get the exact distinct-count change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from chalicelib.domain import ranks, stats_keys
from chalicelib.domain import strength as strengths
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.history import DayOrTime, GroupBy, Purpose, TeamFilter

GRAINS = ("day", "week", "month")
# Member attributes: one letter category, one letter role.
CATEGORIES = {"s": "street", "n": "online", "o": "online_outbound"}
ROLES = {"o": "officer", "s": "supervisor"}
ROLE_CODES = {name: code for code, name in ROLES.items()}
ROLE_ATTRIBUTES = tuple(f"{c}{r}" for c in CATEGORIES for r in ROLES)
RANK_KEYS = (*ranks.RANKS, ranks.UNKNOWN)
RANK_MARK = "r_"  # member attribute `<category>r_<rank>`, counter attribute `<category>_r_<rank>`
MEMBER_ATTRIBUTES = ROLE_ATTRIBUTES + tuple(f"{c}{RANK_MARK}{rank}" for c in CATEGORIES for rank in RANK_KEYS)
# Counter attributes: `<category>_<role>`, category `a` = any (street or online), role `t` = either.
COUNTED_CATEGORIES = {"a": "any", "s": "street", "n": "online", "o": "online_outbound"}
COUNTED_ROLES = ("o", "s", "t")
# Counter items could be split over shards chosen by contact id (the reader sums them); one is
# enough: only a member's first (or last) contact of a period touches a counter item, so even
# concurrent syncs rarely meet there (TransactionConflict is retried), and one item per period and
# team means the read costs the same from the first contact of each period on.
SHARDS = 1
KEY_PART = "engagement"
MEMBER_PART = "engmember"

# (grain, period, staff sub) -> period-scoped keyed pseudonym (`stf_...`).
MemberFn = Callable[[str, str, str], str]
# A condition on one member attribute: (attribute, ">" | "<=", threshold); "<=" includes absent.
Check = tuple[str, Literal[">", "<="], int]


def author_role(roles: Iterable[str]) -> str | None:
    """The role a contact is counted under: supervisor if the author holds it, else officer."""
    held = set(roles)
    if "supervisor" in held:
        return "supervisor"
    if "officer" in held:
        return "officer"
    return None


@dataclass(frozen=True)
class Activity:
    """What one contact contributes: its author, team, UTC day, role and categories."""

    contact_id: str
    sub: str
    team: str
    day: str
    role: str
    categories: tuple[str, ...]
    rank: str = ranks.UNKNOWN


def activity(*, contact_id: str, author: str, team: str, occurred_at: str, kind: str, direction: str | None,
             role: str | None, rank: str | None = None) -> Activity | None:
    """None for contacts not logged by staff (alert responses, contacts older than the counters)."""
    if role not in ROLE_CODES:
        return None
    codes = ["s"] if kind == "street" else ["n"]
    if kind == "online" and direction == "outbound":
        codes.append("o")
    return Activity(contact_id=contact_id, sub=author, team=team, day=occurred_at[:10], role=role,
                    categories=tuple(codes), rank=ranks.known_rank(rank) or ranks.UNKNOWN)


def team_key(team: str, grain: str) -> str:
    return f"{stats_keys.team_scope(team)}|{KEY_PART}|{grain}"


def force_key(grain: str) -> str:
    return f"{stats_keys.FORCE_SCOPE}|{KEY_PART}|{grain}"


def member_key(team: str, grain: str) -> str:
    return f"{stats_keys.team_scope(team)}|{MEMBER_PART}|{grain}"


def shard_of(contact_id: str) -> int:
    return int(hashlib.sha256(contact_id.encode()).hexdigest()[:8], 16) % SHARDS


def period_end(day: str, grain: str) -> date:
    """The last UTC day of the period `day` falls in."""
    start = date.fromisoformat(day)
    if grain == "day":
        return start
    if grain == "week":
        return start + timedelta(days=6 - start.weekday())
    first_next = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first_next - timedelta(days=1)


@dataclass
class MemberMove:
    """ADD `deltas` (member attribute -> delta) to one member item and SET its TTL; if that
    changes what the member is counted under, the counter items `counters` move too."""

    key: str
    bucket: str
    expires_at: datetime
    counters: tuple[tuple[str, str], ...]
    deltas: dict[str, int] = field(default_factory=dict)


def _contributions(act: Activity, member: MemberFn, retention: timedelta, sign: int) -> list[MemberMove]:
    moves = []
    role = ROLE_CODES[act.role]
    shard = f"{shard_of(act.contact_id):02d}"
    for grain in GRAINS:
        period = stats_keys.period_of(act.day, grain)
        expires = datetime.combine(period_end(act.day, grain), time(23, 59, 59), UTC) + retention
        counters = ((team_key(act.team, grain), f"{period}|{shard}"),
                    (force_key(grain), f"{period}|{act.team}|{shard}"))
        moves.append(MemberMove(member_key(act.team, grain), f"{period}|{member(grain, period, act.sub)}",
                                expires, counters, {**{f"{code}{role}": sign for code in act.categories},
                                                    **{f"{code}{RANK_MARK}{act.rank}": sign for code in act.categories}}))
    return moves


def member_moves(old: Activity | None, new: Activity | None, member: MemberFn,
                 retention: timedelta) -> list[MemberMove]:
    """The net member-item moves when a contact goes from `old` to `new` (create: old None), one
    per item (a transaction may touch an item once), deltas that cancel out dropped."""
    merged: dict[tuple[str, str], MemberMove] = {}
    for act, sign in ((old, -1), (new, 1)):
        if act is None:
            continue
        for move in _contributions(act, member, retention, sign):
            into = merged.setdefault((move.key, move.bucket), MemberMove(
                move.key, move.bucket, move.expires_at, move.counters))
            for name, delta in move.deltas.items():
                into.deltas[name] = into.deltas.get(name, 0) + delta
    result = []
    for move in merged.values():
        move.deltas = {name: delta for name, delta in move.deltas.items() if delta}
        if move.deltas:
            result.append(move)
    return sorted(result, key=lambda m: (m.key, m.bucket))


def _threshold(delta: int) -> int:
    """An attribute moved by `delta` leaves the member counted iff its stored value exceeds this
    (+n: it was counted already; -n: it stays counted)."""
    return max(0, -delta)


def optimistic_checks(deltas: Mapping[str, int]) -> list[Check]:
    """The common case: every moved attribute is counted before and after, so no distinct count
    changes and the counter items are not written."""
    return [(name, ">", _threshold(delta)) for name, delta in sorted(deltas.items())]


def counted(state: Mapping[str, int]) -> set[str]:
    """The counter attributes (`<category>_<role>`, `<category>_r_<rank>`) a member with these
    counts is counted under."""
    out: set[str] = set()
    for category in CATEGORIES:
        for role in ROLES:
            if state.get(f"{category}{role}", 0) > 0:
                out |= {f"{category}_{role}", f"{category}_t", f"a_{role}", "a_t"}
        for rank in RANK_KEYS:
            if state.get(f"{category}{RANK_MARK}{rank}", 0) > 0:
                out |= {f"{category}_{RANK_MARK}{rank}", f"a_{RANK_MARK}{rank}"}
    return out


def pinned_attributes(deltas: Mapping[str, int]) -> list[str]:
    """The member attributes whose state decides the counter change of `deltas`: every role
    attribute (`a_t` depends on all of them) and those of the ranks `deltas` move (a rank's
    counters depend on its own attributes only)."""
    moved_ranks = {name.split(RANK_MARK, 1)[1] for name in deltas if RANK_MARK in name}
    return [*ROLE_ATTRIBUTES, *(f"{c}{RANK_MARK}{rank}" for rank in RANK_KEYS if rank in moved_ranks
                                for c in CATEGORIES)]


def settle(state: Mapping[str, int], deltas: Mapping[str, int]) -> tuple[list[Check], dict[str, int]]:
    """For a member item observed in `state`: conditions that pin every attribute the counter
    change depends on, on the side of its threshold it was seen on (so the change below is exact,
    or the write is cancelled and settled again), and the counter change `deltas` cause."""
    checks: list[Check] = []
    pinned = pinned_attributes(deltas)
    for name in pinned:
        threshold = _threshold(deltas.get(name, 0))
        checks.append((name, ">" if state.get(name, 0) > threshold else "<=", threshold))
    before = {name: state.get(name, 0) for name in pinned}
    after = {name: before[name] + deltas.get(name, 0) for name in pinned}
    before_set, after_set = counted(before), counted(after)
    moves = {name: 1 for name in after_set - before_set}
    moves.update({name: -1 for name in before_set - after_set})
    return checks, moves


# --- read side ---------------------------------------------------------------------------------

Count = Annotated[int, Meta(ge=0, description="Distinct staff with at least one such contact in the period.")]


class StaffCounts(Struct):
    any: Count = 0
    street: Count = 0
    online: Count = 0
    online_outbound: Count = 0


class RoleCounts(Struct):
    officer: StaffCounts
    supervisor: StaffCounts


class EngagementBucket(Struct):
    period: str
    team: str
    staff: StaffCounts
    by_role: RoleCounts
    by_rank: Annotated[dict[str, StaffCounts], Meta(description=(
        "The same counts by the rank staff logged under (`unknown`: no rank in their token); "
        "ranks with nobody engaged are left out."))] = msgspec.field(default_factory=dict)
    strength: Annotated[dict[str, int] | UnsetType, Meta(description=(
        "People per rank in force for the team at the period's start (PUT /v1/teams/{team}/strength); "
        "absent when none is recorded."))] = UNSET
    share_by_rank: Annotated[dict[str, strengths.Shares | None] | UnsetType, Meta(description=(
        "Per rank engaged or in `strength`: the share of its strength that engaged (0..1, "
        "rounded to 4 places), any, street, online and online outbound; null where the strength "
        "of that rank is 0 or unknown. Absent with `strength`."))] = UNSET


class EngagementOut(Struct):
    buckets: list[EngagementBucket]
    as_of: Annotated[str | None, Meta(description=(
        "The newest contact change these counts include (RFC 3339, UTC): they are derived from the "
        "contacts table's change stream, so a contact logged just now may be missing for the stream's "
        "delay. null: no change applied yet."))] = None


class EngagementQuery(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: DayOrTime = msgspec.field(name="from")
    to: DayOrTime
    group_by: GroupBy = "day"
    purpose: Purpose
    team: TeamFilter | None = None


def parse_bucket(bucket: str, force: bool) -> tuple[str, str | None]:
    """`<period>|<shard>` (team scope) or `<period>|<team>|<shard>` (force) -> (period, team)."""
    period, _, rest = bucket.partition("|")
    if not force:
        return period, None
    return period, rest.rsplit("|", 1)[0]


def _counts(sums: Mapping[str, int], role: str) -> StaffCounts:
    return StaffCounts(**{name: max(0, sums.get(f"{code}_{role}", 0)) for code, name in COUNTED_CATEGORIES.items()})


def _by_rank(sums: Mapping[str, int]) -> dict[str, StaffCounts]:
    found = {rank: _counts(sums, f"{RANK_MARK}{rank}") for rank in RANK_KEYS}
    return {rank: counts for rank, counts in found.items() if counts.any}


def aggregate(items: Iterable[tuple[str, str, Mapping[str, int]]]) -> list[EngagementBucket]:
    """(period, team, {counter attribute: distinct members}) items, a few shards per (period,
    team) -> buckets sorted by period then team; unknown attributes ignored; periods with nobody
    are omitted."""
    sums: dict[tuple[str, str], dict[str, int]] = {}
    for period, team, attributes in items:
        into = sums.setdefault((period, team), {})
        for name, value in attributes.items():
            into[name] = into.get(name, 0) + value
    buckets = []
    for (period, team), totals in sorted(sums.items()):
        staff = _counts(totals, "t")
        if staff.any:
            buckets.append(EngagementBucket(
                period=period, team=team, staff=staff,
                by_role=RoleCounts(officer=_counts(totals, "o"), supervisor=_counts(totals, "s")),
                by_rank=_by_rank(totals),
            ))
    return buckets


def with_strength(buckets: Iterable[EngagementBucket], grain: str,
                  records_desc: Mapping[str, Sequence[strengths.StrengthRecord]]) -> list[EngagementBucket]:
    """Each bucket with the strength in force for its team at its period's start, and the shares."""
    out = []
    for bucket in buckets:
        record = strengths.in_force(records_desc.get(bucket.team, ()), strengths.period_start(bucket.period, grain))
        if record is not None:
            engaged = {rank: msgspec.structs.asdict(counts) for rank, counts in bucket.by_rank.items()}
            bucket = msgspec.structs.replace(bucket, strength=dict(record.by_rank),
                                             share_by_rank=strengths.shares(engaged, record.by_rank))
        out.append(bucket)
    return out


def log_moves(old: ContactRecord | None, new: ContactRecord, member: MemberFn, retention: timedelta) -> list[MemberMove]:
    """The distinct-staff moves of a contact entering the log (`old` None) or amended: the same
    for every route (contacts, batch, conversation answers, alert replies)."""
    return member_moves(activity_of(old) if old else None, activity_of(new), member, retention)


def activity_of(record: ContactRecord) -> Activity | None:
    """What a contact adds to the distinct-staff counters."""
    return activity(contact_id=record.id, author=record.author, team=record.team, occurred_at=record.occurred_at,
                    kind=record.kind, direction=record.direction, role=record.author_role, rank=record.author_rank)
