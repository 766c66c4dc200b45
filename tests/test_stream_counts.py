"""The contacts stream's aggregation rules (domain/stream_counts.py) and the use case on fakes:
what each change counts, how a batch is cut into transactions, replays changing nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import stats_keys, stream_counts
from chalicelib.domain.contacts import ContactRecord
from chalicelib.domain.stream_counts import ContactChange
from chalicelib.usecases import counters
from tests.fakes import fake_services

pytestmark = pytest.mark.no_database

KEEP = timedelta(days=730)


def member(grain: str, period: str, sub: str) -> str:
    return f"stf_{grain}_{period}_{sub}"


def contact(n: int, **changes: object) -> ContactRecord:
    record = ContactRecord(
        id=f"c-{n:04d}", kind="street", occurred_at="2026-11-30T09:00:00Z", topic="burglary", outcome="advice_given",
        tags=(), author=f"pc-{n % 7}", team=f"team-{n % 3}", version=1, created_at="2026-11-30T09:00:00Z",
        updated_at="2026-11-30T09:00:00Z", content_digest="d", expires_at=datetime(2028, 1, 1, tzinfo=UTC),
        cell="87195da49ffffff", author_role="officer",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def insert(record: ContactRecord, n: int = 0) -> ContactChange:
    return ContactChange(event_id=f"e-{record.id}-{record.version}-{n}", event="INSERT", old=None, new=record,
                         at=f"2026-11-30T09:00:{n % 60:02d}Z")


def modify(old: ContactRecord, new: ContactRecord) -> ContactChange:
    return ContactChange(event_id=f"e-{new.id}-{new.version}", event="MODIFY", old=old, new=new)


def total(parts: list[stream_counts.Part]) -> Counter[tuple[str, str]]:
    summed: Counter[tuple[str, str]] = Counter()
    for part in parts:
        summed.update(part.sums())
    return Counter({key: n for key, n in summed.items() if n})


def test_an_insert_counts_its_counters_at_every_grain() -> None:
    record = contact(1)
    assert stream_counts.counter_deltas(insert(record)) == stats_keys.with_period_grains(
        dict.fromkeys(record.counter_keys(), 1))


def test_an_amendment_moves_counts_from_the_old_image_to_the_new() -> None:
    old = contact(1)
    new = replace(old, topic="fraud_scams", version=2)
    deltas = stream_counts.counter_deltas(modify(old, new))
    day_key = (stats_keys.counter_pk(stats_keys.team_scope(old.team), "topic"), "2026-11-30|burglary")
    assert deltas[day_key] == -1
    assert deltas[(day_key[0], "2026-11-30|fraud_scams")] == 1
    assert all(abs(n) == 1 for n in deltas.values())
    assert not any("|kind" in key for key, _ in deltas)  # unchanged dimensions net to nothing


def test_an_erasure_and_a_ttl_deletion_change_no_count() -> None:
    old = contact(1, notes="words", handle_pseudonym="rsp_x")
    erased = replace(old, notes=None, handle_pseudonym=None, content_digest="erased", version=2)
    assert stream_counts.counter_deltas(modify(old, erased)) == {}
    assert stream_counts.member_moves(modify(old, erased), member, KEEP) == []
    expired = ContactChange(event_id="e-ttl", event="REMOVE", old=erased, new=None, by_ttl=True)
    assert stream_counts.counter_deltas(expired) == {}
    assert stream_counts.member_moves(expired, member, KEEP) == []


def test_a_batch_is_cut_deterministically_into_parts_that_fit_a_transaction() -> None:
    changes = [insert(contact(n, occurred_at=f"2026-11-{1 + n % 28:02d}T09:00:00Z"), n) for n in range(120)]
    parts = stream_counts.plan_parts(changes, member, KEEP)
    assert len(parts) > 3  # 120 contacts over 28 days do not fit one transaction
    assert all(part.items() <= stream_counts.TRANSACTION_ITEMS for part in parts)
    assert [e for part in parts for e in part.event_ids] == [c.event_id for c in changes]  # in order, each once
    assert [p.event_ids for p in stream_counts.plan_parts(changes, member, KEEP)] == [p.event_ids for p in parts]
    whole = stream_counts.plan_parts(changes, member, KEEP, capacity=10**6)
    assert len(whole) == 1 and total(parts) == total(whole)  # the cut changes no sum


def test_a_part_holds_at_least_one_record_even_past_the_capacity() -> None:
    parts = stream_counts.plan_parts([insert(contact(1)), insert(contact(2))], member, KEEP, capacity=5)
    assert [len(p.event_ids) for p in parts] == [1, 1]


def test_the_use_case_applies_a_replayed_or_rebatched_stream_once() -> None:
    svc, fakes = fake_services()
    fakes.db.stream_consumer = None  # the test plays the event source mapping itself
    records = [contact(n) for n in range(30)]
    amended = replace(records[0], topic="fraud_scams", version=2)
    changes = [insert(r, n) for n, r in enumerate(records)] + [modify(records[0], amended)]
    first = counters.apply_changes(svc, changes[:20])
    assert (first.records, first.replayed) == (20, 0) and first.as_of == "2026-11-30T09:00:19Z"
    after_first = dict(fakes.db.stats)
    assert counters.apply_changes(svc, changes[:20]).replayed == 20  # a crash before the checkpoint
    assert dict(fakes.db.stats) == after_first
    again = counters.apply_changes(svc, changes[10:])  # re-batched: overlapping what was applied
    assert (again.replayed, again.records) == (10, 21)
    expected: Counter[tuple[str, str]] = Counter()
    for record in [amended, *records[1:]]:
        expected.update(stats_keys.with_period_grains(dict.fromkeys(record.counter_keys(), 1)))
    found = Counter({(key, bucket.rsplit("|", 1)[0]): item["contacts"] for (key, bucket), item in fakes.db.stats.items()
                     if item.get("contacts")})
    assert found == Counter({k: n for k, n in expected.items() if n})
    assert svc.store.contact_stream.as_of() == "2026-11-30T09:00:29Z"
