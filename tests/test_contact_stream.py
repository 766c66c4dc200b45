"""Counters off the write path, on DynamoDB Local's real stream (issue 23): the create writes no
counter; the stream poller (Lambda's event shape, app.py's handler) applies each record exactly
once: a batch replayed after a crash before its checkpoint, or a poller killed under load and
restarted from an older checkpoint, changes nothing; amendments and erasure keep counts right;
every counter equals a recount."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime
from typing import Any

from app import contact_counter
from chalicelib.domain import stats_keys
from chalicelib.domain.access import AccessRecord
from infra.local.streams import StreamPoller
from tests.support import crash_before_checkpoint, patch, post, street

TOPIC_KEY = "topic"


def _poller(base: Any, handler: Any = contact_counter) -> StreamPoller:
    """Another event source mapping on the same stream, starting at `base`'s checkpoints."""
    return StreamPoller(endpoint=base.endpoint, table_name=base.table_name, handler=handler, region=base.region,
                        positions=dict(base.positions))


def _topic_counts(svc: Any, team: str, day: str) -> dict[str, int]:
    key = stats_keys.counter_pk(stats_keys.team_scope(team), TOPIC_KEY)
    return {bucket.split("|", 1)[1]: n for bucket, n in svc.store.contacts.counters(key, day, day) if n}


def _svc() -> Any:
    from chalicelib.services import services

    return services()


def test_a_create_writes_the_contact_and_its_log_entry_only(client: Any, staff_token: Any, team: str,
                                                              stream_poller: Any) -> None:
    token = staff_token("officer", team=team)
    body = street()
    assert post(client, token, "/v1/contacts", body).status_code == 201
    day = body["occurred_at"][:10]
    svc = _svc()
    assert _topic_counts(svc, team, day) == {}  # nothing counted until the stream is applied
    assert stream_poller.settle() >= 1
    assert _topic_counts(svc, team, day) == {"burglary": 1}
    stats = client.http.get(f"/v1/history/stats?from={day}&to={day}&by=topic&purpose=operational_review",
                            headers={"Authorization": f"Bearer {staff_token('supervisor', team=team)}"})
    assert stats.status_code == 200, stats.body
    assert stats.json_body["buckets"] == [{"period": day, "key": "burglary", "contacts": 1}]
    assert stats.json_body["as_of"] >= body["occurred_at"][:10]  # the newest change applied, RFC 3339


def test_a_batch_replayed_after_a_crash_before_its_checkpoint_changes_nothing(
        client: Any, staff_token: Any, team: str, stream_poller: Any) -> None:
    token = staff_token("officer", team=team)
    bodies = [street(topic=topic) for topic in ("burglary", "burglary", "drugs")]
    for body in bodies:
        assert post(client, token, "/v1/contacts", body).status_code == 201
    answers = crash_before_checkpoint(stream_poller, contact_counter)
    assert answers and answers[0]["replayed"] == 0
    svc, day = _svc(), bodies[0]["occurred_at"][:10]
    counted = _topic_counts(svc, team, day)
    assert counted == {"burglary": 2, "drugs": 1}
    retried = _poller(stream_poller)  # Lambda retries the batch from the old checkpoint
    assert retried.settle() >= 3
    assert _topic_counts(svc, team, day) == counted


def test_amendments_and_erasure_keep_counts_right(client: Any, staff_token: Any, team: str, stream_poller: Any) -> None:
    token = staff_token("officer", team=team)
    body = street(notes="Spoke to a resident.")
    created = post(client, token, "/v1/contacts", body)
    assert created.status_code == 201
    amended = patch(client, token, body["id"], {"version": 1, "topic": "drugs"})
    assert amended.status_code == 200, amended.body
    svc, day = _svc(), body["occurred_at"][:10]
    stream_poller.settle()
    assert _topic_counts(svc, team, day) == {"drugs": 1}
    audit = AccessRecord(actor="system:erasure", role="system", action="contact.erase_words",
                         at=datetime.now(UTC), request_id="r-erase", record_id=body["id"])
    assert svc.store.contacts.redact_words(body["id"], "erased", audit) is True
    assert stream_poller.settle() >= 1  # the erasure is a change: it moves no count
    assert _topic_counts(svc, team, day) == {"drugs": 1}
    from chalicelib.usecases import counters

    assert counters.check(svc, date.fromisoformat(day), date.fromisoformat(day), [team], force=False) == []


def test_a_poller_killed_under_load_and_restarted_leaves_every_counter_equal_to_a_recount(
        client: Any, staff_token: Any, team: str, stream_poller: Any) -> None:
    from chalicelib.usecases import counters

    checkpoint = dict(stream_poller.positions)  # where the restarted poller will begin
    running = _poller(stream_poller)
    running.batch_size = 5  # many small batches, so the kill lands between them
    stop = threading.Event()
    poller_thread = threading.Thread(target=running.run, args=(stop, 0.01))
    poller_thread.start()
    tokens = [staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team) for _ in range(3)]
    topics = ("burglary", "drugs", "noise")

    def write(n: int) -> None:
        for i in range(12):
            body = street(topic=topics[(n + i) % 3])
            assert post(client, tokens[n], "/v1/contacts", body).status_code == 201
            if i % 4 == 0:
                assert patch(client, tokens[n], body["id"], {"version": 1, "topic": topics[i % 3]}).status_code in (200, 409)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()  # killed mid-run: some records applied, some not, its checkpoints lost
    poller_thread.join()
    assert running.delivered > 0
    restarted = StreamPoller(endpoint=stream_poller.endpoint, table_name=stream_poller.table_name,
                             handler=contact_counter, region=stream_poller.region, positions=checkpoint)
    assert restarted.settle() >= 36
    svc = _svc()
    today = date.fromisoformat(street()["occurred_at"][:10])
    assert counters.check(svc, today, today, [team], force=False) == []
    assert sum(_topic_counts(svc, team, today.isoformat()).values()) == 36
