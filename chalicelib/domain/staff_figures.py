"""An officer's own figures for this week and this month (the team's app): pure, no I/O.

Counted from the officer's own contacts (one bounded Query on the contacts' `by_author` index)
and the team's alerts of the month (one Query on `by_team`, the officer's drafts kept): what the
officer did, never anyone else's. Periods are UTC: the ISO week from Monday 00:00, the calendar
month from the 1st.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from msgspec import Struct

from chalicelib.clock import to_rfc3339
from chalicelib.domain import stats_keys

MAX_CONTACTS = 5000  # contacts read at most (more in the range: `complete: false`, the figures a floor)


@dataclass(frozen=True)
class Activity:
    """One of the officer's contacts, as far as the figures need it."""

    occurred_at: str
    kind: str
    direction: str | None
    platform: str | None
    thread_ref: str | None
    tags: tuple[str, ...]


class ContactCounts(Struct):
    street: int
    online: int
    online_outbound: int


class PeriodFigures(Struct, kw_only=True):
    period: str  # `2026-W49` or `2026-12`
    from_: str = msgspec.field(name="from")  # UTC start (inclusive)
    to: str  # UTC end (exclusive)
    contacts: ContactCounts
    conversations_answered: int  # distinct conversations the officer wrote to
    alerts_drafted: int
    team_signups: int  # residents who registered through the team's QR code at the door


class MyFiguresQuery(Struct, forbid_unknown_fields=True):
    """No parameters: the figures are the caller's own (any parameter, `?sub=` say, is a 400)."""


class MyFiguresOut(Struct):
    week: PeriodFigures
    month: PeriodFigures
    complete: bool = True  # false: more contacts than MAX_CONTACTS in the range (figures are a floor)


def periods(now: datetime) -> dict[str, tuple[datetime, datetime, str]]:
    """grain -> (start, end (exclusive), label) of the UTC week and month holding `now`."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = day - timedelta(days=day.weekday())
    month_start = day.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    today = day.date().isoformat()
    return {
        "week": (week_start, week_start + timedelta(days=7), stats_keys.period_of(today, "week")),
        "month": (month_start, month_end, stats_keys.period_of(today, "month")),
    }


def count(activity: Iterable[Activity], alert_times: Iterable[str], start: datetime, end: datetime,
          label: str, signups: int) -> PeriodFigures:
    low, high = to_rfc3339(start), to_rfc3339(end)
    street = online = outbound = 0
    answered: set[str] = set()
    for a in activity:
        if not low <= a.occurred_at < high:
            continue
        street += a.kind == "street"
        online += a.kind == "online"
        outbound += a.kind == "online" and a.direction == "outbound"
        if a.platform == "beatline" and a.direction == "outbound" and "conversation" in a.tags and a.thread_ref:
            answered.add(a.thread_ref)
    drafted = sum(1 for at in alert_times if low <= at < high)
    return PeriodFigures(period=label, from_=low, to=high, contacts=ContactCounts(street, online, outbound),
                         conversations_answered=len(answered), alerts_drafted=drafted, team_signups=signups)
