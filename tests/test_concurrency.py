"""16 threads syncing overlapping offline batches (30% retried items) and racing amendments
against one table, over real HTTP (chalice local) on DynamoDB Local."""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from chalicelib.domain import stats_keys
from chalicelib.store import contacts as contact_store
from infra.local.server import LiveServer

THREADS = 16
OFFICERS = 4
CONTACTS_PER_OFFICER = 25
BATCH_SIZE = 10
RETRY_SHARE = 0.3
TOPICS = ["burglary", "drugs", "noise", "youth"]


@pytest.fixture(scope="module")
def live_server():
    server = LiveServer().start()
    yield server
    server.stop()


def contact_body(contact_id: str, rng: random.Random, now: datetime) -> dict:
    occurred = now - timedelta(hours=rng.randint(1, 72))
    if rng.random() < 0.5:
        return {"id": contact_id, "kind": "street", "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "topic": rng.choice(TOPICS), "outcome": "advice_given", "setting": "patrol",
                "location": {"lat": 51.5 + rng.random() / 10, "lon": -0.1 - rng.random() / 10}}
    return {"id": contact_id, "kind": "online", "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "topic": rng.choice(TOPICS), "outcome": "information_received", "platform": "facebook",
            "direction": "inbound", "handle": f"@someone{rng.randint(1, 9)}"}


def _list_all(call: Any, supervisor: str) -> list[dict[str, Any]]:
    """Every contact of the team, page by page."""
    stored: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = "/v1/contacts?team=mine&limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = call("GET", path, supervisor).json()
        stored += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return stored


def _recount(stored: list[dict[str, Any]], team: str) -> Counter[tuple[str, str]]:
    """The counters the stored contacts imply (kind, topic, platform per day)."""
    recount: Counter[tuple[str, str]] = Counter()
    for contact in stored:
        day = contact["occurred_at"][:10]
        for dimension in ("kind", "topic", "platform"):
            if contact.get(dimension):
                recount[(stats_keys.counter_pk(stats_keys.team_scope(team), dimension),
                         stats_keys.counter_sk(day, contact[dimension]))] += 1
    return recount


def _stored_counters(keys: set[str]) -> Counter[tuple[str, str]]:
    from tests.conftest import settle_streams

    settle_streams()  # the counters come from the contacts stream
    stored_counters: Counter[tuple[str, str]] = Counter()
    for key in keys:
        for bucket, value in contact_store.counters(key, "0000", "9999"):
            if value:
                stored_counters[(key, bucket)] = value
    return stored_counters


def test_concurrent_offline_sync_and_amendments(live_server, staff_token, team):
    rng = random.Random(20261128)
    now = datetime.now(UTC)
    officers = [f"pc-{uuid.uuid4().hex[:6]}" for _ in range(OFFICERS)]
    tokens = {sub: staff_token("officer", sub=sub, team=team) for sub in officers}
    queues = {sub: [contact_body(str(uuid.uuid4()), rng, now) for _ in range(CONTACTS_PER_OFFICER)] for sub in officers}
    statuses: Counter[int] = Counter()
    item_statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    sent: dict[str, set[str]] = {sub: set() for sub in officers}

    def call(method: str, path: str, token: str, body: dict | None = None) -> requests.Response:
        started = time.perf_counter()
        response = requests.request(method, live_server.url + path, json=body, timeout=120,
                                    headers={"Authorization": f"Bearer {token}"})
        with lock:
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] += 1
        return response

    def sync_device(thread_index: int) -> None:
        device_rng = random.Random(thread_index)
        sub = officers[thread_index % OFFICERS]
        queue = queues[sub]
        for start in range(0, len(queue), BATCH_SIZE):
            batch = list(queue[start:start + BATCH_SIZE])
            with lock:
                already = list(sent[sub])
            retries = [c for c in queue if c["id"] in already]
            extra = device_rng.sample(retries, min(len(retries), int(BATCH_SIZE * RETRY_SHARE)))
            response = call("POST", "/v1/contacts/batch", tokens[sub], {"contacts": batch + extra})
            assert response.status_code == 200, response.text
            with lock:
                for result in response.json()["results"]:
                    item_statuses[result["status"]] += 1
                sent[sub].update(c["id"] for c in batch)

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(sync_device, range(THREADS)))

    # Racing amendments: two threads amend the same contact from the same version.
    supervisor = staff_token("supervisor", team=team)
    targets = [c["id"] for sub in officers for c in queues[sub][:5]]
    wins: Counter[str] = Counter()

    def amend(contact_id: str, topic: str) -> None:
        response = call("PATCH", f"/v1/contacts/{contact_id}", supervisor, {"version": 1, "topic": topic})
        assert response.status_code in (200, 409), response.text
        if response.status_code == 200:
            with lock:
                wins[contact_id] += 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda args: amend(*args), [(cid, t) for cid in targets for t in ("violence", "theft")]))
    elapsed = time.perf_counter() - started

    # Every unique id stored once, with its counters; no 5xx; each race had exactly one winner.
    expected_ids = {c["id"] for sub in officers for c in queues[sub]}
    stored = _list_all(call, supervisor)
    assert sorted(c["id"] for c in stored) == sorted(expected_ids)
    assert not [s for s in statuses if s >= 500], statuses
    assert all(wins[cid] == 1 for cid in targets), wins
    by_id = {c["id"]: c for c in stored}
    for cid in targets:
        assert by_id[cid]["version"] == 2
        assert by_id[cid]["topic"] in ("violence", "theft")
        amendments = call("GET", f"/v1/contacts/{cid}/amendments", supervisor).json()["items"]
        assert len(amendments) == 1

    recount = _recount(stored, team)
    assert _stored_counters({k for k, _ in recount}) == recount

    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(f"\nconcurrency: {THREADS} threads, {len(expected_ids)} unique contacts, "
          f"{sum(item_statuses.values())} batch items {dict(item_statuses)}, "
          f"HTTP {dict(statuses)}, {elapsed:.1f}s, p50 {p50:.0f} ms, p99 {p99:.0f} ms")
