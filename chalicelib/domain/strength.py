"""A team's strength by rank (how many people it has), kept per period: each record applies from
its `from` day until the next record's. The engagement figures set what engaged against it. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from chalicelib.domain import ranks
from chalicelib.domain.errors import FieldError, RuleViolation

MAX_PEOPLE_PER_RANK = 10_000
People = Annotated[int, Meta(ge=0, le=MAX_PEOPLE_PER_RANK)]
Rank = Literal[ranks.RANKS]  # type: ignore[valid-type]
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 1, 1)


class StrengthIn(Struct, forbid_unknown_fields=True, kw_only=True):
    from_: Annotated[dt.date, Meta(description="First UTC day (YYYY-MM-DD) this strength applies to.")] = (
        msgspec.field(name="from"))
    by_rank: Annotated[dict[Rank, People], Meta(description=(
        f"People of each rank (0..{MAX_PEOPLE_PER_RANK}); ranks left out have none."))]


class StrengthOut(Struct, kw_only=True):
    team: str
    from_: str = msgspec.field(name="from")
    by_rank: dict[str, int]
    updated_at: str


@dataclass(frozen=True)
class StrengthRecord:
    team: str
    from_day: str  # YYYY-MM-DD
    by_rank: Mapping[str, int]
    updated_at: str

    def to_out(self) -> StrengthOut:
        return StrengthOut(team=self.team, from_=self.from_day, by_rank=dict(self.by_rank), updated_at=self.updated_at)


def new_record(team: str, body: StrengthIn, updated_at: str) -> StrengthRecord:
    if not EARLIEST <= body.from_ < LATEST:
        raise RuleViolation("The strength breaks a rule.", [FieldError("from", f"must be from {EARLIEST} to {LATEST}")])
    ordered = {rank: body.by_rank[rank] for rank in ranks.RANKS if rank in body.by_rank}
    return StrengthRecord(team=team, from_day=body.from_.isoformat(), by_rank=ordered, updated_at=updated_at)


def period_start(period: str, grain: str) -> dt.date:
    """The first UTC day of a bucket's period (`2026-11-25`, `2026-W48`, `2026-11`)."""
    if grain == "week":
        year, week = period.split("-W")
        return dt.date.fromisocalendar(int(year), int(week), 1)
    if grain == "month":
        return dt.date.fromisoformat(f"{period}-01")
    return dt.date.fromisoformat(period)


def in_force(records_desc: Sequence[StrengthRecord], start: dt.date) -> StrengthRecord | None:
    """The latest record whose `from` is on or before `start` (records newest first)."""
    day = start.isoformat()
    return next((r for r in records_desc if r.from_day <= day), None)


Share = Annotated[float, Meta(ge=0, description="Engaged staff of the rank / its strength (may exceed 1 when the "
                                               "recorded strength is out of date).")]


class Shares(Struct):
    any: Share
    street: Share
    online: Share
    online_outbound: Share


def shares(by_rank: Mapping[str, Mapping[str, int]], strength: Mapping[str, int]) -> dict[str, Shares | None]:
    """Per rank (every rank engaged or in the strength): engaged / strength for each category,
    None where the strength is 0 or not recorded for that rank (`unknown` always)."""
    out: dict[str, Shares | None] = {}
    for rank in _ranks(by_rank, strength):
        people = strength.get(rank, 0)
        counts = by_rank.get(rank, {})
        out[rank] = Shares(**{name: round(counts.get(name, 0) / people, 4) for name in Shares.__struct_fields__}) \
            if people > 0 else None
    return out


def _ranks(*sources: Iterable[str]) -> list[str]:
    present = {rank for source in sources for rank in source}
    return [rank for rank in (*ranks.RANKS, ranks.UNKNOWN) if rank in present]
