"""Engagement breadth: how many distinct staff of a team logged contacts per period. Pure, no I/O.

Kept as counters written in the contact's own transaction (see docs/history.md, "Engagement"):
one item per (scope, grain, period, shard) in the stats table, whose attributes are
`<category><role>:<member>` -> number of that member's contacts of that category and role in the
period. `member` is a keyed staff pseudonym that is different for every period (so the stored
items cannot link one person across periods, nor to the `off_` pseudonym of history rows).

A distinct count is the number of members with a count > 0. Counting contacts per member (rather
than keeping a set of members) keeps the count exact when an amendment moves a contact out of a
period or category: the member drops out only when their last such contact leaves. Retries are
exact because the whole create is conditional on the contact id being new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from chalicelib.domain import stats_keys
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.history import DayOrTime, GroupBy, Purpose, TeamFilter

GRAINS = ("day", "week", "month")
# Stored categories (one letter each); `any` is derived (every contact is street or online).
CATEGORIES = {"s": "street", "n": "online", "o": "online_outbound"}
ROLES = {"o": "officer", "s": "supervisor"}
ROLE_CODES = {name: code for code, name in ROLES.items()}
# Each item is split over shards chosen by contact id (like the stats counters), so concurrent
# creates of one team -- even by one officer syncing in parallel -- rarely update the same item.
# A member can appear in several shards; each shard's count is exact for the contacts in it (an
# amendment moves a contact within its own shard), so the distinct count is the union over shards.
SHARDS = 4
KEY_PART = "engagement"

# (grain, period, staff sub) -> period-scoped keyed pseudonym (`stf_...`).
MemberFn = Callable[[str, str, str], str]


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


def activity(*, contact_id: str, author: str, team: str, occurred_at: str, kind: str, direction: str | None,
             role: str | None) -> Activity | None:
    """None for contacts not logged by staff (alert responses, contacts older than the counters)."""
    if role not in ROLE_CODES:
        return None
    codes = ["s"] if kind == "street" else ["n"]
    if kind == "online" and direction == "outbound":
        codes.append("o")
    return Activity(contact_id=contact_id, sub=author, team=team, day=occurred_at[:10], role=role, categories=tuple(codes))


def team_key(team: str, grain: str) -> str:
    return f"{stats_keys.team_scope(team)}|{KEY_PART}|{grain}"


def force_key(grain: str) -> str:
    return f"{stats_keys.FORCE_SCOPE}|{KEY_PART}|{grain}"


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
class ItemUpdate:
    """ADD `adds` (attribute -> delta) to one item and SET its TTL."""

    key: str
    bucket: str
    expires_at: datetime
    adds: dict[str, int] = field(default_factory=dict)


def _contributions(act: Activity, member: MemberFn, retention: timedelta, sign: int) -> list[ItemUpdate]:
    updates = []
    role = ROLE_CODES[act.role]
    shard = f"{shard_of(act.contact_id):02d}"
    for grain in GRAINS:
        period = stats_keys.period_of(act.day, grain)
        who = member(grain, period, act.sub)
        expires = datetime.combine(period_end(act.day, grain), time(23, 59, 59), UTC) + retention
        adds = {f"{code}{role}:{who}": sign for code in act.categories}
        updates.append(ItemUpdate(team_key(act.team, grain), f"{period}|{shard}", expires, dict(adds)))
        updates.append(ItemUpdate(force_key(grain), f"{period}|{act.team}|{shard}", expires, dict(adds)))
    return updates


def item_updates(old: Activity | None, new: Activity | None, member: MemberFn,
                 retention: timedelta) -> list[ItemUpdate]:
    """The net updates when a contact goes from `old` to `new` (create: old None), one per item
    (a transaction may touch an item once), deltas that cancel out dropped."""
    merged: dict[tuple[str, str], ItemUpdate] = {}
    parts = [(old, -1), (new, 1)]
    for act, sign in parts:
        if act is None:
            continue
        for update in _contributions(act, member, retention, sign):
            into = merged.setdefault((update.key, update.bucket),
                                     ItemUpdate(update.key, update.bucket, update.expires_at))
            for name, delta in update.adds.items():
                into.adds[name] = into.adds.get(name, 0) + delta
    result = []
    for update in merged.values():
        update.adds = {name: delta for name, delta in update.adds.items() if delta}
        if update.adds:
            result.append(update)
    return sorted(result, key=lambda u: (u.key, u.bucket))


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


class EngagementOut(Struct):
    buckets: list[EngagementBucket]


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


def _counts(members: Mapping[str, set[tuple[str, str]]], role: str | None) -> StaffCounts:
    """Distinct members per category (role None: any role)."""
    out = StaffCounts()
    for held in members.values():
        cats = {cat for cat, r in held if role is None or r == role}
        if not cats:
            continue
        out.any += 1
        out.street += "s" in cats
        out.online += "n" in cats
        out.online_outbound += "o" in cats
    return out


def aggregate(items: Iterable[tuple[str, str, Mapping[str, int]]]) -> list[EngagementBucket]:
    """(period, team, {attribute: count}) items -> buckets sorted by period then team; members
    whose count fell to 0 (amended away) are not counted; periods with nobody are omitted."""
    periods: dict[tuple[str, str], dict[str, set[tuple[str, str]]]] = {}
    for period, team, attributes in items:
        members = periods.setdefault((period, team), {})
        for name, count in attributes.items():
            code, _, member = name.partition(":")
            if count > 0 and len(code) == 2 and code[0] in CATEGORIES and code[1] in ROLES:
                members.setdefault(member, set()).add((code[0], ROLES[code[1]]))
    buckets = []
    for (period, team), members in sorted(periods.items()):
        staff = _counts(members, None)
        if staff.any:
            buckets.append(EngagementBucket(
                period=period, team=team, staff=staff,
                by_role=RoleCounts(officer=_counts(members, "officer"), supervisor=_counts(members, "supervisor")),
            ))
    return buckets


def activity_of(record: ContactRecord) -> Activity | None:
    """What a contact adds to the distinct-staff counters."""
    return activity(contact_id=record.id, author=record.author, team=record.team, occurred_at=record.occurred_at,
                    kind=record.kind, direction=record.direction, role=record.author_role)
