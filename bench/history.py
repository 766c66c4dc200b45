"""History cost and speed: a 50-row history page and a 12-month weekly stats query, on tables
holding 10,000 and then 200,000 contacts (same run, own in-memory DynamoDB Local).

Prints, per query and table size: Query calls, consumed read capacity (ReturnConsumedCapacity
TOTAL, summed over the calls) and latency (median of repeated runs). The target: the same
capacity at both sizes, and a stats query of one Query call per key.

    .venv/bin/python -m bench.history            # ~2-4 minutes on 2 cores
    .venv/bin/python -m bench.history --small    # 2,000 / 20,000 contacts, for a quick look
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RUNS = 7
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TEAMS = [f"team-{n:02d}" for n in range(12)]
AREAS = [str(uuid.UUID(int=n + 1)) for n in range(40)]
WORKERS = 4
# Counters are seeded for the keys the stats queries below read (each is its own partition, so the
# ~300,000 other counter items a 200,000-contact year holds change nothing for a Query on one key,
# and writing them would triple the seeding time on DynamoDB Local). Contacts are seeded in full,
# with every history index attribute.
COUNTER_KEYS_READ = frozenset({"force|topic", "team:team-03|area"})


def _environment(endpoint: str) -> None:
    os.environ.update({
        "BEATLINE_STAGE": "bench", "BEATLINE_TABLE_PREFIX": "bench-", "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "BEATLINE_LOG_LEVEL": "WARNING",
    })


def _records(count: int, rng: random.Random) -> list[Any]:
    from chalicelib.clock import to_rfc3339
    from chalicelib.domain import geo
    from chalicelib.domain.contact_schemas import PLATFORMS, TOPICS
    from chalicelib.domain.contacts import ContactRecord

    records = []
    for _ in range(count):
        occurred = NOW - timedelta(seconds=rng.randrange(0, 365 * 86400))
        common = dict(
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), occurred_at=to_rfc3339(occurred),
            topic=rng.choice(TOPICS), outcome="advice_given", tags=("bench",), author=f"pc-{rng.randrange(400)}",
            team=rng.choice(TEAMS), version=1, created_at=to_rfc3339(occurred), updated_at=to_rfc3339(occurred),
            content_digest="x" * 52, expires_at=occurred + timedelta(days=730), notes="bench note",
        )
        if rng.random() < 0.6:
            lat, lon = 51.3 + rng.random() * 0.4, -0.4 + rng.random() * 0.6
            records.append(ContactRecord(
                kind="street", lat=lat, lon=lon, cell=geo.contact_cell(lat, lon), setting="patrol",
                area_id=rng.choice(AREAS) if rng.random() < 0.8 else None, **common,
            ))
        else:
            records.append(ContactRecord(kind="online", platform=rng.choice(PLATFORMS), direction="inbound", **common))
    return records


def _item(record: Any) -> dict[str, Any]:
    """The DynamoDB item of a contact, as `to_model(record).serialize()` makes it, built directly
    (PynamoDB's serialisation costs ~0.5 ms a contact; `check_items` proves the two equal)."""
    from chalicelib.domain.history import index_attributes

    item: dict[str, Any] = {}
    for name in ("id", "kind", "occurred_at", "topic", "outcome", "notes", "author", "team", "created_at",
                 "updated_at", "content_digest", "cell", "setting", "platform", "direction", "thread_ref",
                 "handle_pseudonym", "area_id"):
        value = getattr(record, name)
        if value is not None:
            item[name] = {"S": value}
    item["tags"] = {"L": [{"S": tag} for tag in record.tags]}
    item["version"] = {"N": str(record.version)}
    for name in ("lat", "lon"):
        value = getattr(record, name)
        if value is not None:
            item[name] = {"N": str(value)}
    item["expires_at"] = {"N": str(int(record.expires_at.timestamp()))}
    for name, value in index_attributes(record).items():
        if value is not None:
            item[name] = {"S": value}
    return item


def check_items(records: list[Any]) -> None:
    from chalicelib.store.contacts import to_model

    for record in records:
        expected = to_model(record).serialize()
        got = _item(record)
        assert got == expected, (sorted(set(got.items()) ^ set(expected.items()), key=str)[:4])


def _seed(records: list[Any], counters: Counter, endpoint: str, keys: frozenset[str] = COUNTER_KEYS_READ) -> float:
    """BatchWriteItem the contacts (items serialised by the store's own model mapping, so the
    history index attributes are the real ones) and put the counter totals (of COUNTER_KEYS_READ)
    of everything seeded so far. Serialising (Python) overlaps with writing (DynamoDB Local, Java) on two threads."""
    import boto3
    from botocore.config import Config

    from chalicelib.store.models import ContactModel, StatCounterModel

    clients: dict[int, Any] = {}

    def client() -> Any:
        import threading

        ident = threading.get_ident()
        if ident not in clients:
            clients[ident] = boto3.client("dynamodb", endpoint_url=endpoint, config=Config(parameter_validation=False))
        return clients[ident]

    def write(table: str, items: list[dict[str, Any]]) -> None:
        for i in range(0, len(items), 25):
            pending = {table: [{"PutRequest": {"Item": item}} for item in items[i:i + 25]]}
            while pending:
                pending = client().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    started = time.perf_counter()
    contacts_table = ContactModel.Meta.table_name
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = []
        for i in range(0, len(records), 500):
            chunk = records[i:i + 500]
            futures.append(pool.submit(write, contacts_table, [_item(r) for r in chunk]))
            for record in chunk:
                counters.update(key for key in record.counter_keys() if key[0] in keys)
        for future in futures:
            future.result()
        from chalicelib.domain.stats_keys import with_period_grains

        counter_items = [StatCounterModel(key=k, bucket=f"{b}|00", contacts=n).serialize()  # shard 00
                         for (k, b), n in with_period_grains(counters).items()]
        list(pool.map(lambda part: write(StatCounterModel.Meta.table_name, part),
                      [counter_items[j::WORKERS] for j in range(WORKERS)]))
    return time.perf_counter() - started


class Meter:
    """Counts Query calls and sums ConsumedCapacity from the responses (botocore after-call hook)."""

    def __init__(self) -> None:
        self.calls = 0
        self.units = 0.0

    def reset(self) -> None:
        self.calls, self.units = 0, 0.0

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        capacity = parsed.get("ConsumedCapacity") or {}
        self.units += float(capacity.get("CapacityUnits", 0.0))

    def attach(self, *models: Any) -> None:
        for model in models:
            model._get_connection().connection.client.meta.events.register("after-call.dynamodb.Query", self)


def _measure(meter: Meter, fn: Any) -> tuple[int, float, float, int]:
    latencies = []
    calls = units = rows = 0
    for run in range(RUNS):
        meter.reset()
        started = time.perf_counter()
        rows = fn()
        latencies.append((time.perf_counter() - started) * 1000)
        if run == 0:
            calls, units = meter.calls, meter.units
    return calls, units, statistics.median(latencies), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    sizes = (2_000, 20_000) if args.small else (10_000, 200_000)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from infra.local.dynamodb_local import DynamoDBLocal

    db = DynamoDBLocal().start()
    try:
        _environment(db.endpoint)
        from chalicelib.auth.principal import Principal
        from chalicelib.auth.tokens import JwksFile
        from chalicelib.context import RequestContext
        from chalicelib.domain.history import HistoryQuery, StatsQuery
        from chalicelib.services import build_services
        from chalicelib.settings import SETTINGS
        from chalicelib.store.models import ContactModel, StatCounterModel
        from chalicelib.store.tables import ensure_tables
        from chalicelib.usecases import history as usecase

        ensure_tables()
        svc = build_services(SETTINGS, staff_keys=JwksFile("/nonexistent"), pseudonym_key=os.urandom(32))
        ctx = RequestContext(request_id="bench", now=NOW,
                             principal=Principal(sub="analyst-1", roles=frozenset({"analyst"}), kind="staff"))
        meter = Meter()
        meter.attach(ContactModel, StatCounterModel)
        year = {"from_": NOW - timedelta(days=365), "to": NOW, "purpose": "benchmark"}
        queries = {
            "history page, force-wide": lambda: len(usecase.contacts(svc, ctx, HistoryQuery(**year, limit=50)).items),
            "history page, team+topic": lambda: len(usecase.contacts(svc, ctx, HistoryQuery(
                **year, team="team-03", topic="burglary", limit=50)).items),
            "history page, area+topic": lambda: len(usecase.contacts(svc, ctx, HistoryQuery(
                **year, area_id=AREAS[7], topic="youth", limit=50)).items),
            "stats 12 months weekly by topic": lambda: len(usecase.stats(svc, ctx, StatsQuery(
                from_=(NOW - timedelta(days=365)).date().isoformat(), to=NOW.date().isoformat(),
                group_by="week", by="topic", purpose="benchmark")).buckets),
            "stats 12 months weekly by area, one team": lambda: len(usecase.stats(svc, ctx, StatsQuery(
                from_=(NOW - timedelta(days=365)).date().isoformat(), to=NOW.date().isoformat(),
                group_by="week", by="area", team="team-03", purpose="benchmark")).buckets),
        }
        rng = random.Random(20261128)
        counters: Counter = Counter()
        results: dict[str, dict[int, tuple[int, float, float, int]]] = {name: {} for name in queries}
        seeded = 0
        for size in sizes:
            records = _records(size - seeded, rng)
            check_items(records[:200])
            took = _seed(records, counters, db.endpoint)
            seeded = size
            print(f"seeded {len(records):,} contacts (total {size:,}) in {took:.1f} s", file=sys.stderr)
            for name, fn in queries.items():
                results[name][size] = _measure(meter, fn)

        header = f"{'query':<42}" + "".join(
            f"| {f'{s:,} contacts':^36}" for s in sizes)
        sub = f"{'':<42}" + "".join(f"| {'calls':>5} {'RCU':>7} {'p50 ms':>8} {'rows':>8}    " for _ in sizes)
        print(header)
        print(sub)
        print("-" * len(sub))
        for name, by_size in results.items():
            cells = "".join(
                f"| {c:>5} {u:>7.1f} {ms:>8.1f} {rows:>8}    " for (c, u, ms, rows) in (by_size[s] for s in sizes))
            print(f"{name:<42}{cells}")
    finally:
        db.stop()


if __name__ == "__main__":
    main()
