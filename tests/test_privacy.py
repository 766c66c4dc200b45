"""Erasure leaves nothing linkable (issue 9, flaw 6) and analysts' rows do not lead back to the
record (flaw 10). The table sweeps read every test table directly: verification, not a request path."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from tests.alerting import (
    circle,
    post,
    publish,
    register,
    resident,
    resident_pseudonym,
    spot,
    square,
    update_published,
)
from tests.conftest import bearer

PURPOSE = "erasure verification"


def _every_item_text() -> Iterator[tuple[str, str]]:
    """(table, item as JSON text) for every item of every test table."""
    import boto3

    from chalicelib.settings import SETTINGS

    client = boto3.client("dynamodb", region_name=SETTINGS.region)  # AWS_ENDPOINT_URL_DYNAMODB: the test DB
    for table in client.list_tables()["TableNames"]:
        if not table.startswith(SETTINGS.table_prefix):
            continue
        for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            for item in page["Items"]:
                yield table, json.dumps(item)


def _traces(*needles: str) -> list[tuple[str, str]]:
    return [(table, needle) for table, text in _every_item_text() for needle in needles if needle in text]


def _audit(client, staff_token, actor: str) -> list[dict]:
    now = datetime.now(UTC)
    query = urlencode({"from": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "to": (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "actor": actor, "purpose": PURPOSE, "limit": 200})
    response = client.http.get(f"/v1/audit?{query}", headers=bearer(staff_token("admin")))
    assert response.status_code == 200, response.body
    return response.json_body["items"]


def _reply(client, token: str, alert_id: str, message: str) -> str:
    response = post(client, f"/v1/alerts/{alert_id}/responses", token, {"message": message})
    assert response.status_code == 201, response.body
    return response.json_body["id"]


def _erase(client, token: str) -> None:
    assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 204


def _beatline_count(team: str, day: str) -> int:
    from chalicelib.store import contacts as contact_store
    from tests.conftest import settle_streams

    settle_streams()  # the counters come from the contacts stream
    return dict(contact_store.counters(f"team:{team}|platform", f"{day}|", f"{day}|~")).get(f"{day}|beatline", 0)


def test_erasure_removes_words_and_every_trace_of_the_id(client, staff_token, team, services_override):
    """Several replies, one amended by a supervisor, receipts, inbox: after erasure no table holds
    the subscriber id or the words; the replies still count; the log keeps its entries under a
    pseudonym nothing can recompute."""
    services_override(channels={})
    lat, lon = spot()
    subscriber_id, token = resident(client, [circle(lat, lon, 300)])
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    alert_id = publish(client, officer, supervisor, square(lat, lon, 0.01))
    assert post(client, f"/v1/alerts/{alert_id}/read", token).status_code == 200
    words = [f"I saw a van {uuid.uuid4().hex}", f"It was blue {uuid.uuid4().hex}"]
    replies = [_reply(client, token, alert_id, text) for text in words]
    amended = f"Resident said {uuid.uuid4().hex}"
    patched = client.http.patch(f"/v1/contacts/{replies[0]}", headers=bearer(supervisor),
                                body=json.dumps({"version": 1, "notes": amended}))
    assert patched.status_code == 200, patched.body
    name = resident_pseudonym(subscriber_id)
    reply_name = resident_pseudonym(subscriber_id, "reply")
    before = _audit(client, staff_token, name)
    assert {"subscriber.create", "subscriber.receipt", "alert.response"} <= {e["action"] for e in before}
    assert _traces(subscriber_id)  # sanity: the sweep does find it while it exists
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    counted = _beatline_count(team, day)

    _erase(client, token)

    assert _traces(subscriber_id, *words, amended, reply_name) == []
    assert _audit(client, staff_token, subscriber_id) == []
    after = _audit(client, staff_token, name)  # append-only: every entry is still there
    assert {e["at"] + e["action"] for e in before} < {e["at"] + e["action"] for e in after}
    assert any(e["action"] == "subscriber.erase" and e["row_count"] == 2 for e in after)
    with pytest.raises(AssertionError):
        resident_pseudonym(subscriber_id)  # the secret is gone with the record
    from chalicelib.store import contacts as contact_store

    for contact_id in replies:
        contact = contact_store.get(contact_id)
        assert contact is not None and contact.notes is None and contact.handle_pseudonym is None
        assert (contact.topic, contact.platform, contact.thread_ref) == ("other", "beatline", alert_id)
    assert _beatline_count(team, day) == counted == 2  # counts stay
    changes = contact_store.amendments(replies[0])[0]["changes"]
    assert changes == [{"field": "notes", "old": None, "new": None, "erased": True}]
    system = _audit(client, staff_token, "system:erasure")
    assert {e["record_id"] for e in system if e["action"] == "contact.erase_words"} >= set(replies)
    stale = client.http.patch(f"/v1/contacts/{replies[1]}", headers=bearer(supervisor),
                              body=json.dumps({"version": 1, "notes": words[1]}))
    assert stale.status_code == 409  # a PATCH prepared before the erasure cannot write the words back


def test_inbox_only_subscriber_and_a_second_erasure(client, staff_token):
    subscriber_id, token = register(client)
    name = resident_pseudonym(subscriber_id)
    assert client.http.get("/v1/subscribers/me/inbox", headers=bearer(token)).status_code == 200
    _erase(client, token)
    assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 401
    assert _traces(subscriber_id) == []
    assert _audit(client, staff_token, subscriber_id) == []
    actions = sorted(e["action"] for e in _audit(client, staff_token, name))
    assert actions == ["subscriber.create", "subscriber.erase"]  # own reads are not logged


def test_reply_to_an_updated_alert_is_erased_too(client, staff_token, team, services_override):
    services_override(channels={})
    lat, lon = spot()
    subscriber_id, token = resident(client, [circle(lat, lon, 300)])
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    alert_id = publish(client, officer, supervisor, square(lat, lon, 0.01))
    update_published(client, supervisor, staff_token("supervisor", team=team), alert_id,
                     {"headline": "Vans seen on Elm Street"})
    text = f"After the update {uuid.uuid4().hex}"
    contact_id = _reply(client, token, alert_id, text)
    _erase(client, token)
    assert _traces(subscriber_id, text) == []
    from chalicelib.store import contacts as contact_store

    assert contact_store.get(contact_id).notes is None


def test_no_words_are_stored_once_erasure_has_started(client, staff_token, team, services_override):
    """The reply transaction checks the subscriber is not being erased, so the word index erasure
    reads is complete (no reply slips in between reading the index and deleting the record)."""
    services_override(channels={})
    lat, lon = spot()
    subscriber_id, token = resident(client, [circle(lat, lon, 300)])
    alert_id = publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team),
                       square(lat, lon, 0.01))
    from chalicelib.store import subscribers as subscriber_store

    subscriber_store.mark_erasing(subscriber_id)
    text = f"racing the erasure {uuid.uuid4().hex}"
    response = post(client, f"/v1/alerts/{alert_id}/responses", token, {"message": text})
    assert response.status_code == 401
    assert _traces(text) == []
    _erase(client, token)  # an interrupted erasure is finished with the same token
    assert _traces(subscriber_id) == []


def test_request_log_names_residents_by_a_secret_keyed_pseudonym(client):
    from chalicelib.services import services

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep()
    logger = logging.getLogger("beatline.request")
    logger.addHandler(handler)
    try:
        subscriber_id, token = register(client)
        log_name = resident_pseudonym(subscriber_id, "log-caller")
        client.http.get("/v1/subscribers/me", headers=bearer(token))
        _erase(client, token)
        client.http.get("/v1/subscribers/me", headers=bearer(token))  # dead token
    finally:
        logger.removeHandler(handler)
    callers = [json.loads(line)["caller"] for line in lines]
    assert callers == [None, log_name, log_name, None]
    text = "\n".join(lines)
    assert subscriber_id not in text and services().pseudonyms.caller(subscriber_id) not in text


def test_resident_pseudonyms_need_the_secret_and_differ_by_purpose():
    from chalicelib.domain.pseudonyms import Pseudonymizer, decode_secret, new_subscriber_secret

    p = Pseudonymizer(b"k" * 32)
    secret, other = decode_secret(new_subscriber_secret()), decode_secret(new_subscriber_secret())
    sid = str(uuid.uuid4())
    names = {p.resident(secret, sid, purpose) for purpose in ("resident", "log-caller", "reply")}
    assert len(names) == 3 and {n[:4] for n in names} == {"res_", "rlg_", "rsp_"}
    assert p.resident(secret, sid) == p.resident(secret, sid)
    assert p.resident(other, sid) != p.resident(secret, sid)
    assert Pseudonymizer(b"j" * 32).resident(secret, sid) != p.resident(secret, sid)
    with pytest.raises(ValueError):
        p.resident(b"short", sid)


# --- flaw 10: analysts' rows ------------------------------------------------------------------


def _decoded(cursor: str) -> bytes:
    return b"".join(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in cursor.split("."))


def test_history_rows_are_keyed_pseudonyms_to_the_minute_and_cursors_hide_ids(client, staff_token, team):
    from chalicelib.services import services

    officer = staff_token("officer", team=team)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    ids = []
    for n in range(3):
        body = {"id": str(uuid.uuid4()), "kind": "online", "occurred_at": (at + timedelta(seconds=7 + n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "topic": "fraud_scams", "outcome": "advice_given", "platform": "facebook", "direction": "inbound"}
        assert client.http.post("/v1/contacts", headers=bearer(officer), body=json.dumps(body)).status_code == 201
        ids.append(body["id"])
    analyst = staff_token("analyst")
    params = {"team": team, "from": (at - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "to": (at + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "purpose": PURPOSE, "limit": 2}
    first = client.http.get(f"/v1/history/contacts?{urlencode(params)}", headers=bearer(analyst))
    assert first.status_code == 200, first.body
    rows, cursor = first.json_body["items"], first.json_body["next_cursor"]
    assert cursor and len(rows) == 2
    rest = client.http.get(f"/v1/history/contacts?{urlencode({**params, 'cursor': cursor})}", headers=bearer(analyst))
    rows += rest.json_body["items"]
    expected = [services().pseudonyms.history_row(i) for i in reversed(ids)]
    assert [r["row"] for r in rows] == expected and all(r.startswith("row_") for r in expected)
    minute = (at + timedelta(seconds=7)).strftime("%Y-%m-%dT%H:%M:00Z")
    assert {r["occurred_at"] for r in rows} <= {minute, (at + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:00Z")}
    assert all(r["occurred_at"].endswith(":00Z") for r in rows)
    export = client.http.get(f"/v1/history/contacts.csv?{urlencode(params)}", headers=bearer(analyst))
    seen = first.body.decode() + rest.body.decode() + export.body.decode() + json.dumps(dict(export.headers))
    for contact_id in ids:
        assert contact_id not in seen
        assert contact_id.encode() not in _decoded(cursor)  # encrypted, not just signed
        assert contact_id.encode() not in _decoded(export.headers["X-Next-Cursor"])


@pytest.mark.parametrize("mutate", [
    lambda c: c.replace(".", ".A", 1),
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),
    lambda c: ("A" if c[0] != "A" else "B") + c[1:],
    lambda c: c.split(".")[1],
    lambda c: c.split(".")[0] + ".",
    lambda c: c + "." + c,
    lambda c: "AAAAAAAAAAAAAAAA." + c.split(".")[1],
])
def test_tampered_encrypted_cursors_are_400(mutate):
    from chalicelib.domain.cursors import CursorCodec
    from chalicelib.errors import DomainError, as_problem

    codec = CursorCodec(b"c" * 32)
    cursor = codec.encode({"m": "2026-11", "k": {"id": {"S": "secret-id"}}}, "fp")
    assert b"secret-id" not in _decoded(cursor)
    assert codec.decode(cursor, "fp") == {"m": "2026-11", "k": {"id": {"S": "secret-id"}}}
    with pytest.raises(DomainError) as raised:
        codec.decode(mutate(cursor), "fp")
    assert as_problem(raised.value).status == 400
    with pytest.raises(DomainError):
        CursorCodec(b"d" * 32).decode(cursor, "fp")  # another key


def test_every_one_character_change_of_a_cursor_is_refused():
    """Each position, including the last character of each base64 part (whose spare bits base64
    would ignore) and the separator: no other spelling of a cursor is accepted."""
    from chalicelib.domain.cursors import CursorCodec
    from chalicelib.errors import DomainError

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for position in ({"m": "2026-11"}, {"m": "2026-11", "k": "x"}, {"m": "2026-11", "k": "xy"}):  # lengths mod 3
        codec = CursorCodec(b"c" * 32)
        cursor = codec.encode(position, "fp")
        for index, original in enumerate(cursor):
            for replacement in (alphabet[(alphabet.index(original) + 1) % len(alphabet)], "B" if original == "A" else "A"):
                changed = cursor[:index] + replacement + cursor[index + 1:]
                with pytest.raises(DomainError):
                    codec.decode(changed, "fp")


def test_a_subscriber_registered_before_secrets_gets_one_on_first_use(client):
    """Records written before per-subscriber secrets existed: the first request gives them one,
    and from then on they are logged (and erasable) like any other."""
    from chalicelib.domain.subscribers import Preferences, SubscriberRecord
    from chalicelib.services import services
    from chalicelib.store import subscribers as subscriber_store

    subscriber_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    token, expires = services().resident_tokens.issue(subscriber_id, now)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    subscriber_store.create(SubscriberRecord(
        id=subscriber_id, channel={"type": "inbox"}, preferences=Preferences(), areas=(), cells=(),
        created_at=stamp, updated_at=stamp, expires_at=expires))
    assert subscriber_store.get(subscriber_id).secret is None
    assert client.http.get("/v1/subscribers/me", headers=bearer(token)).status_code == 200
    name = resident_pseudonym(subscriber_id)  # asserts the secret now exists
    _erase(client, token)
    assert _traces(subscriber_id) == []
    assert name.startswith("res_")


def test_residents_own_reads_are_not_access_logged_and_staff_reads_are(client, staff_token, team):
    """Every GET a resident may call, from the registry (a new one is covered by itself), several
    times: the archive does not grow (issue 17: 40 reads were 40 six-year entries). The same
    conversation read by staff is logged as before."""
    import app  # noqa: F401 - registers every operation
    from chalicelib.api.framework import OPERATIONS
    from chalicelib.auth.permissions import allowed_roles
    from tests.support import access_entries
    from tests.test_conversations import make_area, start_body

    subscriber_id, token = register(client)
    name = resident_pseudonym(subscriber_id)
    area_id = make_area(client, staff_token, team, *spot())
    conv_id = post(client, "/v1/conversations", token, start_body(area_id)).json_body["id"]
    before = sorted(e.action for e in access_entries(name))
    assert before == ["conversation.start", "subscriber.create"]
    reads = [op.path.replace("{id}", conv_id) for op in OPERATIONS
             if op.method == "GET" and not op.public and "resident" in allowed_roles(op.action)]
    assert {"/v1/subscribers/me", "/v1/subscribers/me/inbox", f"/v1/conversations/{conv_id}"} <= set(reads)
    for path in reads * 3:
        assert client.http.get(path, headers=bearer(token)).status_code == 200, path
    assert sorted(e.action for e in access_entries(name)) == before
    officer_sub = f"pc-{uuid.uuid4().hex[:6]}"
    officer = bearer(staff_token("officer", sub=officer_sub, team=team))
    assert client.http.get(f"/v1/conversations/{conv_id}", headers=officer).status_code == 200
    assert client.http.get("/v1/conversations?status=waiting", headers=officer).status_code == 200
    logged = [(e.action, e.record_id, e.role) for e in access_entries(officer_sub)]
    assert sorted(action for action, _, _ in logged) == ["conversation.list", "conversation.read"]
    assert ("conversation.read", conv_id, "officer") in logged
def _service_keyed_derivatives(subscriber_id: str, alert_id: str, area_id: str, start: dict,
                               conversations: dict[str, list[dict]]) -> list[str]:
    """Every digest or pseudonym the code makes of the subscriber id with service keys only
    (recomputable from the id by whoever holds the keys, so none may outlive the erasure): the
    rate-limit subject, the alert conversation id, the conversation and message content digests."""
    import hashlib
    import hmac

    from chalicelib.domain.conversations import keyed_uuid
    from chalicelib.services import services

    keys = services().pseudonyms
    found = [
        hmac.new(keys.subkey("rate-limit"), f"sub|{subscriber_id}".encode(), hashlib.sha256).hexdigest()[:32],
        keyed_uuid(keys.subkey("alert-conversation"), subscriber_id, alert_id),
        keys.content_digest(f"conv|{start['id']}|{subscriber_id}|{start['topic']}|{area_id}|{start['text']}".encode()),
    ]
    for conv_id, messages in conversations.items():
        found += [keys.content_digest(f"msg|{conv_id}|{m['id']}|{subscriber_id}|{m['text']}".encode())
                  for m in messages if m["from"] == "resident"]
    return found


def test_erasure_of_a_conversing_resident_leaves_no_derivative_in_any_table(client, staff_token, team,
                                                                           services_override):
    """Issue 17, item 6: a resident who registered, followed areas (a named one and a circle),
    read and replied to an alert (its conversation), started a conversation, wrote again, got
    answers in the inbox and listed and read its conversations. After erasure, a Scan of every
    item of every table finds neither the id, nor its words, nor any service-keyed derivative of
    the id; the names keyed with the resident's own secret (which went with the record) remain
    only where the design keeps them: `res_` in the append-only access log, the rate-limit subject
    in its expiring window counters."""
    from tests.test_conversations import make_area

    services_override(channels={})
    lat, lon = spot()
    area_id = make_area(client, staff_token, team, lat, lon)
    subscriber_id, token = resident(client, [circle(lat, lon, 300), {"area_id": area_id}])
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    alert_id = publish(client, officer, supervisor, square(lat, lon, 0.01))
    assert post(client, f"/v1/alerts/{alert_id}/read", token).status_code == 200
    words = [f"{label} {uuid.uuid4().hex}" for label in ("Saw a van", "Loud party", "Still loud", "Thanks")]
    alert_conv = post(client, f"/v1/alerts/{alert_id}/responses", token, {"message": words[0]}).json_body["conversation_id"]
    start = {"id": str(uuid.uuid4()), "topic": "noise", "text": words[1], "area_id": area_id}
    assert post(client, "/v1/conversations", token, start).status_code == 201
    for conv_id, text in ((start["id"], words[2]), (alert_conv, words[3])):
        assert post(client, f"/v1/conversations/{conv_id}/messages", token,
                    {"id": str(uuid.uuid4()), "text": text}).status_code == 201
        assert post(client, f"/v1/conversations/{conv_id}/messages", officer,
                    {"id": str(uuid.uuid4()), "text": "Thank you, noted."}).status_code == 201
    assert len(client.http.get("/v1/subscribers/me/inbox", headers=bearer(token)).json_body["items"]) >= 2
    mine = client.http.get("/v1/subscribers/me/conversations?limit=1", headers=bearer(token)).json_body
    assert mine["next_cursor"] is not None
    conversations = {c: client.http.get(f"/v1/conversations/{c}", headers=bearer(token)).json_body["messages"]
                     for c in (alert_conv, start["id"])}
    derived = _service_keyed_derivatives(subscriber_id, alert_id, area_id, start, conversations)
    own_keyed = {purpose: resident_pseudonym(subscriber_id, purpose)
                 for purpose in ("resident", "reply", "log-caller", "alert-conversation", "rate-limit")}
    rate_subject = _rate_subject(own_keyed["rate-limit"])
    before = {needle for _, needle in _traces(subscriber_id, *words, *derived, rate_subject)}
    assert {subscriber_id, *words, derived[2], rate_subject} <= before  # the sweep finds them while they exist

    _erase(client, token)

    after = _traces(subscriber_id, *words, *derived, *own_keyed.values(), rate_subject)  # one sweep, read below

    def found(*needles: str) -> list[tuple[str, str]]:
        return [(table, needle) for table, needle in after if needle in needles]

    assert found(subscriber_id, *words, *derived) == []
    assert found(own_keyed["reply"], own_keyed["log-caller"], own_keyed["alert-conversation"]) == []
    from chalicelib.settings import SETTINGS

    assert {table for table, _ in found(own_keyed["resident"])} == {SETTINGS.table_name("access-log")}
    assert {table for table, _ in found(rate_subject)} <= {SETTINGS.table_name("rate-counters")}
    with pytest.raises(AssertionError):
        resident_pseudonym(subscriber_id)  # the secret went with the record: those names map to nothing
    assert _audit(client, staff_token, subscriber_id) == []
    stored = client.http.get(f"/v1/conversations/{start['id']}", headers=bearer(officer)).json_body
    assert [(m["from"], m.get("text")) for m in stored["messages"]] == [
        ("resident", None), ("resident", None), ("team", "Thank you, noted.")]


def _rate_subject(name: str) -> str:
    import hashlib
    import hmac

    from chalicelib.services import services

    return hmac.new(services().pseudonyms.subkey("rate-limit"), f"res|{name}".encode(), hashlib.sha256).hexdigest()[:32]
