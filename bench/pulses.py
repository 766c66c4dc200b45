"""Pulse benchmark: the admin's `POST /v1/pulses` use case for one area of N followers, and the
worker's steps after it, on DynamoDB Local.

    .venv/bin/python -m bench.pulses [--followers 5000]

Seeds N followers of one named area (BatchWriteItem: their records and their entry in the area's
first cover cell, which is all a pulse reads), then times `create_pulse` as the handler calls it
(with the push queue in memory) and, where the tree has a pulse worker, every queued step until
the pulse is `sent`. Run from another checkout's root (`python /path/to/bench/pulses.py`) to time
a tree without the worker: then the request does the whole delivery.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.getcwd())  # the checkout being measured

from bench.fanout import setup_env


def _seed(area_id: str, cell: str, n: int, expires: datetime) -> None:
    from chalicelib.store.models import SubscriberModel, SubscriptionModel

    stamp = "2026-12-01T00:00:00Z"
    areas = f'[{{"area_id":"{area_id}"}}]'
    with SubscriberModel.batch_write() as subs, SubscriptionModel.batch_write() as index:
        for _ in range(n):
            sid = str(uuid.uuid4())
            subs.save(SubscriberModel(id=sid, channel='{"type":"inbox"}', areas=areas, cells=[cell], created_at=stamp,
                                      updated_at=stamp, expires_at=expires))
            index.save(SubscriptionModel(cell=cell, subscriber_id=sid, shapes="[]", cells=[cell], expires_at=expires))


class Steps:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, step: Any) -> None:
        self.sent.append(step)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=5000)
    args = parser.parse_args(argv)
    db = setup_env()
    try:
        import msgspec

        from chalicelib.auth.principal import Principal
        from chalicelib.context import RequestContext
        from chalicelib.domain.areas import AreaIn
        from chalicelib.domain.subscribers import SUBSCRIPTION_RESOLUTION
        from chalicelib.domain.trust import PulseIn
        from chalicelib.services import build_services
        from chalicelib.settings import load_settings
        from chalicelib.store.tables import ensure_tables
        from chalicelib.usecases import areas as area_cases
        from tests.fakes import FakeQueue

        ensure_tables()
        steps = Steps()
        settings = load_settings(dict(os.environ))
        try:
            svc = build_services(settings, fanout_queue=FakeQueue(), pulse_queue=steps)  # type: ignore[call-arg]
            from chalicelib.usecases import pulses as usecase
            worker = True
        except TypeError:  # a tree without the pulse worker
            svc = build_services(settings, fanout_queue=FakeQueue())
            from chalicelib.usecases import trust as usecase  # type: ignore[no-redef]
            worker = False
        now = datetime.now(UTC).replace(microsecond=0)
        admin = RequestContext(request_id="bench", now=now, principal=Principal(
            sub="admin-bench", roles=frozenset({"admin"}), kind="staff", team=None, force="bench"))
        area_id = str(uuid.uuid4())
        lat, lon, half = 51.5074, -0.1278, 0.01
        ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half],
                [lon - half, lat + half], [lon - half, lat - half]]
        area_cases.put_area(svc, admin, area_id, msgspec.convert(
            {"name": "Bench ward", "team": "bench", "geometry": {"type": "Polygon", "coordinates": [ring]}}, AreaIn))
        cell = sorted(svc.cover(svc.store.areas.get(area_id).geometry, SUBSCRIPTION_RESOLUTION))[0]  # type: ignore[union-attr]
        started = time.perf_counter()
        _seed(area_id, cell, args.followers, now + timedelta(days=2))
        seeded = time.perf_counter() - started
        body = PulseIn(id=uuid.uuid4(), question="police_good_job", areas=[uuid.UUID(area_id)])
        started = time.perf_counter()
        _, out = usecase.create_pulse(svc, admin, body)
        request = time.perf_counter() - started
        print(f"\nPulse to one area of {args.followers:,} followers on DynamoDB Local (seeded in {seeded:.1f} s)\n")
        print(f"request (create_pulse): {request * 1000:,.0f} ms; reply: state {getattr(out, 'state', '-')}, "
              f"sent {out.sent:,}")
        if worker:
            started, ran, longest = time.perf_counter(), 0, 0.0
            while steps.sent:
                one = time.perf_counter()
                usecase.run_step(svc, steps.sent.pop(0))
                longest = max(longest, time.perf_counter() - one)
                ran += 1
            read = usecase.get_pulse(svc, admin, out.id)
            print(f"worker: {ran} steps in {time.perf_counter() - started:.1f} s (longest step {longest:.1f} s); "
                  f"pulse {read.state}, sent {read.sent:,}")
        return 0
    finally:
        db.stop()


if __name__ == "__main__":
    raise SystemExit(main())
