"""Every figure the API reads, at 10,000 and then 200,000 contacts (one run, one in-memory
DynamoDB Local): Query calls, read capacity and latency per read, and the ratio 200k / 10k.
Target: the same calls and the same capacity at both sizes (a read's cost is its answer's size,
never the table's).

Reads (through the use cases, an analyst, force-wide unless named):
  history stats: 12 weeks by kind and by team; 12 months weekly by outcome; 12 months monthly
    by cell; one team 12 months weekly by area
  engagement: 12 weeks (by role and rank, with strength)
  conversations figures (/v1/history/conversations): 12 weeks force-wide and one team, incl. the
    Guarantee's within_standard / past_standard_now
  alerts figures: 12 weeks (no alerts seeded: the empty month partitions it walks)
  residents' trust (/v1/history/trust, by calendar month): 12 weeks (its 3 months) and 12 months
    force-wide, 12 months one team

Seeding goes straight through the store's own item mapping with BatchWriteItem (bench/history.py:
every contact item with its history index attributes), plus the counter items the reads above
Query, as the writes would have left them: statistics counters of the keys read, engagement
counter items (bench/dashboard.py), strength records, and conversation figure counters computed
with `domain.conversations.figure_keys` for one conversation per 10 contacts (opened; 85 %
answered, 80 % of those within the standard; 10 % past the standard, half of them still open;
3 % escalated), and trust counters computed with `domain.trust.count_keys`: 25 % of those
conversations rated (answered, satisfaction) by their team in one of its own areas (each area
belongs to one team; a fifth in none), and one confidence answer per 20 contacts to a monthly
pulse, in one of the 6 areas it was sent to, within its 30 open days. Other counter keys are
other partitions and change nothing for a Query on one key (`--trust-only` seeds the trust
counters alone and measures the trust reads, printing the items present against the most the
seed can make).

    .venv/bin/python -m bench.figures            # ~5-8 minutes on 2 cores
    .venv/bin/python -m bench.figures --small    # 2,000 / 20,000 contacts
    .venv/bin/python -m bench.figures --trust-only --sizes 10000,200000,400000   # ~3 minutes
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

WEEKS = 12
TEAM = "team-03"
COUNTER_KEYS = frozenset({"force|kind", "force|team", "force|outcome", "force|cell", f"team:{TEAM}|area"})
CONVERSATIONS_PER_CONTACT = 0.1
RATED_SHARE = 0.25  # of conversations rated (optional, offered once: 20-30 % is plausible)
PULSE_AREAS = 6  # areas each monthly pulse is sent to
GUARANTEE: dict[str | None, tuple[int, int]] = {}  # team -> (within_standard, past_standard_now) summed


def _with_outcomes(records: list[Any], rng: random.Random) -> list[Any]:
    from chalicelib.domain.contact_schemas import OUTCOMES

    return [replace(r, outcome=rng.choice(OUTCOMES), author_rank=rng.choice(("constable", "sergeant", "pcso")))
            for r in records]


def _conversation_events(rng: random.Random) -> list[str]:
    """One conversation's figure events over its life (the counters its writes and the clock add)."""
    events = ["opened"]
    if rng.random() < 0.85:
        events += ["answered", "answered_wait", f"frt:{rng.randrange(0, 12):02d}"]
        if rng.random() < 0.8:
            events.append("within_standard")
    elif rng.random() < 0.67:
        events += ["past_standard", "over24"] + (["past_standard_now"] if rng.random() < 0.5 else [])
    if rng.random() < 0.03:
        events.append("escalated")
    if rng.random() < 0.5:
        events.append("closed")
    return events


def _figure_items(count: int, rng: random.Random, totals: Counter) -> list[dict[str, Any]]:
    """Figure counter items of `count` more conversations (totals kept across sizes), shard 00."""
    from bench.history import NOW, TEAMS
    from chalicelib.domain.conversations import figure_keys
    from chalicelib.store.models import StatCounterModel

    for _ in range(count):
        day = (NOW - timedelta(seconds=rng.randrange(0, 365 * 86400))).date().isoformat()
        totals.update(figure_keys(rng.choice(TEAMS), day, _conversation_events(rng)))
    return [StatCounterModel(key=k, bucket=f"{b}|00", contacts=n).serialize() for (k, b), n in totals.items()]


