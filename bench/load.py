"""Bounded load run against `chalice local` on loopback: mixed officer / resident / analyst /
public traffic for a fixed time, then the invariants checked. Not a test; prints a table.

The contacts stream is polled during the run like Lambda's event source mapping (every 0.25 s,
batches of up to 100, app.py's `contact_counter`; infra/local/streams.py): the table also shows
the aggregator's throughput (contacts per second of handler time, per stream shard) and the lag
from a create's acknowledgement to its counters being written (p50, p99).

    .venv/bin/python -m bench.load --seconds 60 --users 8

Starts its own DynamoDB Local (in memory), keys and server; touches nothing else.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from chalicelib.clock import to_rfc3339
from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.idp import PSEUDONYM_KEY, STAFF_JWKS, STAFF_PRIVATE, ensure_keys, issue_token

ISSUER, AUDIENCE = "https://idp.load.beatline", "beatline-load"
TOPICS = ["burglary", "drugs", "noise", "youth", "theft"]


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.created: set[str] = set()
        self.acknowledged_at: dict[str, float] = {}  # contact id -> first 200/201 (monotonic)

    def call(self, session: requests.Session, name: str, method: str, url: str, **kwargs) -> requests.Response:
        started = time.perf_counter()
        response = session.request(method, url, timeout=60, **kwargs)
        with self.lock:
            self.latency[name].append(time.perf_counter() - started)
            self.statuses[name][response.status_code] += 1
        return response


def contact(rng: random.Random) -> dict:
    occurred = to_rfc3339(datetime.now(UTC) - timedelta(hours=rng.randint(1, 48)))
    if rng.random() < 0.6:
        return {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": occurred, "topic": rng.choice(TOPICS),
                "outcome": "advice_given", "setting": "patrol",
                "location": {"lat": 51.45 + rng.random() / 10, "lon": -0.2 + rng.random() / 10}}
    return {"id": str(uuid.uuid4()), "kind": "online", "occurred_at": occurred, "topic": rng.choice(TOPICS),
            "outcome": "information_received", "platform": "nextdoor", "direction": "inbound"}


def officer_user(base: str, token: str, rec: Recorder, stop: float, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    sent: list[dict] = []
    while time.monotonic() < stop:
        roll = rng.random()
        if roll < 0.45:
            body = rng.choice(sent) if sent and rng.random() < 0.2 else contact(rng)  # 20% retries
            response = rec.call(session, "POST /v1/contacts", "POST", f"{base}/v1/contacts", json=body)
            if response.status_code in (200, 201):
                sent.append(body)
                with rec.lock:
                    rec.created.add(body["id"])
                    rec.acknowledged_at.setdefault(body["id"], time.monotonic())
        elif roll < 0.65:
            batch = [contact(rng) for _ in range(5)] + rng.sample(sent, min(2, len(sent)))
            response = rec.call(session, "POST /v1/contacts/batch", "POST", f"{base}/v1/contacts/batch", json={"contacts": batch})
            if response.status_code == 200:
                ok = {r["id"] for r in response.json()["results"] if r["status"] in (200, 201)}
                sent += [c for c in batch if c["id"] in ok]
                with rec.lock:
                    rec.created |= ok
                    now = time.monotonic()
                    for contact_id in ok:
                        rec.acknowledged_at.setdefault(contact_id, now)
        else:
            rec.call(session, "GET /v1/contacts", "GET", f"{base}/v1/contacts?limit=25")


def resident_user(base: str, rec: Recorder, stop: float, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    response = rec.call(session, "POST /v1/subscribers", "POST", f"{base}/v1/subscribers",
                        json={"channel": {"type": "inbox"}, "language": "en-GB"})
    if response.status_code != 201:
        return
    session.headers["Authorization"] = f"Bearer {response.json()['token']}"
    circle = {"type": "Circle", "center": {"lat": 51.5 + rng.random() / 20, "lon": -0.15 + rng.random() / 20}, "radius_m": 800}
    rec.call(session, "PUT /v1/subscribers/me/areas", "PUT", f"{base}/v1/subscribers/me/areas", json={"areas": [circle]})
    while time.monotonic() < stop:
        if rng.random() < 0.7:
            rec.call(session, "GET /v1/subscribers/me/inbox", "GET", f"{base}/v1/subscribers/me/inbox")
        else:
            rec.call(session, "GET /v1/public/alerts", "GET", f"{base}/v1/public/alerts?lat=51.51&lon=-0.12")


def analyst_user(base: str, token: str, rec: Recorder, stop: float, seed: int) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    now = datetime.now(UTC)
    window = f"from={to_rfc3339(now - timedelta(days=7))}&to={to_rfc3339(now)}&purpose=load-test%20monitoring"
    rng = random.Random(seed)
    while time.monotonic() < stop:
        if rng.random() < 0.5:
            rec.call(session, "GET /v1/history/contacts", "GET", f"{base}/v1/history/contacts?{window}&limit=50")
        else:
            rec.call(session, "GET /v1/history/stats", "GET", f"{base}/v1/history/stats?{window}&group_by=day&by=topic")


def _all_team_contacts(base: str, supervisor_token: str) -> list[dict[str, Any]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {supervisor_token}"
    stored: list[dict[str, Any]] = []
    cursor = None
    while True:
        url = f"{base}/v1/contacts?team=mine&limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = session.get(url, timeout=60).json()
        stored += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return stored


def _counters_match(stored: list[dict[str, Any]], team: str) -> bool:
    from chalicelib.domain import stats_keys
    from chalicelib.store import contacts as contact_store

    recount: Counter[tuple[str, str]] = Counter()
    for c in stored:
        for dim in ("kind", "topic", "platform"):
            if c.get(dim):
                recount[(stats_keys.counter_pk(stats_keys.team_scope(team), dim),
                         stats_keys.counter_sk(c["occurred_at"][:10], c[dim]))] += 1
    counted: Counter[tuple[str, str]] = Counter()
    for key in {k for k, _ in recount}:
        for bucket, value in contact_store.counters(key, "0000", "9999"):
            if value:
                counted[(key, bucket)] = value
    return counted == recount


def check_invariants(base: str, supervisor_token: str, team: str, rec: Recorder) -> list[str]:
    """Stored contacts == unique ids acknowledged; team counters == a recount of stored contacts."""
    stored = _all_team_contacts(base, supervisor_token)
    problems = []
    ids = [c["id"] for c in stored]
    if len(ids) != len(set(ids)):
        problems.append("duplicate contacts stored")
    if set(ids) != rec.created:
        problems.append(f"stored {len(set(ids))} contacts, acknowledged {len(rec.created)}")
    if not _counters_match(stored, team):
        problems.append("counters differ from a recount")
    return problems


class StreamStats:
    """The contact_counter handler, timed: handler seconds, records, and each INSERT's lag from
    its create's acknowledgement to the end of the batch that counted it."""

    def __init__(self, rec: Recorder) -> None:
        from app import contact_counter

        self.handler, self.rec = contact_counter, rec
        self.busy = 0.0
        self.records = 0
        self.batches = 0
        self.lags: list[float] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        started = time.monotonic()
        answer = self.handler(event, context)
        done = time.monotonic()
        self.busy += done - started
        self.records += len(event["Records"])
        self.batches += 1
        with self.rec.lock:
            for record in event["Records"]:
                contact_id = record["dynamodb"].get("Keys", {}).get("id", {}).get("S")
                if record["eventName"] == "INSERT" and contact_id in self.rec.acknowledged_at:
                    self.lags.append(max(0.0, done - self.rec.acknowledged_at[contact_id]))
        return answer


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--users", type=int, default=8, help="concurrent virtual users (threads)")
    args = parser.parse_args()

    keys_dir = Path(tempfile.mkdtemp(prefix="beatline-load-"))
    ensure_keys(keys_dir)
    db = DynamoDBLocal().start()
    os.environ.update({
        "BEATLINE_STAGE": "test", "BEATLINE_TABLE_PREFIX": "load-", "AWS_ENDPOINT_URL_DYNAMODB": db.endpoint,
        "AWS_DEFAULT_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "load", "AWS_SECRET_ACCESS_KEY": "load",
        "BEATLINE_STAFF_ISSUER": ISSUER, "BEATLINE_STAFF_AUDIENCE": AUDIENCE,
        "BEATLINE_STAFF_JWKS_FILE": str(keys_dir / STAFF_JWKS), "BEATLINE_PSEUDONYM_KEY_FILE": str(keys_dir / PSEUDONYM_KEY),
        "BEATLINE_RESIDENT_KEY_FILE": str(keys_dir / "resident-es256.pem"),
        "BEATLINE_VAPID_PRIVATE_KEY_FILE": str(keys_dir / "vapid-es256.pem"),
        "BEATLINE_SUBSCRIBER_RATE_PER_MINUTE": "100000",
        # The load comes from one address and a few residents: no per-client limit may answer it.
        **{f"BEATLINE_{name}": "100000" for name in (
            "SUBSCRIBER_RATE_PER_HOUR", "SUBSCRIBER_RATE_PER_DAY", "RESIDENT_READ_RATE_PER_MINUTE",
            "RESIDENT_READ_RATE_PER_HOUR", "RESIDENT_WRITE_RATE_PER_MINUTE", "RESIDENT_WRITE_RATE_PER_HOUR",
            "PUBLIC_LOOKUP_RATE_PER_MINUTE", "PUBLIC_LOOKUP_RATE_PER_HOUR")},
    })
    from chalicelib.store.tables import ensure_tables
    from infra.local.server import LiveServer

    ensure_tables()
    server = LiveServer().start()
    pem = (keys_dir / STAFF_PRIVATE).read_bytes()
    team = f"load-{uuid.uuid4().hex[:6]}"

    def token(role: str, sub: str) -> str:
        return issue_token(private_pem=pem, issuer=ISSUER, audience=AUDIENCE, sub=sub, roles=[role], team=team)

    rec = Recorder()
    from chalicelib.settings import SETTINGS
    from infra.local.streams import StreamPoller

    stream = StreamStats(rec)
    poller = StreamPoller(endpoint=db.endpoint, table_name=SETTINGS.table_name("contacts"), handler=stream)
    poller_stop = threading.Event()
    poller_thread = threading.Thread(target=poller.run, args=(poller_stop, 0.25))
    poller_thread.start()
    stop = time.monotonic() + args.seconds
    threads = []
    for i in range(args.users):
        kind = ("officer", "officer", "resident", "analyst")[i % 4]
        if kind == "officer":
            target, extra = officer_user, (token("officer", f"pc-{i}"),)
        elif kind == "resident":
            target, extra = resident_user, ()
        else:
            target, extra = analyst_user, (token("analyst", f"an-{i}"),)
        threads.append(threading.Thread(target=target, args=(server.url, *extra, rec, stop, i)))
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    poller_stop.set()
    poller_thread.join()
    poller.settle()  # what the last polls had not reached yet
    shards = len(poller.positions) or 1
    try:
        problems = check_invariants(server.url, token("supervisor", "sgt-load"), team, rec)
    finally:
        server.stop()
        db.stop()
        shutil.rmtree(keys_dir, ignore_errors=True)

    total = sum(sum(c.values()) for c in rec.statuses.values())
    errors_5xx = sum(n for c in rec.statuses.values() for s, n in c.items() if s >= 500)
    print(f"\nLoad run: {args.users} users, {elapsed:.0f} s, {total} requests ({total / elapsed:.1f}/s), 5xx: {errors_5xx}")
    print(f"{'operation':34} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for name in sorted(rec.latency):
        values = sorted(rec.latency[name])
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{name:34} {len(values):6d} {statistics.median(values) * 1000:8.1f} {p99 * 1000:8.1f}  {dict(rec.statuses[name])}")
    print(f"contacts acknowledged: {len(rec.created)}; invariants: {problems if problems else 'OK'}")
    if stream.busy:
        print(f"contacts stream: {stream.records} records in {stream.batches} batches on {shards} shard(s); "
              f"aggregator {stream.records / stream.busy / shards:.0f} records/s of handler time per shard; "
              f"create -> counted lag p50 {_percentile(stream.lags, 0.5) * 1000:.0f} ms, "
              f"p99 {_percentile(stream.lags, 0.99) * 1000:.0f} ms ({len(stream.lags)} creates, polled every 0.25 s)")
    return 0 if not problems and not errors_5xx else 1


if __name__ == "__main__":
    raise SystemExit(main())
