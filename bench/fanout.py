"""Fan-out benchmark: one alert to N subscribers spread over a city, on DynamoDB Local.

    .venv/bin/python -m bench.fanout [--subscribers 100000] [--threads 8]

Seeds N subscribers (BatchWriteItem) with a circle each (200 m..1 km) over a ~20 x 20 km city,
publishes one alert covering the city, and runs the real worker (one process = one "worker")
over every fan-out message. Prints DynamoDB calls by operation, wall time, deliveries/s, and the
time of the bare Query calls over the same cells in the same run (the floor for any design that
reads the index). Channels: every subscriber is an inbox subscriber, so the figures are the
store's cost (push latency is the channels' and is parallel, see docs/fanout.md).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

CITY = (51.5074, -0.1278)
HALF_SIDE_DEG = (0.09, 0.145)  # ~20 km x 20 km


def setup_env() -> object:
    """A DynamoDB Local of its own and generated keys, as the app's settings read them (also bench/pulses.py)."""
    from infra.local.dynamodb_local import DynamoDBLocal

    db = DynamoDBLocal().start()
    keys = Path(tempfile.mkdtemp(prefix="beatline-bench-"))
    from infra.local.idp import PSEUDONYM_KEY, STAFF_JWKS, ensure_keys

    ensure_keys(keys)
    os.environ.update({
        "BEATLINE_STAGE": "bench", "BEATLINE_TABLE_PREFIX": "bench-", "AWS_ENDPOINT_URL_DYNAMODB": db.endpoint,
        "AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "BEATLINE_STAFF_JWKS_FILE": str(keys / STAFF_JWKS), "BEATLINE_PSEUDONYM_KEY_FILE": str(keys / PSEUDONYM_KEY),
    })
    return db


