"""Statistics counter keys, written in the same transaction as the contact they count.

A counter item is (scope|dimension, day|value) -> contacts. Scope is `force` or `team:<id>`, so
the force-wide and the team-only view are each one Query per dimension over a day range.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

DIMENSIONS = ("team", "kind", "platform", "topic", "cell", "area")
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
