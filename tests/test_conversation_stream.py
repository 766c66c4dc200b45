"""Conversation figures off the write path, on DynamoDB Local's real stream (issue 23): a message
writes the conversation, the message, its contact and its access-log entry only (no counter);
the conversations stream's poller (Lambda's event shape, app.py's `conversation_counter`) derives
the figures from the images, exactly once (a batch replayed after a crash before its checkpoint
changes nothing); a whole lifecycle gives the counters the old write path gave; erasure and
deletions move nothing."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from app import conversation_counter
from chalicelib.clock import fixed_clock, to_rfc3339
from chalicelib.domain import conversations as rules
from tests.alerting import RecordingQueue, register, spot, square
from tests.conftest import bearer
from tests.support import DynamoCalls, crash_before_checkpoint, follower
from tests.test_conversation_stream_counts import old_figures


def _svc() -> Any:
    from chalicelib.services import services

    return services()


def _post(client: Any, token: str, path: str, body: Any) -> Any:
    response = client.http.post(path, headers=bearer(token), body=json.dumps(body))
    assert response.status_code < 300, response.body
    return response


def _area(client: Any, staff_token: Any, team: str) -> str:
    lat, lon = spot()
    area_id = str(uuid.uuid4())
    response = client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin", team=None)),
                               body=json.dumps({"name": "Elm ward", "team": team, "geometry": square(lat, lon, 0.01)}))
    assert response.status_code == 201, response.body
    return area_id


def _start(client: Any, resident: str, area_id: str) -> str:
    body = {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music every night", "area_id": area_id}
    return str(_post(client, resident, "/v1/conversations", body).json_body["id"])


def _team_figures(team: str) -> Counter[tuple[str, str]]:
    """Every figure and open-wait counter of `team` (day grain, shards summed), as stored now."""
    svc, found = _svc(), Counter[tuple[str, str]]()
    for key in (rules.figures_pk(team, "day"), rules.figures_pk(team, "week"), rules.waits_pk(team)):
        found.update({(key, bucket): n for bucket, n in svc.store.conversations.figures(key, "2000", "3000") if n})
    return found


def test_a_message_writes_no_counter_and_the_stream_counts_it(client: Any, staff_token: Any, team: str,
                                                              conversation_poller: Any, services_override: Any) -> None:
    services_override(channels={}, fanout_queue=RecordingQueue())  # the push worker's reads are another Lambda's
    _, resident = register(client)
    conv_id = _start(client, resident, _area(client, staff_token, team))
    officer = staff_token("officer", team=team)
    with DynamoCalls() as calls:
        _post(client, officer, f"/v1/conversations/{conv_id}/messages", {"id": str(uuid.uuid4()), "text": "ok"})
    # The message, the conversation, its contact, the access-log entry and the inbox copy: no counter.
    assert calls.operations == ["TransactWriteItems"] and calls.items == [5]
    assert _team_figures(team) == Counter()  # nothing counted until the stream is applied
    assert conversation_poller.settle() >= 2
    day = datetime.now(UTC).date().isoformat()
    figures = _team_figures(team)
    assert figures[(rules.figures_pk(team, "day"), f"{day}|{team}|opened")] == 1
    assert figures[(rules.figures_pk(team, "day"), f"{day}|{team}|answered")] == 1
    read = client.http.get(f"/v1/history/conversations?from={day}&to={day}&purpose=figures+test",
                           headers=bearer(staff_token("supervisor", team=team)))
    assert read.status_code == 200, read.body
    assert read.json_body["as_of"] >= day and read.json_body["buckets"][0]["answered"] == 1
    waiting = client.http.get("/v1/history/waiting?purpose=figures+test", headers=bearer(staff_token("supervisor", team=team)))
    assert waiting.json_body["counted_as_of"] >= day and waiting.json_body["waiting"] == 0


def test_a_batch_replayed_after_a_crash_before_its_checkpoint_changes_nothing(
        client: Any, staff_token: Any, team: str, conversation_poller: Any, services_override: Any) -> None:
    services_override(channels={})
    _, resident = register(client)
    area_id = _area(client, staff_token, team)
    for _ in range(3):
        _start(client, resident, area_id)
    answers = crash_before_checkpoint(conversation_poller, conversation_counter)
    assert answers and answers[0]["replayed"] == 0
    counted = _team_figures(team)
    day = datetime.now(UTC).date().isoformat()
    assert counted[(rules.figures_pk(team, "day"), f"{day}|{team}|opened")] == 3
    assert counted[(rules.waits_pk(team), f"{day}|{team}")] == 3
    retried = follower(conversation_poller, conversation_counter)  # Lambda retries the batch from the old checkpoint
    assert retried.settle() >= 3
    assert _team_figures(team) == counted


def test_a_lifecycle_counts_what_the_write_path_did(client: Any, staff_token: Any, team: str,
                                                    conversation_poller: Any, services_override: Any) -> None:
    """Open, answer, a new wait, the clock past 24 h and the standard, escalate, close as abuse:
    the stream's counters (from the stored images) equal the old write path's, step by step."""
    t0 = (datetime.now(UTC) - timedelta(days=6)).replace(hour=1, minute=0, second=0, microsecond=0)
    _, resident = register(client)
    area_id = _area(client, staff_token, team)
    officer = staff_token("officer", team=team)
    svc, expected = _svc(), Counter[tuple[str, str]]()
    services_override(clock=fixed_clock(t0), channels={})
    conv_id = _start(client, resident, area_id)
    states = [("start", None, svc.store.conversations.get(conv_id), t0)]

    def step(kind: str, at: datetime, path: str | None, body: dict[str, Any], token: str) -> None:
        services_override(clock=fixed_clock(at), channels={})
        if path is None:
            from chalicelib.usecases.conversations import count_overdue

            assert count_overdue(svc, at) >= 1
        else:
            _post(client, token, f"/v1/conversations/{conv_id}/{path}", body)
        states.append((kind, states[-1][2], svc.store.conversations.get(conv_id), at))

    step("message", t0 + timedelta(minutes=30), "messages", {"id": str(uuid.uuid4()), "text": "On it"}, officer)
    step("message", t0 + timedelta(hours=1), "messages", {"id": str(uuid.uuid4()), "text": "Again"}, resident)
    step("clock", t0 + timedelta(hours=74), None, {}, "")
    step("escalate", t0 + timedelta(hours=75), "escalate", {}, resident)
    step("close", t0 + timedelta(hours=76), "close", {"outcome": "abuse"}, officer)
    for kind, before, after, at in states:
        expected.update(old_figures(kind, before, after, to_rfc3339(at)))
    conversation_poller.settle()
    day_keys = {rules.figures_pk(team, "day"), rules.waits_pk(team)}
    stored = Counter({k: n for k, n in _team_figures(team).items() if k[0] in day_keys})
    assert stored == Counter({k: n for k, n in expected.items() if n and k[0] in day_keys})
    events = {bucket.split("|")[2] for _, bucket in stored if bucket.count("|") == 2}
    assert {"dismissed", "answered", "over24", "past_standard", "escalated", "closed"} <= events
    assert stored[(rules.figures_pk(team, "day"), f"{t0.date().isoformat()}|{team}|opened")] == 0  # dismissed


def test_erasure_and_deletions_change_no_figure(client: Any, staff_token: Any, team: str,
                                                conversation_poller: Any, services_override: Any) -> None:
    services_override(channels={})
    _, resident = register(client)
    conv_id = _start(client, resident, _area(client, staff_token, team))
    conversation_poller.settle()
    counted = _team_figures(team)
    assert counted
    svc = _svc()
    svc.store.conversations.forget_owner(conv_id, "erased")  # erasure: a change of no state
    assert conversation_poller.settle() == 1
    assert _team_figures(team) == counted
    from chalicelib.store.models import ConversationModel

    ConversationModel(id=conv_id).delete()  # as TTL would (DynamoDB Local does not expire items)
    records: list[dict[str, Any]] = []

    def keep(event: dict[str, Any], context: Any) -> Any:
        records.extend(event["Records"])
        return conversation_counter(event, context)

    keeper = follower(conversation_poller, keep)
    assert keeper.settle() == 1 and records[0]["eventName"] == "REMOVE"
    ttl = {**records[0], "eventID": f"ttl-{uuid.uuid4()}", "userIdentity": {
        "type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    assert conversation_counter({"Records": [ttl]}, None)["records"] == 1
    assert _team_figures(team) == counted
    conversation_poller.positions.update(keeper.positions)
