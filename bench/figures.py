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
  residents' trust (/v1/history/trust): 12 weeks force-wide and one team

Seeding goes straight through the store's own item mapping with BatchWriteItem (bench/history.py:
every contact item with its history index attributes), plus the counter items the reads above
Query, as the writes would have left them: statistics counters of the keys read, engagement
counter items (bench/dashboard.py), strength records, and conversation figure counters computed
with `domain.conversations.figure_keys` for one conversation per 10 contacts (opened; 85 %
answered, 80 % of those within the standard; 10 % past the standard, half of them still open;
3 % escalated), and trust counters computed with `domain.trust.count_keys`: 40 % of those
conversations rated (answered, satisfaction) and one confidence answer per 20 contacts. Other counter keys are other partitions and change nothing for a Query on one key.

    .venv/bin/python -m bench.figures            # ~5-8 minutes on 2 cores
    .venv/bin/python -m bench.figures --small    # 2,000 / 20,000 contacts
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

WEEKS = 12
TEAM = "team-03"
COUNTER_KEYS = frozenset({"force|kind", "force|team", "force|outcome", "force|cell", f"team:{TEAM}|area"})
CONVERSATIONS_PER_CONTACT = 0.1
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


def _trust_items(count: int, rng: random.Random, totals: Counter) -> list[dict[str, Any]]:
    """Trust counter items after `count` more contacts (totals kept across sizes)."""
    from bench.history import AREAS, NOW, TEAMS
    from chalicelib.domain import trust
    from chalicelib.store.models import StatCounterModel

    def day() -> str:
        return (NOW - timedelta(seconds=rng.randrange(0, 365 * 86400))).date().isoformat()

    for _ in range(int(count * CONVERSATIONS_PER_CONTACT * 0.4)):
        answers = {"answered": rng.choice(trust.ANSWERED_VALUES), "satisfaction": rng.choice(trust.SATISFACTION_VALUES)}
        totals.update(trust.count_keys(answers, team=rng.choice(TEAMS), area_id=rng.choice(AREAS), day=day(), shard=0))
    for _ in range(count // 20):
        totals.update(trust.count_keys({"confidence": rng.choice(trust.CONFIDENCE_VALUES)}, team=rng.choice(TEAMS),
                                       area_id=rng.choice(AREAS), day=day(), shard=0))
    return [StatCounterModel(key=k, bucket=b, contacts=n).serialize() for (k, b), n in totals.items()]


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
        "trust 12 weeks": lambda: len(trust.figures(svc, ctx, TrustQuery(**weeks, group_by="week")).buckets),
        "trust 12 weeks, one team": lambda: len(trust.figures(svc, ctx, TrustQuery(
            **weeks, group_by="week", team=TEAM)).buckets),
        "alerts 12 weeks": lambda: len(history.alerts(svc, ctx, AlertHistoryQuery(
            from_=NOW - timedelta(weeks=WEEKS), to=NOW, purpose="benchmark", limit=50)).items),
    }


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
    args = parser.parse_args()
    sizes = (2_000, 20_000) if args.small else tuple(int(n) for n in args.sizes.split(","))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from infra.local.dynamodb_local import DynamoDBLocal

    db = DynamoDBLocal().start(timeout=300)  # a loaded 2-core machine starts Java slowly
    try:
        from bench import dashboard
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
        reads = _reads(svc, ctx)
        rng = random.Random(20261203)
        counters: Counter = Counter()
        figures: Counter = Counter()
        trusted: Counter = Counter()
        members: dict[Any, Any] = {}
        results: dict[str, dict[int, tuple[int, float, float, int]]] = {name: {} for name in reads}
        seeded = 0
        for size in sizes:
            records = _with_outcomes(dashboard._with_roles(base._records(size - seeded, rng), rng), rng)
            took = base._seed(records, counters, db.endpoint, COUNTER_KEYS)
            dashboard._write(db.endpoint, StatCounterModel.Meta.table_name,
                             dashboard._engagement_items(records, members, svc.pseudonyms))
            dashboard._write(db.endpoint, StatCounterModel.Meta.table_name,
                             _figure_items(int((size - seeded) * CONVERSATIONS_PER_CONTACT), rng, figures))
            dashboard._write(db.endpoint, StatCounterModel.Meta.table_name, _trust_items(size - seeded, rng, trusted))
            seeded = size
            print(f"seeded {len(records):,} contacts (total {size:,}) in {took:.1f} s", file=sys.stderr)
            for name, fn in reads.items():
                results[name][size] = base._measure(meter, fn)
                calls, units, p50, buckets = results[name][size]
                print(f"  {size:>7,} | {name:<42} | {calls:>3} calls {units:>6.1f} RCU {p50:>7.1f} ms {buckets:>6} buckets",
                      file=sys.stderr, flush=True)
            print(f"  Guarantee (within_standard, past_standard_now) summed over 12 weeks: force {GUARANTEE[None]}, "
                  f"{TEAM} {GUARANTEE[TEAM]}", file=sys.stderr)
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
