"""Conversations through HTTP on DynamoDB Local: the whole loop (start, queue, answer, inbox, push,
reply, close, reopen), bad input, foreign records, rate limit, figures, erasure, round trips and
concurrent transactions. The state, race and clock rules are tests/test_conversation_rules.py, on fakes."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import fixed_clock
from chalicelib.domain.results import Created
from chalicelib.notify.payloads import webpush_body
from chalicelib.ports import AnswerPush
from tests.alerting import FakeChannel, RecordingQueue, register, spot, square, webpush_channel
from tests.conftest import bearer
from tests.support import DynamoCalls, access_entries, team_contacts


def _post(client, token: str, path: str, body: Any) -> Any:
    return client.http.post(path, headers=bearer(token), body=json.dumps(body))


def _get(client, token: str, path: str) -> Any:
    return client.http.get(path, headers=bearer(token))


def make_area(client, staff_token, team: str, lat: float, lon: float) -> str:
    area_id = str(uuid.uuid4())
    response = client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin", team=None)),
                               body=json.dumps({"name": "Elm ward", "team": team, "geometry": square(lat, lon, 0.01)}))
    assert response.status_code == 201, response.body
    return area_id


def start_body(area_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music every night at no. 4"}
    if area_id:
        body["area_id"] = area_id
    body.update(overrides)
    return body


@pytest.fixture
def place(client, staff_token, team):
    lat, lon = spot()
    return {"lat": lat, "lon": lon, "area_id": make_area(client, staff_token, team, lat, lon), "team": team}


def test_the_whole_loop(client, staff_token, place, services_override):
    push, queue = FakeChannel(), RecordingQueue()
    services_override(channels={"webpush": push}, fanout_queue=queue)
    team = place["team"]
    _, resident = register(client)
    officer_sub = f"pc-{uuid.uuid4().hex[:6]}"
    officer = staff_token("officer", sub=officer_sub, team=team)
    supervisor = staff_token("supervisor", team=team)

    body = start_body(place["area_id"])
    started = _post(client, resident, "/v1/conversations", body)
    assert started.status_code == 201, started.body
    conv = started.json_body
    assert (conv["status"], conv["team"], conv["area_id"], conv["alert_id"]) == ("waiting", team, place["area_id"], None)
    assert [m["from"] for m in conv["messages"]] == ["resident"]
    assert _post(client, resident, "/v1/conversations", body).status_code == 200  # identical resend
    assert _post(client, resident, "/v1/conversations", {**body, "text": "other"}).status_code == 409

    queue_page = _get(client, officer, "/v1/conversations?status=waiting").json_body
    assert [c["id"] for c in queue_page["items"]] == [conv["id"]]

    answer = {"id": str(uuid.uuid4()), "text": "We will visit tonight."}
    sent = _post(client, officer, f"/v1/conversations/{conv['id']}/messages", answer)
    assert sent.status_code == 201, sent.body
    assert sent.json_body["officer"].startswith("Officer ") and officer_sub not in sent.body.decode()
    assert _post(client, officer, f"/v1/conversations/{conv['id']}/messages", answer).status_code == 200
    assert _post(client, officer, f"/v1/conversations/{conv['id']}/messages", {**answer, "text": "x"}).status_code == 409
    assert queue.messages == [AnswerPush(conversation_id=conv["id"], message_id=answer["id"])]  # one, not two

    inbox = _get(client, resident, "/v1/subscribers/me/inbox").json_body["items"]
    assert [(i["kind"], i["text"]) for i in inbox] == [("conversation", "We will visit tonight.")]
    assert _get(client, officer, "/v1/conversations?status=waiting").json_body["items"] == []
    assert [c["id"] for c in _get(client, officer, "/v1/conversations?status=answered").json_body["items"]] == [conv["id"]]

    reply = _post(client, resident, f"/v1/conversations/{conv['id']}/messages", {"id": str(uuid.uuid4()), "text": "Thanks"})
    assert reply.status_code == 201
    closed = _post(client, supervisor, f"/v1/conversations/{conv['id']}/close", {"outcome": "resolved"})
    assert (closed.status_code, closed.json_body["status"], closed.json_body["outcome"]) == (200, "closed", "resolved")
    late = _post(client, officer, f"/v1/conversations/{conv['id']}/messages", {"id": str(uuid.uuid4()), "text": "Hi"})
    assert late.status_code == 422
    reopened = _post(client, resident, f"/v1/conversations/{conv['id']}/messages", {"id": str(uuid.uuid4()), "text": "Again!"})
    assert reopened.status_code == 201

    seen = _get(client, resident, f"/v1/conversations/{conv['id']}").json_body
    assert seen["status"] == "waiting" and seen["version"] == 5
    assert [(m["from"], m["text"]) for m in seen["messages"]] == [
        ("resident", body["text"]), ("team", "We will visit tonight."), ("resident", "Thanks"), ("resident", "Again!")]
    mine = _get(client, resident, "/v1/subscribers/me/conversations").json_body["items"]
    assert [c["id"] for c in mine] == [conv["id"]]

    contacts = sorted(team_contacts(team), key=lambda c: c.occurred_at)
    assert len(contacts) == 4 and {c.platform for c in contacts} == {"beatline"}
    assert sorted(c.direction for c in contacts) == ["inbound", "inbound", "inbound", "outbound"]
    outbound = next(c for c in contacts if c.direction == "outbound")
    assert outbound.author == officer_sub and outbound.notes is None
    assert all(c.handle_pseudonym and c.handle_pseudonym.startswith("rsp_") for c in contacts if c.direction == "inbound")
    assert any(e.action == "conversation.read" and e.record_id == conv["id"] for e in access_entries(officer_sub)) is False
    _get(client, officer, f"/v1/conversations/{conv['id']}")
    assert any(e.action == "conversation.read" and e.record_id == conv["id"] for e in access_entries(officer_sub))


def test_push_is_claimed_once_and_held_by_quiet_hours(client, staff_token, place, services_override):
    push, queue = FakeChannel(), RecordingQueue()
    svc = services_override(channels={"webpush": push}, fanout_queue=queue)
    officer = staff_token("officer", team=place["team"])
    awake_channel, quiet_channel = webpush_channel(), webpush_channel()
    _, awake = register(client, awake_channel)
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=2)).strftime("%H:%M")
    _, sleeper = register(client, quiet_channel, quiet_hours={"start": start, "end": end, "tz": "UTC"})
    for token in (awake, sleeper):
        conv = _post(client, token, "/v1/conversations", start_body(place["area_id"])).json_body
        assert _post(client, officer, f"/v1/conversations/{conv['id']}/messages",
                     {"id": str(uuid.uuid4()), "text": "On our way"}).status_code == 201

    worker = svc.push_worker()
    for message in queue.messages + queue.messages:  # every message delivered twice (SQS at-least-once)
        assert worker.process(message) is True
    assert len(push.sent_to(awake_channel["subscription"]["endpoint"])) == 1
    assert push.sent_to(quiet_channel["subscription"]["endpoint"]) == []
    note = push.sent_to(awake_channel["subscription"]["endpoint"])[0]
    payload = json.loads(webpush_body(note))  # the answer kind: no alert fields, no words
    assert (payload["kind"], payload["id"], payload["headline"]) == ("answer", note.conversation_id,
                                                                     "Your neighbourhood team answered")
    assert payload["url"].endswith(f"/app/#conversation={note.conversation_id}")
    assert not {"severity", "category", "urgency"} & set(payload) and "On our way" not in json.dumps(payload)

    later = services_override(channels={"webpush": push}, fanout_queue=queue, clock=fixed_clock(now + timedelta(hours=3)))
    later.push_worker().release_held()
    later.push_worker().release_held()
    assert len(push.sent_to(quiet_channel["subscription"]["endpoint"])) == 1


def _refuse_secret() -> Any:
    raise AssertionError("an event function read a secret only the API needs")


def test_the_event_functions_never_read_the_api_secrets(client, staff_token, place, services_override):
    """The Lambda entry points of the worker, housekeeping and the conversation clock run on
    Services whose pseudonym and resident-token keys refuse to load: their roles need no grant."""
    import app as lambdas
    from chalicelib.notify.queue import encode

    push, queue = FakeChannel(), RecordingQueue()
    services_override(channels={"webpush": push}, fanout_queue=queue)
    channel = webpush_channel()
    _, resident = register(client, channel)
    conv = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body
    assert _post(client, staff_token("officer", team=place["team"]), f"/v1/conversations/{conv['id']}/messages",
                 {"id": str(uuid.uuid4()), "text": "On our way"}).status_code == 201
    events = services_override(channels={"webpush": push}, fanout_queue=RecordingQueue(),
                               clock=fixed_clock(datetime.now(UTC) + timedelta(hours=25)))
    events.pseudonym_key_source = events.resident_tokens_source = _refuse_secret
    records = [{"messageId": "m1", "receiptHandle": "r", "body": encode(m), "attributes": {},
                "messageAttributes": {}, "eventSourceARN": "arn:aws:sqs:eu-west-2:0:q"} for m in queue.messages]
    assert lambdas.fanout_worker({"Records": records}, None) == {"batchItemFailures": []}
    assert len(push.sent_to(channel["subscription"]["endpoint"])) == 1
    scheduled = {"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "0", "time": "2026-01-01T00:00:00Z", "region": "eu-west-2", "resources": [], "detail": {}}
    assert "released" in lambdas.housekeeping(scheduled, None)
    assert lambdas.conversation_clock(scheduled, None)["counted"] >= 0
    assert "pseudonyms" not in vars(events) and "resident_tokens" not in vars(events)  # never loaded


def test_a_resend_after_the_close_is_still_an_identical_retry(client, staff_token, place):
    """An officer's app that never heard the 201 resends after a colleague closed the conversation."""
    _, resident = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    officer = staff_token("officer", team=place["team"])
    answer = {"id": str(uuid.uuid4()), "text": "We have spoken to the neighbours."}
    assert _post(client, officer, f"/v1/conversations/{conv_id}/messages", answer).status_code == 201
    assert _post(client, staff_token("supervisor", team=place["team"]), f"/v1/conversations/{conv_id}/close",
                 {"outcome": "resolved"}).status_code == 200
    again = _post(client, officer, f"/v1/conversations/{conv_id}/messages", answer)
    assert again.status_code == 200 and again.json_body["id"] == answer["id"]
    assert _post(client, officer, f"/v1/conversations/{conv_id}/messages", {**answer, "text": "Other"}).status_code == 409
    assert _post(client, officer, f"/v1/conversations/{conv_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "New"}).status_code == 422


def test_place_resolution_and_bad_input(client, staff_token, place):
    _, resident = register(client)
    at_point = _post(client, resident, "/v1/conversations",
                     start_body(location={"lat": place["lat"], "lon": place["lon"]}))
    assert at_point.status_code == 201, at_point.body
    assert at_point.json_body["area_id"] == place["area_id"]
    nowhere = _post(client, resident, "/v1/conversations", start_body(location={"lat": -45.0, "lon": 170.0}))
    assert nowhere.status_code == 422
    assert _post(client, resident, "/v1/conversations", start_body(str(uuid.uuid4()))).status_code == 422
    both = start_body(place["area_id"], location={"lat": place["lat"], "lon": place["lon"]})
    for bad in (start_body(), both, start_body(place["area_id"], text=""), start_body(place["area_id"], text="x" * 1001),
                start_body(place["area_id"], topic="gossip"), start_body(place["area_id"], extra=1),
                start_body(place["area_id"], id="not-a-uuid")):
        assert _post(client, resident, "/v1/conversations", bad).status_code == 400, bad
    conv_id = at_point.json_body["id"]
    for bad in ({"id": str(uuid.uuid4()), "text": ""}, {"id": str(uuid.uuid4()), "text": "y" * 1001}, {"text": "hi"}):
        assert _post(client, resident, f"/v1/conversations/{conv_id}/messages", bad).status_code == 400
    assert _post(client, staff_token("officer", team=place["team"]), f"/v1/conversations/{conv_id}/close",
                 {"outcome": "bogus"}).status_code == 400
    assert len(_get(client, resident, f"/v1/conversations/{conv_id}").json_body["messages"]) == 1  # nothing half-written


def test_foreign_and_unknown_conversations_are_404(client, staff_token, place):
    _, owner = register(client)
    _, stranger = register(client)
    conv_id = _post(client, owner, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    other_team = staff_token("supervisor", team=f"other-{uuid.uuid4().hex[:6]}")
    message = {"id": str(uuid.uuid4()), "text": "hello"}
    for token in (stranger, other_team):
        assert _get(client, token, f"/v1/conversations/{conv_id}").status_code == 404
        assert _post(client, token, f"/v1/conversations/{conv_id}/messages", message).status_code == 404
    assert _post(client, other_team, f"/v1/conversations/{conv_id}/close", {"outcome": "resolved"}).status_code == 404
    for path in (str(uuid.uuid4()), "nope", "..%2f", "' OR 1=1"):
        assert _get(client, owner, f"/v1/conversations/{path}").status_code in (403, 404)
    # A stranger reusing the owner's conversation id to start one learns nothing but a conflict.
    taken = _post(client, stranger, "/v1/conversations", start_body(place["area_id"], id=conv_id))
    assert taken.status_code == 409 and "noise" not in taken.body.decode()


def test_a_long_conversation_shows_its_latest_messages_and_pages_back(client, staff_token, place):
    _, resident = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"], text="m0")).json_body["id"]
    officer = staff_token("officer", team=place["team"])
    for n in range(1, 7):
        assert _post(client, officer, f"/v1/conversations/{conv_id}/messages",
                     {"id": str(uuid.uuid4()), "text": f"m{n}"}).status_code == 201
    pages, before = [], ""
    while True:
        page = _get(client, resident, f"/v1/conversations/{conv_id}?limit=3{before}").json_body
        pages.append([m["text"] for m in page["messages"]])
        if "earlier_cursor" not in page:
            break
        before = f"&before={page['earlier_cursor']}"
    assert pages == [["m4", "m5", "m6"], ["m1", "m2", "m3"], ["m0"]]  # latest first, oldest first within
    whole = _get(client, resident, f"/v1/conversations/{conv_id}").json_body
    assert [m["text"] for m in whole["messages"]] == [f"m{n}" for n in range(7)] and "earlier_cursor" not in whole
    cursor = _get(client, resident, f"/v1/conversations/{conv_id}?limit=3").json_body["earlier_cursor"]
    # A cursor is bound to its reader, conversation and limit.
    assert _get(client, officer, f"/v1/conversations/{conv_id}?limit=3&before={cursor}").status_code == 400
    assert _get(client, resident, f"/v1/conversations/{conv_id}?limit=2&before={cursor}").status_code == 400
    for bad in ("limit=0", "limit=501", "before=x", "colour=red"):
        assert _get(client, resident, f"/v1/conversations/{conv_id}?{bad}").status_code == 400, bad


def test_resident_messages_are_rate_limited(client, staff_token, place, services_override):
    from chalicelib import services as services_module
    from chalicelib.settings import SETTINGS
    from tests.push_dns import TEST_PUSH_RESOLVER

    # A fixed clock: all the calls fall in one window (no minute boundary in the middle of the test).
    limited = services_module.build_services(dataclasses.replace(SETTINGS, resident_reply_rate_per_minute=3),
                                             push_resolver=TEST_PUSH_RESOLVER, clock=fixed_clock(datetime.now(UTC)))
    services_override()  # restores the session's services afterwards
    services_module.use_services(limited)
    _, resident = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    statuses = [_post(client, resident, f"/v1/conversations/{conv_id}/messages",
                      {"id": str(uuid.uuid4()), "text": f"n{i}"}) for i in range(3)]
    assert [r.status_code for r in statuses[:2]] == [201, 201]
    assert statuses[2].status_code == 429 and int(statuses[2].headers["Retry-After"]) >= 1
    assert _post(client, resident, "/v1/conversations", start_body(place["area_id"])).status_code == 429
    officer = staff_token("officer", team=place["team"])  # staff are not limited by residents' budget
    assert _post(client, officer, f"/v1/conversations/{conv_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "ok"}).status_code == 201


def test_one_transaction_per_message(client, staff_token, place, services_override):
    services_override(fanout_queue=RecordingQueue())  # the push worker's reads are another Lambda's
    _, resident = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    officer = staff_token("officer", team=place["team"])
    with DynamoCalls() as first:
        assert _post(client, officer, f"/v1/conversations/{conv_id}/messages",
                     {"id": str(uuid.uuid4()), "text": "ok"}).status_code == 201
    # Even an officer's first answer of the period is one transaction: the distinct-staff
    # counters follow from the contacts stream (issue 23), not from the message's write.
    assert first.operations == ["TransactWriteItems"]
    with DynamoCalls() as calls:
        assert _post(client, officer, f"/v1/conversations/{conv_id}/messages",
                     {"id": str(uuid.uuid4()), "text": "and more"}).status_code == 201
    # This container wrote the conversation (the start), so its hint is current: no read at all.
    assert calls.operations == ["TransactWriteItems"]


def _window(now: datetime) -> str:
    day = now.strftime("%Y-%m-%d")
    return f"from={day}&to={day}&purpose=figures+test"


def test_figures_from_counters(client, staff_token, place, services_override):
    team = place["team"]
    t0 = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    services_override(clock=fixed_clock(t0), channels={})
    _, resident = register(client)
    officer = staff_token("officer", team=team)
    quick = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    slow = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    services_override(clock=fixed_clock(t0 + timedelta(minutes=30)), channels={})
    assert _post(client, officer, f"/v1/conversations/{quick}/messages", {"id": str(uuid.uuid4()), "text": "a"}).status_code == 201
    services_override(clock=fixed_clock(t0 + timedelta(hours=22)), channels={})
    assert _post(client, officer, f"/v1/conversations/{slow}/close", {"outcome": "no_further_action"}).status_code == 200
    supervisor = staff_token("supervisor", team=team)
    buckets = _get(client, supervisor, f"/v1/history/conversations?{_window(t0)}").json_body["buckets"]
    assert len(buckets) == 1
    bucket = buckets[0]
    assert (bucket["team"], bucket["opened"], bucket["answered"], bucket["closed"]) == (team, 2, 1, 1)
    assert 30 / 1.25 <= bucket["first_response_minutes"]["median"] <= 30 * 1.25
    assert "text" not in json.dumps(bucket) and resident not in json.dumps(bucket)
    analyst = _get(client, staff_token("analyst", team=None), f"/v1/history/conversations?{_window(t0)}&team={team}")
    assert analyst.json_body["buckets"] == buckets
    assert _get(client, staff_token("supervisor", team="elsewhere"),
                f"/v1/history/conversations?{_window(t0)}&team={team}").status_code == 403
    assert _get(client, staff_token("officer", team=team), f"/v1/history/conversations?{_window(t0)}").status_code == 403
    assert _get(client, supervisor, "/v1/history/conversations?from=2026-01-01&to=2026-01-01").status_code == 400


def test_alert_reply_opens_then_continues_a_conversation(client, staff_token, team, services_override):
    from tests.alerting import circle, publish
    from tests.alerting import resident as make_resident

    services_override(channels={})
    lat, lon = spot()
    _, reader = make_resident(client, [circle(lat, lon, 300)])
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    alert_id = publish(client, officer, supervisor, square(lat, lon, 0.01))
    first = _post(client, reader, f"/v1/alerts/{alert_id}/responses", {"message": "Saw a van"})
    second = _post(client, reader, f"/v1/alerts/{alert_id}/responses", {"message": "It was white"})
    assert first.status_code == second.status_code == 201
    conv_id = first.json_body["conversation_id"]
    assert second.json_body["conversation_id"] == conv_id
    seen = _get(client, officer, f"/v1/conversations/{conv_id}").json_body
    assert (seen["alert_id"], seen["status"]) == (alert_id, "waiting")
    assert [m["text"] for m in seen["messages"]] == ["Saw a van", "It was white"]


def test_erasure_removes_the_residents_words(client, staff_token, place):
    team = place["team"]
    resident_id, resident = register(client)
    officer = staff_token("officer", team=team)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"], text="My name is Ann Lee")).json_body["id"]
    assert _post(client, officer, f"/v1/conversations/{conv_id}/messages", {"id": str(uuid.uuid4()), "text": "Noted"}).status_code == 201
    before = len(team_contacts(team))
    assert client.http.delete("/v1/subscribers/me", headers=bearer(resident)).status_code == 204
    seen = _get(client, officer, f"/v1/conversations/{conv_id}").json_body
    assert [(m["from"], m.get("text")) for m in seen["messages"]] == [("resident", None), ("team", "Noted")]
    assert seen["messages"][0]["erased"] is True
    from chalicelib.store.models import ConversationModel, MessageModel

    stored = ConversationModel.get(conv_id, consistent_read=True)
    assert stored.owner is None
    raw = json.dumps([m.attribute_values for m in MessageModel.query(conv_id)], default=str)
    assert "Ann Lee" not in raw and resident_id not in raw
    contacts = team_contacts(team)
    assert len(contacts) == before  # counts stay
    assert all(c.handle_pseudonym is None and c.notes is None for c in contacts if c.direction == "inbound")
    assert _post(client, officer, f"/v1/conversations/{conv_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "Hello?"}).status_code == 422


# -- races (use cases called from threads against DynamoDB Local) ------------------------------

def _ctx(svc, principal, subscriber=None):
    from chalicelib.context import RequestContext

    return RequestContext(request_id=str(uuid.uuid4()), now=svc.clock(), principal=principal, subscriber=subscriber)


def _officer(sub: str, team: str, role: str = "officer"):
    from chalicelib.auth.principal import Principal

    return Principal(sub=sub, roles=frozenset({role}), kind="staff", team=team)


def _race(calls: list) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_simultaneous_answers_all_land_in_order(client, staff_token, place):
    from chalicelib.domain.conversations import MessageIn
    from chalicelib.services import services
    from chalicelib.usecases import conversations as usecase

    svc = services()
    _, resident = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    officers = [_officer(f"pc-{i}-{uuid.uuid4().hex[:4]}", place["team"]) for i in range(4)]
    calls = [lambda o=o: usecase.post_message(svc, _ctx(svc, o), conv_id, MessageIn(id=uuid.uuid4(), text=o.sub))
             for o in officers]
    results = _race(calls)
    assert [type(r) for r in results] == [Created] * 4, results
    conv = svc.store.conversations.get(conv_id)
    messages = svc.store.conversations.messages(conv_id)
    assert conv.version == 5 and [m.seq for m in messages] == [1, 2, 3, 4, 5]
    assert sorted(m.text for m in messages[1:]) == sorted(o.sub for o in officers)
    assert len([c for c in team_contacts(place["team"]) if c.direction == "outbound"]) == 4
    # Racing first answers of four officers: each one settles its own member items; the shared
    # counter item ends exact (issue 17, item 10).
    day = messages[1].sent_at[:10]
    engaged = _get(client, staff_token("analyst", team=None),
                   f"/v1/history/engagement?from={day}&to={day}&team={place['team']}&purpose=race+check")
    assert [b["staff"] for b in engaged.json_body["buckets"]] == [
        {"any": 4, "street": 0, "online": 4, "online_outbound": 4}]


def test_team_queue_cursor_is_bound_and_ordered(client, staff_token, place, services_override):
    t0 = datetime.now(UTC) - timedelta(hours=3)
    _, resident = register(client)
    ids = []
    for minutes in (0, 10, 20):
        services_override(clock=fixed_clock(t0 + timedelta(minutes=minutes)), channels={})
        ids.append(_post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"])
    officer = staff_token("officer", team=place["team"])
    page = _get(client, officer, "/v1/conversations?status=waiting&limit=2").json_body
    assert [c["id"] for c in page["items"]] == ids[:2] and page["next_cursor"]
    rest = _get(client, officer, f"/v1/conversations?status=waiting&limit=2&cursor={page['next_cursor']}").json_body
    assert [c["id"] for c in rest["items"]] == ids[2:]
    other = staff_token("officer", team=place["team"])
    assert _get(client, other, f"/v1/conversations?status=waiting&limit=2&cursor={page['next_cursor']}").status_code == 400


# -- hints: the state a change assumes, from this container's memory ---------------------------

def _container():
    """Another warm container: its own Services, so its own conversation hints."""
    from chalicelib import services as services_module
    from chalicelib.settings import SETTINGS
    from tests.push_dns import TEST_PUSH_RESOLVER

    return services_module.build_services(SETTINGS, push_resolver=TEST_PUSH_RESOLVER, fanout_queue=RecordingQueue())


def _answer(svc, officer, conv_id: str, text: str) -> tuple[type, list[str]]:
    from chalicelib.domain.conversations import MessageIn
    from chalicelib.usecases import conversations as usecase

    with DynamoCalls() as calls:
        saved = usecase.post_message(svc, _ctx(svc, officer), conv_id, MessageIn(id=uuid.uuid4(), text=text))
    return type(saved), calls.operations


def test_a_stale_hint_costs_one_failed_write_never_a_wrong_one(client, place):
    _, resident = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    a, b = _container(), _container()
    officer = _officer(f"pc-{uuid.uuid4().hex[:6]}", place["team"])
    # A never saw it: one read (engagement items follow from the contacts stream, issue 23).
    assert _answer(a, officer, conv_id, "one") == (Created, ["GetItem", "TransactWriteItems"])
    assert _answer(b, officer, conv_id, "two") == (Created, ["GetItem", "TransactWriteItems"])
    # A's hint is one version behind: its first write fails and returns the current item, no read.
    assert _answer(a, officer, conv_id, "three") == (Created, ["TransactWriteItems", "TransactWriteItems"])
    assert _answer(a, officer, conv_id, "four") == (Created, ["TransactWriteItems"])
    messages = a.store.conversations.messages(conv_id)
    assert [(m.seq, m.text) for m in messages][1:] == [(2, "one"), (3, "two"), (4, "three"), (5, "four")]
    assert a.store.conversations.get(conv_id).version == 5


def test_a_state_token_saves_the_read_in_any_container(client, staff_token, place):
    from chalicelib.domain.conversations import CloseIn, MessageIn
    from chalicelib.usecases import conversations as usecase

    resident_id, resident = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    officer = staff_token("officer", team=place["team"])
    token = _get(client, officer, f"/v1/conversations/{conv_id}").json_body["state_token"]
    assert resident_id not in token and place["team"] not in token  # sealed: it names nobody
    pc = _officer(f"pc-{uuid.uuid4().hex[:6]}", place["team"])

    def answer(svc, state_token: str) -> tuple[Any, list[str]]:
        with DynamoCalls() as calls:
            saved = usecase.post_message(svc, _ctx(svc, pc), conv_id,
                                         MessageIn(id=uuid.uuid4(), text="On it", state_token=state_token))
        assert isinstance(saved, Created)
        return saved.value, calls.operations

    out, operations = answer(_container(), token)  # a container that never saw the conversation
    # No read, one transaction, even for pc's first answer of the period (its engagement items
    # follow from the contacts stream, issue 23).
    assert operations == ["TransactWriteItems"]
    out, operations = answer(_container(), out.state_token)  # the answer's own token is current
    assert operations == ["TransactWriteItems"]
    assert answer(_container(), token)[1] == ["TransactWriteItems", "TransactWriteItems"]  # stale: a retry
    svc = _container()
    fresh = _get(client, officer, f"/v1/conversations/{conv_id}").json_body["state_token"]
    with DynamoCalls() as calls:
        closed = usecase.close(svc, _ctx(svc, pc), conv_id, CloseIn(outcome="resolved", state_token=fresh))
    assert closed.status == "closed" and calls.operations == ["TransactWriteItems"]
    # Changed, or another conversation's: 400 naming the field, nothing written.
    other = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body
    changed = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for target, bad in ((conv_id, changed), (other["id"], token), (conv_id, "x" * 40)):
        refused = _post(client, officer, f"/v1/conversations/{target}/messages",
                        {"id": str(uuid.uuid4()), "text": "Hi", "state_token": bad})
        assert refused.status_code == 400 and refused.json_body["errors"][0]["field"] == "state_token", refused.body
    assert _get(client, resident, f"/v1/conversations/{other['id']}").json_body["version"] == 1


def test_state_hints_are_bounded_short_lived_and_never_go_back():
    from chalicelib.domain.conversations import Conversation
    from chalicelib.store.conversations import StateHints

    now = [0.0]
    hints = StateHints(kept=2, seconds=10, clock=lambda: now[0])

    def conv(cid: str, version: int) -> Conversation:
        return Conversation(id=cid, team="t", owner="s", area_id=None, alert_id=None, topic="noise", status="waiting",
                            created_at="x", last_message_at="x", version=version, content_digest="d",
                            expires_at=datetime.now(UTC))

    hints.remember(conv("a", 3))
    hints.remember(conv("a", 2), fresh=False)  # an index page lagging behind: ignored
    assert hints.get("a").version == 3
    hints.remember(conv("a", 2))  # an authoritative read wins (a conversation re-created after TTL)
    assert hints.get("a").version == 2
    hints.remember(conv("b", 1))
    hints.get("a")  # a is now the most recently used
    hints.remember(conv("c", 1))
    assert hints.get("b") is None and hints.get("a") is not None and hints.get("c") is not None
    now[0] = 11
    assert hints.get("a") is None and hints.get("c") is None
    hints.remember(conv("d", 1))
    hints.forget("d")
    assert hints.get("d") is None


def test_escalation_after_respond_by_only_by_the_owner_once(client, staff_token, place, services_override):
    """The Guarantee's complaint route on DynamoDB: 422 before `respond_by`, 404 to another
    resident, 200 (twice, counted once) after it; the supervisors' view; the clock counts the wait
    past the standard while it is open and the answer takes it out of `past_standard_now`."""
    from chalicelib.usecases.conversations import count_overdue

    team = place["team"]
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=4)
    services_override(clock=fixed_clock(t0), channels={})
    _, resident = register(client)
    _, stranger = register(client)
    conv_id = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body["id"]
    promised = (t0 + timedelta(hours=72)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _get(client, resident, f"/v1/conversations/{conv_id}").json_body["respond_by"] == promised
    (mine,) = [c for c in _get(client, resident, "/v1/subscribers/me/conversations").json_body["items"]
               if c["id"] == conv_id]
    assert mine["respond_by"] == promised
    early = _post(client, resident, f"/v1/conversations/{conv_id}/escalate", {})
    assert early.status_code == 422, early.body
    assert promised in early.json_body["detail"]

    later = t0 + timedelta(hours=73)
    svc = services_override(clock=fixed_clock(later), channels={})
    assert count_overdue(svc, later) >= 1  # over 24 h and past the standard, in one run
    assert _post(client, stranger, f"/v1/conversations/{conv_id}/escalate", {}).status_code == 404
    assert _post(client, staff_token("officer", team=team), f"/v1/conversations/{conv_id}/escalate", {}).status_code == 403
    first = _post(client, resident, f"/v1/conversations/{conv_id}/escalate", {})
    assert first.status_code == 200, first.body
    assert first.json_body["escalated_at"] == later.strftime("%Y-%m-%dT%H:%M:%SZ")
    again = _post(client, resident, f"/v1/conversations/{conv_id}/escalate", {})
    assert (again.status_code, again.json_body["escalated_at"]) == (200, first.json_body["escalated_at"])
    supervisor = staff_token("supervisor", team=team)
    view = _get(client, supervisor, "/v1/conversations?status=escalated").json_body["items"]
    assert [c["id"] for c in view] == [conv_id] and view[0]["respond_by"] == promised
    assert _get(client, staff_token("officer", team=team), "/v1/conversations?status=escalated").status_code == 403

    window = f"from={t0:%Y-%m-%d}&to={later:%Y-%m-%d}&purpose=guarantee+test"

    def totals() -> dict[str, int]:
        buckets = _get(client, supervisor, f"/v1/history/conversations?{window}").json_body["buckets"]
        return {f: sum(b[f] for b in buckets) for f in ("escalated", "past_standard", "past_standard_now",
                                                         "answered_waits", "within_standard")}

    assert totals() == {"escalated": 1, "past_standard": 1, "past_standard_now": 1, "answered_waits": 0,
                        "within_standard": 0}
    officer = staff_token("officer", team=team)
    assert _post(client, officer, f"/v1/conversations/{conv_id}/messages", {"id": str(uuid.uuid4()), "text": "Sorry"}).status_code == 201
    assert totals() == {"escalated": 1, "past_standard": 1, "past_standard_now": 0, "answered_waits": 1,
                        "within_standard": 0}
    assert _get(client, supervisor, "/v1/conversations?status=escalated").json_body["items"] == []
    assert _post(client, resident, f"/v1/conversations/{conv_id}/escalate", {}).status_code == 422  # answered


def test_a_message_suggesting_danger_gets_the_guidance_and_goes_to_the_top_of_the_queue(
        client, staff_token, place, services_override):
    """Automatic reply (`system`, no officer), flag `urgent`, urgent first in the waiting queue then
    oldest first; never a team answer: no first response, no `answered` figure, no outbound contact."""
    team = place["team"]
    t0 = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    services_override(settings=dataclasses.replace(_settings(), emergency_number="112", non_emergency_number="0300 1"),
                      clock=fixed_clock(t0), channels={})
    _, resident = register(client)
    _, welsh_resident = register(client, language="cy")
    officer = staff_token("officer", team=team)
    ordinary = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body
    services_override(settings=dataclasses.replace(_settings(), emergency_number="112", non_emergency_number="0300 1"),
                      clock=fixed_clock(t0 + timedelta(minutes=5)), channels={})
    urgent = _post(client, resident, "/v1/conversations",
                   start_body(place["area_id"], topic="violence", text="He has a KNIFE and he\u2019s outside my door")).json_body
    assert [(m["from"], "officer" in m) for m in urgent["messages"]] == [("resident", False), ("system", False)]
    assert "call 112" in urgent["messages"][1]["text"] and "0300 1" in urgent["messages"][1]["text"]
    assert urgent["urgent"] is True and urgent["status"] == "waiting" and ordinary["urgent"] is False
    # a later message in an ordinary conversation, in Welsh, flags it too (Welsh guidance)
    services_override(settings=dataclasses.replace(_settings(), emergency_number="112", non_emergency_number="0300 1"),
                      clock=fixed_clock(t0 + timedelta(minutes=7)), channels={})
    later = _post(client, welsh_resident, "/v1/conversations", start_body(place["area_id"])).json_body
    services_override(settings=dataclasses.replace(_settings(), emergency_number="112", non_emergency_number="0300 1"),
                      clock=fixed_clock(t0 + timedelta(minutes=9)), channels={})
    sent = _post(client, welsh_resident, f"/v1/conversations/{later['id']}/messages",
                 {"id": str(uuid.uuid4()), "text": "Dwi mewn perygl, mae e'n fy nharo"})
    assert sent.status_code == 201 and sent.json_body["from"] == "resident"
    seen = _get(client, officer, f"/v1/conversations/{later['id']}").json_body
    assert [m["from"] for m in seen["messages"]] == ["resident", "resident", "system"] and seen["urgent"] is True
    assert seen["messages"][2]["text"].startswith("Neges awtomatig") and "ffoniwch 112" in seen["messages"][2]["text"]
    mine = {urgent["id"], later["id"], ordinary["id"]}  # (other tests share the team)
    queue = _get(client, officer, "/v1/conversations?status=waiting&limit=100").json_body["items"]
    assert [c["id"] for c in queue if c["id"] in mine] == [urgent["id"], later["id"], ordinary["id"]]
    flags = [c["urgent"] for c in queue]
    assert flags == sorted(flags, reverse=True)  # every urgent one before every other one
    assert _get(client, officer, "/v1/conversations?status=waiting&limit=1").json_body["items"][0]["urgent"] is True
    # the guidance counted nowhere: no answer, no first response, only the residents' inbound contacts
    buckets = _get(client, staff_token("supervisor", team=team), f"/v1/history/conversations?{_window(t0)}").json_body["buckets"]
    assert (buckets[0]["opened"], buckets[0]["answered"], buckets[0]["first_response_minutes"]["median"]) == (3, 0, None)
    mine_contacts = [c for c in team_contacts(team) if c.thread_ref in mine]
    assert {(c.direction, c.author) for c in mine_contacts} == {("inbound", "system:beatline-residents")}
    assert len(mine_contacts) == 4
    # the team's answer ends the urgency; the conversation leaves the top
    answer = _post(client, officer, f"/v1/conversations/{urgent['id']}/messages", {"id": str(uuid.uuid4()), "text": "On our way"})
    assert answer.status_code == 201
    answered = _get(client, officer, f"/v1/conversations/{urgent['id']}").json_body
    assert answered["urgent"] is False and answered["status"] == "answered"
    queue = _get(client, officer, "/v1/conversations?status=waiting&limit=100").json_body["items"]
    assert [c["id"] for c in queue if c["id"] in mine] == [later["id"], ordinary["id"]]


def test_an_ordinary_message_gets_no_guidance_and_a_resend_of_a_danger_message_adds_none(client, staff_token, place):
    _, resident = register(client)
    plain = _post(client, resident, "/v1/conversations", start_body(place["area_id"])).json_body
    assert [m["from"] for m in plain["messages"]] == ["resident"] and plain["urgent"] is False
    body = {"id": str(uuid.uuid4()), "text": "someone is breaking in now"}
    assert _post(client, resident, f"/v1/conversations/{plain['id']}/messages", body).status_code == 201
    assert _post(client, resident, f"/v1/conversations/{plain['id']}/messages", body).status_code == 200  # resend
    seen = _get(client, resident, f"/v1/conversations/{plain['id']}").json_body
    assert [m["from"] for m in seen["messages"]] == ["resident", "resident", "system"]
    assert "call 999" in seen["messages"][2]["text"] and "101" in seen["messages"][2]["text"]


def test_the_urgent_flag_and_system_sender_are_in_the_openapi_document(client):
    schemas = client.http.get("/v1/openapi.json").json_body["components"]["schemas"]
    assert schemas["ConversationSummary"]["properties"]["urgent"]["type"] == "boolean"
    assert "urgent" in schemas["ConversationSummary"]["required"]
    assert "system" in json.dumps(schemas["MessageOut"]["properties"]["from"])


def _settings() -> Any:
    from chalicelib.settings import SETTINGS

    return SETTINGS
