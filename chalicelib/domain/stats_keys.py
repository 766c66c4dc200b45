"""Statistics counter keys, written in the same transaction as the contact they count.

A counter item is (scope|dimension, day|value) -> contacts. Scope is `force` or `team:<id>`, so
the force-wide and the team-only view are each one Query per dimension over a day range.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date

DIMENSIONS = ("team", "kind", "platform", "topic", "cell", "area", "direction", "outcome")
FORCE_SCOPE = "force"


def team_scope(team: str) -> str:
    return f"team:{team}"


def counter_pk(scope: str, dimension: str) -> str:
    return f"{scope}|{dimension}"


def counter_sk(day: str, value: str) -> str:
    return f"{day}|{value}"


def counter_keys(day: str, team: str, values: Mapping[str, str | None]) -> set[tuple[str, str]]:
    """Every counter one contact adds 1 to. `values` maps a dimension to the contact's value."""
    keys: set[tuple[str, str]] = set()
    for dimension in DIMENSIONS:
        value = team if dimension == "team" else values.get(dimension)
        if not value:
            continue
        keys.add((counter_pk(FORCE_SCOPE, dimension), counter_sk(day, value)))
        if dimension != "team":
            keys.add((counter_pk(team_scope(team), dimension), counter_sk(day, value)))
    return keys


def counter_deltas(
    removed: Iterable[tuple[str, str]], added: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Net change when a contact moves from one set of counters to another (an amendment)."""
    delta: Counter[tuple[str, str]] = Counter()
    for key in removed:
        delta[key] -= 1
    for key in added:
        delta[key] += 1
    return {key: n for key, n in delta.items() if n}


# Period grains. Every day counter is mirrored by an ISO-week and a calendar-month counter
# (same scope and dimension, key suffixed `|week` / `|month`, bucket `2026-W48|<value>` /
# `2026-11|<value>`), written in the same transaction, so a 12-month weekly or monthly query
# reads 53 or 12 items per value instead of 365: one Query page whatever the dimension.
PERIOD_GRAINS = ("week", "month")


def period_of(day: str, grain: str) -> str:
    """UTC day `YYYY-MM-DD` -> `YYYY-MM-DD` (day), ISO week `YYYY-Www` (week), `YYYY-MM` (month)."""
    if grain == "day":
        return day
    if grain == "month":
        return day[:7]
    iso = date.fromisoformat(day).isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def grain_pk(pk: str, grain: str) -> str:
    return pk if grain == "day" else f"{pk}|{grain}"


def with_period_grains(deltas: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Day counter deltas plus the week and month counters they roll up into (zeros dropped:
    moving a contact between two days of one week leaves the week counter alone)."""
    total: Counter[tuple[str, str]] = Counter()
    for (pk, bucket), n in deltas.items():
        total[(pk, bucket)] += n
        day, _, value = bucket.partition("|")
        for grain in PERIOD_GRAINS:
            total[(grain_pk(pk, grain), counter_sk(period_of(day, grain), value))] += n
    return {key: n for key, n in total.items() if n}
