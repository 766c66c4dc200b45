"""Declared rate limits: every resident write and every anonymous write is limited, per subscriber
or per address, before the body is read; 429 problem + Retry-After; documented in OpenAPI."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import app  # noqa: F401 - registers every operation
from chalicelib.api.framework import OPERATIONS
from chalicelib.auth.permissions import allowed_roles
from chalicelib.settings import SETTINGS
from tests.alerting import register
from tests.conftest import bearer

JSON = {"Content-Type": "application/json"}
REPLY = json.dumps({"message": "Seen a van parked there all week."})
EXEMPT = {("DELETE", "/v1/subscribers/me")}  # erasure must never wait (and can only succeed once)


def _resident_or_anonymous(op) -> bool:
    return op.public or "resident" in allowed_roles(op.action)


def test_every_resident_and_anonymous_write_declares_a_limit():
    writes = {(op.method, op.path) for op in OPERATIONS if op.method != "GET" and _resident_or_anonymous(op)}
    assert ("POST", "/v1/alerts/{id}/responses") in writes and ("POST", "/v1/subscribers") in writes
    limited = {(op.method, op.path) for op in OPERATIONS if op.rate_limit is not None}
    assert writes - EXEMPT <= limited
    assert writes >= EXEMPT and not EXEMPT & limited


def test_openapi_shows_429_with_retry_after_on_every_limited_route(client):
    document = client.http.get("/v1/openapi.json").json_body
    limited = [op for op in OPERATIONS if op.rate_limit is not None]
    assert len(limited) == 7  # + conversation starts and messages (issue 11)
    for op in limited:
        item = document["paths"][op.path][op.method.lower()]
        assert "Retry-After" in item["responses"]["429"]["headers"], op.path
        assert "application/problem+json" in item["responses"]["429"]["content"]
        for window in op.rate_limit.windows:
            assert window.env in item["description"]


def _minute_clock() -> datetime:
    """A fixed reading 20 s into the current minute (near now, so resident records are still valid)."""
    now = datetime.now(UTC).replace(second=20, microsecond=0)
    return now


def _limits(**values: int):
    return dataclasses.replace(SETTINGS, **values)


def test_replies_are_limited_per_subscriber_with_retry_after(client, services_override):
    _, alice = register(client)
    _, bob = register(client)
    moment = _minute_clock()
    services_override(settings=_limits(resident_reply_rate_per_minute=2), clock=lambda: moment)
    path = f"/v1/alerts/{uuid.uuid4()}/responses"
    statuses = [client.http.post(path, headers=bearer(alice), body=REPLY).status_code for _ in range(2)]
    limited = client.http.post(path, headers=bearer(alice), body=REPLY)
    assert statuses == [404, 404]  # counted whatever the outcome: it is a request rate
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "40"
    assert limited.headers["Content-Type"] == "application/problem+json"
    # Before the body is read: garbage from a limited subscriber is 429, not 400.
    assert client.http.post(path, headers=bearer(alice), body=b"[" * 5000).status_code == 429
    assert client.http.post(path, headers=bearer(alice), body="not json").status_code == 429
    # Another subscriber has its own budget; an invalid token is still 401, not 429.
    assert client.http.post(path, headers=bearer(bob), body=REPLY).status_code == 404
    assert client.http.post(path, headers=bearer("x.y.z"), body=REPLY).status_code == 401


def test_the_hour_window_limits_too(client, services_override):
    _, alice = register(client)
    moment = _minute_clock().replace(minute=0)  # Retry-After runs to the end of the hour
    settings = _limits(resident_reply_rate_per_minute=100, resident_reply_rate_per_hour=3)
    services_override(settings=settings, clock=lambda: moment)
    path = f"/v1/alerts/{uuid.uuid4()}/responses"
    statuses = [client.http.post(path, headers=bearer(alice), body=REPLY).status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    limited = client.http.post(path, headers=bearer(alice), body=REPLY)
    assert limited.headers["Retry-After"] == str(3600 - 20)
    # A minute later (same hour) it is still refused; the next hour it is allowed again.
    services_override(settings=settings, clock=lambda: moment + timedelta(minutes=1))
    assert client.http.post(path, headers=bearer(alice), body=REPLY).status_code == 429
    services_override(settings=settings, clock=lambda: moment + timedelta(hours=1))
    assert client.http.post(path, headers=bearer(alice), body=REPLY).status_code == 404


def test_resident_writes_share_one_budget(client, services_override):
    _, alice = register(client)
    moment = _minute_clock()
    services_override(settings=_limits(resident_write_rate_per_minute=3), clock=lambda: moment)
    me = bearer(alice)
    assert client.http.patch("/v1/subscribers/me", headers=me, body='{"language": "cy"}').status_code == 200
    assert client.http.post(f"/v1/alerts/{uuid.uuid4()}/read", headers=me).status_code == 404
    assert client.http.put("/v1/subscribers/me/areas", headers=me, body='{"areas": []}').status_code == 200
    for method, path, body in (("PATCH", "/v1/subscribers/me", '{"language": "en"}'),
                               ("PUT", "/v1/subscribers/me/areas", '{"areas": []}'),
                               ("POST", f"/v1/alerts/{uuid.uuid4()}/read", None)):
        response = client.http.request(method, path, headers=me, body=body)
        assert response.status_code == 429, (method, path)
    # Reads are not limited; replies have their own budget; erasure always works.
    assert client.http.get("/v1/subscribers/me", headers=me).json_body["language"] == "cy"
    assert client.http.post(f"/v1/alerts/{uuid.uuid4()}/responses", headers=me, body=REPLY).status_code == 404
    assert client.http.delete("/v1/subscribers/me", headers=me).status_code == 204


def test_anonymous_registration_is_limited_before_the_body_is_decoded(client, services_override):
    minute = datetime(2032, 1, 1, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 500_000, seconds=50)
    services_override(settings=_limits(subscriber_rate_per_minute=1), clock=lambda: minute)
    first = client.http.post("/v1/subscribers", headers=JSON, body="{not json")
    assert first.status_code == 400
    for body in ("{not json", "[" * 5000, '{"channel": {"type": "inbox"}}', ""):
        limited = client.http.post("/v1/subscribers", headers=JSON, body=body)
        assert limited.status_code == 429, body[:20]
        assert limited.headers["Retry-After"] == "10"


def test_counter_keys_hold_no_subscriber_id_or_address(client, services_override):
    from chalicelib.store.models import RateCounterModel

    subscriber_id, alice = register(client)
    moment = _minute_clock() + timedelta(days=3)  # a window of its own
    services_override(clock=lambda: moment)
    client.http.post(f"/v1/alerts/{uuid.uuid4()}/responses", headers=bearer(alice), body=REPLY)
    epoch = int(moment.timestamp())
    from chalicelib.services import services
    from chalicelib.usecases.ratelimit import subject

    ctx_subject = subject(services(), _ctx_for(subscriber_id))
    key = f"resident-replies|{ctx_subject}|60|{epoch - epoch % 60}"
    assert RateCounterModel.get(key).hits == 1
    assert subscriber_id not in key


def _ctx_for(subscriber_id: str):
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext

    principal = Principal(sub=subscriber_id, roles=frozenset({"resident"}), kind="resident")
    return RequestContext(request_id="t", now=datetime.now(UTC), principal=principal)