class CallCounter:
    """Counts DynamoDB API calls by operation (and their time) at PynamoDB's single choke point."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.enabled = False

    def install(self) -> None:
        from pynamodb.connection.base import Connection

        original = Connection._make_api_call
        counter = self

        def counted(self, operation_name, operation_kwargs, *args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return original(self, operation_name, operation_kwargs, *args, **kwargs)
            finally:
                if counter.enabled:
                    with counter._lock:
                        counter.calls[operation_name] += 1
                        counter.seconds[operation_name] += time.perf_counter() - started

        Connection._make_api_call = counted  # type: ignore[method-assign]

    def reset(self) -> None:
        self.calls.clear()
        self.seconds.clear()


def seed(n: int, threads: int, expires: datetime) -> int:
    import msgspec

    from chalicelib.domain.geometry import covering_cells
    from chalicelib.domain.shapes import Circle
    from chalicelib.domain.subscribers import SUBSCRIPTION_RESOLUTION
    from chalicelib.store.models import SubscriberModel, SubscriptionModel

    stamp = "2026-11-28T00:00:00Z"

    def chunk(start: int, size: int) -> int:
        rng = random.Random(start)
        entries = 0
        with SubscriberModel.batch_write() as subs, SubscriptionModel.batch_write() as index:
            for _ in range(size):
                lat = CITY[0] + rng.uniform(-HALF_SIDE_DEG[0], HALF_SIDE_DEG[0])
                lon = CITY[1] + rng.uniform(-HALF_SIDE_DEG[1], HALF_SIDE_DEG[1])
                shape = {"type": "Circle", "center": {"lat": round(lat, 6), "lon": round(lon, 6)},
                         "radius_m": rng.choice((200, 400, 600, 1000))}
                cells = sorted(covering_cells(msgspec.convert(shape, Circle), SUBSCRIPTION_RESOLUTION))
                sid = str(uuid.uuid4())
                subs.save(SubscriberModel(id=sid, channel='{"type":"inbox"}', areas=f'[{{"shape":{msgspec.json.encode(shape).decode()}}}]',
                                          cells=cells, created_at=stamp, updated_at=stamp, expires_at=expires))
                text = f"[{msgspec.json.encode(shape).decode()}]"
                for cell in cells:
                    index.save(SubscriptionModel(cell=cell, subscriber_id=sid, shapes=text, cells=cells, expires_at=expires))
                entries += len(cells)
        return entries

    size = 2_000
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(lambda s: chunk(s, min(size, n - s)), range(0, n, size)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=8, help="claim/send threads in the worker")
    args = parser.parse_args(argv)

    db = setup_env()
    try:
        counter = CallCounter()
        counter.install()
        from chalicelib.clock import to_rfc3339
        from chalicelib.domain.alerts import ALERT_RESOLUTION, AlertRecord, Content, StoredArea, published
        from chalicelib.domain.geometry import covering_cells
        from chalicelib.domain.shapes import Polygon
        from chalicelib.ports import FanoutMessage
        from chalicelib.services import dynamodb_repositories
        from chalicelib.store import alerts as alert_store
        from chalicelib.store.models import SubscriptionModel
        from chalicelib.store.tables import ensure_tables
        from chalicelib.usecases.alerts import CELLS_PER_MESSAGE
        from chalicelib.usecases.fanout import FanoutWorker

        ensure_tables()
        now = datetime.now(UTC).replace(microsecond=0)
        expires = now + timedelta(days=2)
        started = time.perf_counter()
        entries = seed(args.subscribers, 4, expires)
        seed_seconds = time.perf_counter() - started

        margin = 0.02
        lat0, lon0 = CITY
        dlat, dlon = HALF_SIDE_DEG[0] + margin, HALF_SIDE_DEG[1] + margin
        area = Polygon(coordinates=[[[lon0 - dlon, lat0 - dlat], [lon0 + dlon, lat0 - dlat], [lon0 + dlon, lat0 + dlat],
                                     [lon0 - dlon, lat0 + dlat], [lon0 - dlon, lat0 - dlat]]])
        draft = AlertRecord(
            id=str(uuid.uuid4()), team="bench", author="bench-officer", status="draft", revision=0, msg_type="Alert",
            content=Content(headline="Bench", description="Bench alert", category="Safety", severity="Moderate",
                            urgency="Expected", certainty="Likely", language="en-GB"),
            area=StoredArea(shape=area, name="City"), cells=tuple(sorted(covering_cells(area, ALERT_RESOLUTION))),
            expires=to_rfc3339(expires), created_at=to_rfc3339(now), updated_at=to_rfc3339(now),
        )
        alert_store.create(draft)
        alert = published(draft, now=now, msg_type="Alert", approved_by="bench-supervisor")
        alert_store.replace(draft, alert)
        cells = list(alert.cells)

        # Bare Query calls over the same cells (the floor), same page size as the worker.
        counter.reset()
        counter.enabled = True
        started = time.perf_counter()
        bare_items = 0
        for cell in cells:
            for _ in SubscriptionModel.query(cell, page_size=500):
                bare_items += 1
        bare_seconds = time.perf_counter() - started
        bare_calls = sum(counter.calls.values())

        pending = [FanoutMessage(alert_id=alert.id, revision=0, cells=cells[i:i + CELLS_PER_MESSAGE])
                   for i in range(0, len(cells), CELLS_PER_MESSAGE)]
        messages = len(pending)

        class ListQueue:
            def enqueue(self, more: list[FanoutMessage]) -> None:
                pending.extend(more)

        worker = FanoutWorker(clock=lambda: now, channels={}, queue=ListQueue(), base_url="http://bench",
                              threads=args.threads, store=dynamodb_repositories())
        counter.reset()
        started = time.perf_counter()
        processed = 0
        while pending:
            worker.process(pending.pop(0))
            processed += 1
        fanout_seconds = time.perf_counter() - started
        counter.enabled = False
        figures = alert_store.get(alert.id).figures  # type: ignore[union-attr]
        delivered = figures["targeted"]

        print(f"\nFan-out of one alert on DynamoDB Local ({args.subscribers:,} subscribers, {entries:,} index entries,"
              f" {len(cells)} H3 res-7 cells, {messages} messages (+{processed - messages} continuations),"
              f" {args.threads} worker threads)\n")
        print(f"seeding: {seed_seconds:.1f} s (BatchWriteItem)\n")
        print(f"{'operation':<18}{'calls':>10}{'time in call (s)':>20}")
        for op, n in sorted(counter.calls.items(), key=lambda kv: -kv[1]):
            print(f"{op:<18}{n:>10,}{counter.seconds[op]:>20.1f}")
        print(f"{'total':<18}{sum(counter.calls.values()):>10,}")
        print()
        rows = [
            ("deliveries (targeted)", f"{delivered:,}"),
            ("inbox / sent", f"{figures['sent']:,}"),
            ("fan-out wall time", f"{fanout_seconds:.1f} s"),
            ("deliveries per second (1 worker)", f"{delivered / fanout_seconds:,.0f}"),
            ("DynamoDB calls per delivery", f"{sum(counter.calls.values()) / max(1, delivered):.2f}"),
            ("bare Query: calls / items / time", f"{bare_calls:,} / {bare_items:,} / {bare_seconds:.2f} s"),
            ("fan-out time / bare Query time", f"{fanout_seconds / bare_seconds:.1f}x"),
        ]
        width = max(len(k) for k, _ in rows) + 2
        for key, value in rows:
            print(f"{key:<{width}}{value}")
        per_delivery_ms = fanout_seconds / max(1, delivered) * 1000
        print(f"\nper-worker throughput: {delivered / fanout_seconds:,.0f} deliveries/s ({per_delivery_ms:.2f} ms each);"
              f" 1,000,000 in 60 s needs ~{math.ceil(1_000_000 / 60 / (delivered / fanout_seconds))} such workers"
              " (DynamoDB Local on this shared 2-core machine; see docs/fanout.md for AWS).")
        return 0
    finally:
        db.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
