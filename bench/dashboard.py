"""The engagement dashboard's first view: the fixed set of API calls it makes (through the use
cases) and the read capacity they consume, at 10,000 and then 200,000 contacts (same run, own
in-memory DynamoDB Local). Target: the same calls and the same capacity at both sizes.

The first view, for the last 12 ISO weeks, force-wide (an analyst):
  GET /v1/history/stats?group_by=week&by=kind
  GET /v1/history/stats?group_by=week&by=team
  GET /v1/history/engagement?group_by=week
  GET /v1/history/alerts

    .venv/bin/python -m bench.dashboard            # ~8 minutes on 2 cores
    .venv/bin/python -m bench.dashboard --small    # 2,000 / 20,000 contacts
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

WEEKS = 12
# The counter and engagement keys the first view reads (other keys are other partitions).
COUNTER_KEYS = frozenset({"force|kind", "force|team"})


def _with_roles(records: list[Any], rng: random.Random) -> list[Any]:
    """Every author belongs to one team (400 staff over 12 teams, ~33 each); one in ten is a
    supervisor; half the online contacts are outbound."""
    from bench.history import TEAMS

    out = []
    for record in records:
        number = int(record.author.split("-")[1])
        role = "supervisor" if number % 10 == 0 else "officer"
        direction = ("outbound" if rng.random() < 0.5 else "inbound") if record.kind == "online" else None
        out.append(replace(record, author_role=role, direction=direction, team=TEAMS[number % len(TEAMS)]))
    return out


def _engagement_items(records: list[Any], members: dict[tuple[str, str], tuple[Counter, tuple[str, str]]],
                      pseudonyms: Any) -> list[dict]:
    """Add the records' weekly member counts to `members` ((member key, bucket) -> (counts, the
    force counter item of its first contact)); the force-wide weekly counter items they make, as
    the writes would have left them (the read never sees member items, so they are not written)."""
    from chalicelib.domain import engagement

    for record in records:
        for move in engagement.member_moves(None, engagement.activity_of(record), pseudonyms.staff, timedelta(days=730)):
            if move.key.endswith("|week"):
                state, _ = members.setdefault((move.key, move.bucket), (Counter(), move.counters[1]))
                state.update(move.deltas)
    counters: dict[tuple[str, str], Counter] = {}
    for state, item in members.values():
        counters.setdefault(item, Counter()).update(dict.fromkeys(engagement.counted(state), 1))
    return [{"key": {"S": key}, "bucket": {"S": bucket}, **{n: {"N": str(v)} for n, v in adds.items()}}
            for (key, bucket), adds in counters.items()]


def _write(endpoint: str, table: str, items: list[dict]) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    for i in range(0, len(items), 25):
        pending = {table: [{"PutRequest": {"Item": item}} for item in items[i:i + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _first_view(svc: Any, ctx: Any) -> dict[str, Any]:
    from bench.history import NOW
    from chalicelib.domain.engagement import EngagementQuery
    from chalicelib.domain.history import AlertHistoryQuery, StatsQuery
    from chalicelib.usecases import history as usecase

    days = {"from_": (NOW - timedelta(weeks=WEEKS)).date().isoformat(), "to": NOW.date().isoformat(),
            "purpose": "benchmark"}
    times = {"from_": NOW - timedelta(weeks=WEEKS), "to": NOW, "purpose": "benchmark"}
    return {
        "stats?group_by=week&by=kind": lambda: len(usecase.stats(svc, ctx, StatsQuery(
            **days, group_by="week", by="kind")).buckets),
        "stats?group_by=week&by=team": lambda: len(usecase.stats(svc, ctx, StatsQuery(
            **days, group_by="week", by="team")).buckets),
        "engagement?group_by=week": lambda: len(usecase.engagement(svc, ctx, EngagementQuery(
            **days, group_by="week")).buckets),
        "alerts": lambda: len(usecase.alerts(svc, ctx, AlertHistoryQuery(**times, limit=50)).items),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    sizes = (2_000, 20_000) if args.small else (10_000, 200_000)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from infra.local.dynamodb_local import DynamoDBLocal

    db = DynamoDBLocal().start()
    try:
        from bench import history as base

        base._environment(db.endpoint)
        from chalicelib.auth.principal import Principal
        from chalicelib.auth.tokens import JwksFile
        from chalicelib.context import RequestContext
        from chalicelib.services import build_services
        from chalicelib.settings import SETTINGS
        from chalicelib.store.models import AlertModel, ContactModel, StatCounterModel
        from chalicelib.store.tables import ensure_tables

        ensure_tables()
        svc = build_services(SETTINGS, staff_keys=JwksFile("/nonexistent"), pseudonym_key=os.urandom(32))
        ctx = RequestContext(request_id="bench", now=base.NOW,
                             principal=Principal(sub="analyst-1", roles=frozenset({"analyst"}), kind="staff"))
        meter = base.Meter()
        meter.attach(ContactModel, StatCounterModel, AlertModel)
        calls = _first_view(svc, ctx)
        rng = random.Random(20261129)
        counters: Counter = Counter()
        members: dict[tuple[str, str], tuple[Counter, tuple[str, str]]] = {}
        results: dict[str, dict[int, tuple[int, float, float, int]]] = {name: {} for name in calls}
        seeded = 0
        for size in sizes:
            records = _with_roles(base._records(size - seeded, rng), rng)
            took = base._seed(records, counters, db.endpoint, COUNTER_KEYS)
            _write(db.endpoint, StatCounterModel.Meta.table_name, _engagement_items(records, members, svc.pseudonyms))
            seeded = size
            print(f"seeded {len(records):,} contacts (total {size:,}) in {took:.1f} s", file=sys.stderr)
            for name, fn in calls.items():
                results[name][size] = base._measure(meter, fn)
        _print(results, sizes)
    finally:
        db.stop()


def _print(results: dict[str, dict[int, tuple[int, float, float, int]]], sizes: tuple[int, ...]) -> None:
    header = f"{'first view (12 weeks, force-wide)':<34}" + "".join(f"| {f'{s:,} contacts':^36}" for s in sizes)
    sub = f"{'':<34}" + "".join(f"| {'calls':>5} {'RCU':>7} {'p50 ms':>8} {'buckets':>8}    " for _ in sizes)
    print(header)
    print(sub)
    print("-" * len(sub))
    for name, by_size in results.items():
        cells = "".join(f"| {c:>5} {u:>7.1f} {ms:>8.1f} {rows:>8}    " for (c, u, ms, rows) in (by_size[s] for s in sizes))
        print(f"{name:<34}{cells}")
    total = {s: (sum(r[s][0] for r in results.values()), sum(r[s][1] for r in results.values())) for s in sizes}
    print(f"{'total':<34}" + "".join(f"| {total[s][0]:>5} {total[s][1]:>7.1f}{'':<26}" for s in sizes))


if __name__ == "__main__":
    main()