def _team_areas() -> dict[str, list[str]]:
    """Each area belongs to one team (as in a force): area i to team i mod 12 (3-4 areas a team)."""
    from bench.history import AREAS, TEAMS

    return {team: AREAS[i::len(TEAMS)] for i, team in enumerate(TEAMS)}


def _pulses() -> list[tuple[str, tuple[str, ...]]]:
    """One pulse a month over the past year, each sent to PULSE_AREAS areas (the same pulses at
    every size): (day sent, areas)."""
    from bench.history import AREAS, NOW

    rng = random.Random(2027)
    return [((NOW - timedelta(days=30 * k)).date().isoformat(), tuple(rng.sample(AREAS, PULSE_AREAS)))
            for k in range(1, 13)]


def _trust_items(count: int, rng: random.Random, totals: Counter) -> list[dict[str, Any]]:
    """Trust counter items after `count` more contacts (totals kept across sizes): RATED_SHARE of
    the conversations rated, each by its team in one of that team's areas (NO_AREA for a fifth,
    as contacts without an area); one pulse answer per 20 contacts, in an area its pulse was sent
    to, within the 30 days it is open."""
    from bench.history import NOW, TEAMS
    from chalicelib.domain import trust
    from chalicelib.store.models import StatCounterModel

    areas_of = _team_areas()
    team_of = {area: team for team, areas in areas_of.items() for area in areas}
    for _ in range(round(count * CONVERSATIONS_PER_CONTACT * RATED_SHARE)):
        team = rng.choice(TEAMS)
        area = rng.choice(areas_of[team]) if rng.random() < 0.8 else None
        day = (NOW - timedelta(seconds=rng.randrange(0, 365 * 86400))).date().isoformat()
        answers = {"answered": rng.choice(trust.ANSWERED_VALUES), "satisfaction": rng.choice(trust.SATISFACTION_VALUES)}
        totals.update(trust.count_keys(answers, team=team, area_id=area, day=day, shard=0))
    pulses = _pulses()
    for _ in range(count // 20):
        sent, areas = rng.choice(pulses)
        area = rng.choice(areas)
        day = (date.fromisoformat(sent) + timedelta(days=rng.randrange(0, 30))).isoformat()
        totals.update(trust.count_keys({"confidence": rng.choice(trust.CONFIDENCE_VALUES)}, team=team_of[area],
                                       area_id=area, day=day, shard=0))
    return [StatCounterModel(key=k, bucket=b, contacts=n).serialize() for (k, b), n in totals.items()]


def trust_ceiling(first_month: str, team: str | None = None) -> int:
    """The most trust counter items (shard 00) a read from `first_month` to NOW can meet with this
    seed: each month of the year's ratings x (team, area or none) x 8 answer values, and each
    (month, area) a pulse's 30 open days fall in x 5 answer values."""
    from bench.history import NOW
    from chalicelib.domain import trust

    areas_of = _team_areas()
    teams = [team] if team else list(areas_of)
    days = [(NOW - timedelta(days=d)).date() for d in range(366)]
    months = {d.isoformat()[:7] for d in days if d.isoformat()[:7] >= first_month}
    ours = {a for t in teams for a in areas_of[t]}
    pulsed = {((date.fromisoformat(sent) + timedelta(days=d)).isoformat()[:7], area)
              for sent, areas in _pulses() for area in areas if area in ours for d in range(30)}
    rating_values = len(trust.ANSWERED_VALUES) + len(trust.SATISFACTION_VALUES)
    return (len(months) * sum(len(areas_of[t]) + 1 for t in teams) * rating_values
            + sum(1 for month, _ in pulsed if month in months) * len(trust.CONFIDENCE_VALUES))


def _strength(svc: Any) -> None:
    """A strength record per team a year back (the engagement read adds one Query per team)."""
    from bench.history import NOW, TEAMS
    from chalicelib.context import RequestContext
    from chalicelib.domain.strength import StrengthIn
    from chalicelib.usecases import teams

    admin = RequestContext(request_id="bench", now=NOW, principal=_principal("admin"))
    body = StrengthIn(from_=(NOW - timedelta(days=400)).date(),
                      by_rank={"constable": 20, "sergeant": 4, "pcso": 8})
    for team in TEAMS:
        teams.put_strength(svc, admin, team, body)


def _principal(role: str) -> Any:
    from chalicelib.auth.principal import Principal

    return Principal(sub=f"{role}-1", roles=frozenset({role}), kind="staff")


def _reads(svc: Any, ctx: Any) -> dict[str, Callable[[], int]]:
    from bench.history import NOW
    from chalicelib.domain.conversations import FiguresQuery
    from chalicelib.domain.engagement import EngagementQuery
    from chalicelib.domain.history import AlertHistoryQuery, StatsQuery
    from chalicelib.domain.trust import TrustQuery
    from chalicelib.usecases import conversations, history, trust

    weeks = {"from_": (NOW - timedelta(weeks=WEEKS)).date().isoformat(), "to": NOW.date().isoformat(),
             "purpose": "benchmark"}
    year = {"from_": (NOW - timedelta(days=365)).date().isoformat(), "to": NOW.date().isoformat(),
            "purpose": "benchmark"}

    def stats(by: str, group_by: str, span: dict[str, str], team: str | None = None) -> Callable[[], int]:
        return lambda: len(history.stats(svc, ctx, StatsQuery(**span, by=by, group_by=group_by, team=team)).buckets)  # type: ignore[arg-type]

    def guarantee(team: str | None) -> Callable[[], int]:
        def read() -> int:
            buckets = conversations.figures(svc, ctx, FiguresQuery(**weeks, group_by="week", team=team)).buckets
            GUARANTEE[team] = (sum(b.within_standard for b in buckets), sum(b.past_standard_now for b in buckets))
            return len(buckets)
        return read

    return {
        "stats 12 weeks by kind": stats("kind", "week", weeks),
        "stats 12 weeks by team": stats("team", "week", weeks),
        "stats 12 months weekly by outcome": stats("outcome", "week", year),
        "stats 12 months monthly by cell": stats("cell", "month", year),
        "stats 12 months weekly by area, one team": stats("area", "week", year, TEAM),
        "engagement 12 weeks (rank, strength)": lambda: len(history.engagement(svc, ctx, EngagementQuery(
            **weeks, group_by="week")).buckets),
        "conversations 12 weeks (Guarantee)": guarantee(None),
        "conversations 12 weeks, one team": guarantee(TEAM),
        "trust 12 weeks (3 whole months)": lambda: len(trust.figures(svc, ctx, TrustQuery(**weeks)).buckets),
        "trust 12 months": lambda: len(trust.figures(svc, ctx, TrustQuery(**year)).buckets),
        "trust 12 months, one team": lambda: len(trust.figures(svc, ctx, TrustQuery(**year, team=TEAM)).buckets),
        "alerts 12 weeks": lambda: len(history.alerts(svc, ctx, AlertHistoryQuery(
            from_=NOW - timedelta(weeks=WEEKS), to=NOW, purpose="benchmark", limit=50)).items),
    }


class _Seeding:
    """What the reads meet, added size by size (counter totals kept across sizes): contacts and
    their counters, engagement items, conversation figures and trust counters; trust alone with
    `trust_only`."""

    def __init__(self, endpoint: str, svc: Any, trust_only: bool) -> None:
        self.endpoint, self.svc, self.trust_only = endpoint, svc, trust_only
        self.counters: Counter = Counter()
        self.figures: Counter = Counter()
        self.trusted: Counter = Counter()
        self.members: dict[Any, Any] = {}

    def add(self, count: int, rng: random.Random) -> None:
        from bench import dashboard
        from bench import history as base
        from chalicelib.store.models import StatCounterModel

        table = StatCounterModel.Meta.table_name
        started = time.perf_counter()
        if not self.trust_only:
            records = _with_outcomes(dashboard._with_roles(base._records(count, rng), rng), rng)
            base._seed(records, self.counters, self.endpoint, COUNTER_KEYS)
            dashboard._write(self.endpoint, table, dashboard._engagement_items(records, self.members, self.svc.pseudonyms))
            dashboard._write(self.endpoint, table, _figure_items(int(count * CONVERSATIONS_PER_CONTACT), rng, self.figures))
        dashboard._write(self.endpoint, table, _trust_items(count, rng, self.trusted))
        print(f"seeded {count:,} more contacts{' (trust counters only)' if self.trust_only else ''} in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)


def _print_trust_fill(totals: Counter) -> None:
    """Trust counter items present (seeded) against the most the seed can make, per read."""
    from chalicelib.domain import trust

    def present(pk: str, first_month: str) -> int:
        return sum(1 for k, b in totals if k == pk and b[:7] >= first_month)

    force, team = trust.counter_pk(None, "month"), trust.counter_pk(TEAM, "month")
    print(f"  trust items present / most possible: 12 weeks {present(force, '2026-09')} / {trust_ceiling('2026-09')}, "
          f"12 months {present(force, '')} / {trust_ceiling('')}, one team {present(team, '')} / "
          f"{trust_ceiling('', TEAM)}", file=sys.stderr)


def _ensure_tables(ensure: Callable[[], None]) -> None:
    """On a loaded machine a CreateTable can time out and be retried by botocore after it worked
    ("Cannot create preexisting table"): try again, the second pass finds the tables."""
    for attempt in range(3):
        try:
            ensure()
            return
        except Exception as exc:  # pynamodb TableError
            print(f"creating tables, attempt {attempt + 1}: {exc}", file=sys.stderr)
    ensure()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--sizes", default="10000,50000,100000,200000",
                        help="table sizes to measure at, in order (each printed as soon as measured)")
    parser.add_argument("--trust-only", action="store_true",
                        help="seed only the trust counters and measure only the trust reads (a Query on one "
                             "partition meets no other item, so the rest of the table changes nothing for them)")
    args = parser.parse_args()
    sizes = (2_000, 20_000) if args.small else tuple(int(n) for n in args.sizes.split(","))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from infra.local.dynamodb_local import DynamoDBLocal

    db = DynamoDBLocal().start(timeout=300)  # a loaded 2-core machine starts Java slowly
    try:
        from bench import history as base

        base._environment(db.endpoint)
        from chalicelib.auth.tokens import JwksFile
        from chalicelib.context import RequestContext
        from chalicelib.services import build_services
        from chalicelib.settings import SETTINGS
        from chalicelib.store.models import AlertModel, ContactModel, NeighbourhoodModel, StatCounterModel
        from chalicelib.store.tables import ensure_tables

        _ensure_tables(ensure_tables)
        svc = build_services(SETTINGS, staff_keys=JwksFile("/nonexistent"), pseudonym_key=os.urandom(32))
        ctx = RequestContext(request_id="bench", now=base.NOW, principal=_principal("analyst"))
        meter = base.Meter()
        meter.attach(ContactModel, StatCounterModel, AlertModel, NeighbourhoodModel)
        _strength(svc)
        reads = {n: fn for n, fn in _reads(svc, ctx).items() if n.startswith("trust") or not args.trust_only}
        rng = random.Random(20261203)
        seeding = _Seeding(db.endpoint, svc, trust_only=args.trust_only)
        results: dict[str, dict[int, tuple[int, float, float, int]]] = {name: {} for name in reads}
        seeded = 0
        for size in sizes:
            seeding.add(size - seeded, rng)
            seeded = size
            if args.trust_only:
                _print_trust_fill(seeding.trusted)
            for name, fn in reads.items():
                results[name][size] = base._measure(meter, fn)
                calls, units, p50, buckets = results[name][size]
                print(f"  {size:>7,} | {name:<42} | {calls:>3} calls {units:>6.1f} RCU {p50:>7.1f} ms {buckets:>6} buckets",
                      file=sys.stderr, flush=True)
            if GUARANTEE:
                print(f"  Guarantee (within_standard, past_standard_now) summed over 12 weeks: force "
                      f"{GUARANTEE[None]}, {TEAM} {GUARANTEE[TEAM]}", file=sys.stderr)
        _print(results, (sizes[0], sizes[-1]))
    finally:
        db.stop()


def _print(results: dict[str, dict[int, tuple[int, float, float, int]]], sizes: tuple[int, ...]) -> None:
    small, large = sizes
    header = f"{'read':<42}" + "".join(f"| {f'{s:,} contacts':^34}" for s in sizes) + "| ratio large/small"
    sub = f"{'':<42}" + "".join(f"| {'calls':>5} {'RCU':>7} {'p50 ms':>8} {'buckets':>8}  " for _ in sizes) \
        + "| calls   RCU buckets"
    print(header)
    print(sub)
    print("-" * len(sub))
    for name, by_size in results.items():
        cells = "".join(f"| {c:>5} {u:>7.1f} {ms:>8.1f} {n:>8}  " for (c, u, ms, n) in (by_size[s] for s in sizes))
        (c1, u1, _, n1), (c2, u2, _, n2) = by_size[small], by_size[large]
        ratio = f"| {c2 / c1 if c1 else 0:>5.2f} {u2 / u1 if u1 else 0:>5.2f} {n2 / n1 if n1 else 0:>7.2f}"
        print(f"{name:<42}{cells}{ratio}")


if __name__ == "__main__":
    main()
