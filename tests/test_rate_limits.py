"""Declared rate limits: every operation a resident or the public may call is limited, per
subscriber or per address (conversation openings: both), before the body is read; 429 problem +
Retry-After; documented in OpenAPI; public operations also have their own edge budget."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

import app  # noqa: F401 - registers every operation
from chalicelib.api.framework import OPERATIONS
from chalicelib.auth.permissions import allowed_roles
from chalicelib.settings import SETTINGS
from tests.alerting import register
from tests.conftest import bearer

JSON = {"Content-Type": "application/json"}
REPLY = json.dumps({"message": "Seen a van parked there all week."})


def _resident_or_anonymous(op) -> bool:
    return op.public or "resident" in allowed_roles(op.action)


def test_every_operation_a_resident_or_the_public_may_call_is_limited():
    """The registry, not a list: a route added later without a limit fails here (issue 17)."""
    from chalicelib.auth.principal import Principal
    from infra.hardening import public_methods

    resident = Principal(sub="s", roles=frozenset({"resident"}), kind="resident")
    callable_ = [op for op in OPERATIONS if _resident_or_anonymous(op)]
    assert len(callable_) >= 20 and {("GET", "/v1/subscribers/me"), ("DELETE", "/v1/subscribers/me")} <= {
        (op.method, op.path) for op in callable_}
    unlimited = [(op.method, op.path) for op in callable_ if not op.rate_limits and not op.public]
    assert unlimited == []
    for op in callable_:
        if not op.public:  # a resident's own budget (per subscriber), whatever else applies
            assert any(limit.applies_to(resident) and limit.per == "caller" for limit in op.rate_limits), op.path
        elif op.method != "GET":  # anonymous writes: counted per address in the app as well
            assert op.rate_limits, op.path
    # Every public operation is in the public edge budget (API Gateway, infra/hardening.py).
    assert {(op.method, op.path) for op in OPERATIONS if op.public} <= set(public_methods())


def test_conversation_openings_are_limited_per_address_too():
    for path in ("/v1/conversations", "/v1/alerts/{id}/responses"):
        (op,) = [o for o in OPERATIONS if o.method == "POST" and o.path == path]
        assert [limit.per for limit in op.rate_limits] == ["caller", "address"], path
        assert op.rate_limits[1].name == "conversation-openings"


def test_the_test_session_leaves_no_declared_limit_at_its_default():
    """tests/conftest.py sets every limit generously (a test that checks one installs its own)."""
    windows = {w for op in OPERATIONS for limit in op.rate_limits for w in limit.windows}
    assert {w.setting for w in windows} >= {"resident_read_rate_per_minute", "conversation_rate_per_address_per_day"}
    assert [w.env for w in windows if w.allowed(SETTINGS) < 10_000] == []


def test_openapi_shows_429_with_retry_after_on_every_limited_route(client):
    document = client.http.get("/v1/openapi.json").json_body
    limited = [op for op in OPERATIONS if op.rate_limits]
    assert len(limited) >= 15  # every resident route, registration and the public alert lookups
    for op in limited:
        item = document["paths"][op.path][op.method.lower()]
        assert "Retry-After" in item["responses"]["429"]["headers"], op.path
        assert "application/problem+json" in item["responses"]["429"]["content"]
        assert [d["name"] for d in item["x-rate-limits"]] == [limit.name for limit in op.rate_limits]
        for limit in op.rate_limits:
            for window in limit.windows:
                assert window.env in item["description"]
    start = document["paths"]["/v1/conversations"]["post"]
    assert [d["per"] for d in start["x-rate-limits"]] == ["caller", "address"]
    assert "per client address" in start["description"]


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
    # Reads and replies have budgets of their own; erasure always works.
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
    # Keyed with the resident's own secret (issue 17, item 6): not a digest of the id that the
    # service key alone recomputes, so it names nobody once the resident is erased.
    assert ctx_subject != subject(services(), _ctx_for(subscriber_id, with_record=False))


def _ctx_for(subscriber_id: str, with_record: bool = True):
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.store import subscribers as subscriber_store

    principal = Principal(sub=subscriber_id, roles=frozenset({"resident"}), kind="resident")
    record = subscriber_store.get(subscriber_id) if with_record else None
    return RequestContext(request_id="t", now=datetime.now(UTC), principal=principal, subscriber=record)


def _future_minute(days: int | None = None) -> datetime:
    """20 s into a minute some days ahead (within the resident token's life): counters of windows
    no other test of the session touches, with TTLs in the future."""
    offset = days if days is not None else 30 + uuid.uuid4().int % 300
    return _minute_clock() + timedelta(days=offset)


def test_resident_reads_share_one_budget_per_subscriber(client, services_override, staff_token):
    _, alice = register(client)
    _, bob = register(client)
    moment = _minute_clock()
    services_override(settings=_limits(resident_read_rate_per_minute=4), clock=lambda: moment)
    me = bearer(alice)
    reads = ["/v1/subscribers/me", "/v1/subscribers/me/inbox", "/v1/subscribers/me/conversations",
             f"/v1/conversations/{uuid.uuid4()}"]
    assert [client.http.get(path, headers=me).status_code for path in reads] == [200, 200, 200, 404]
    for path in reads:
        limited = client.http.get(path, headers=me)
        assert limited.status_code == 429, path
        assert limited.headers["Retry-After"] == "40"
    # Bad query strings from a limited resident are 429 too (checked before parsing).
    assert client.http.get("/v1/subscribers/me/inbox?limit=zzz", headers=me).status_code == 429
    # Another resident has its own budget; staff reading a conversation are not counted; writes
    # and erasure have budgets of their own.
    assert client.http.get("/v1/subscribers/me", headers=bearer(bob)).status_code == 200
    officer = bearer(staff_token("officer"))
    assert [client.http.get(f"/v1/conversations/{uuid.uuid4()}", headers=officer).status_code
            for _ in range(6)] == [404] * 6
    assert client.http.patch("/v1/subscribers/me", headers=me, body='{"language": "cy"}').status_code == 200
    assert client.http.delete("/v1/subscribers/me", headers=me).status_code == 204


def test_erasure_has_its_own_budget(client, services_override):
    _, alice = register(client)
    moment = _minute_clock()
    services_override(settings=_limits(resident_read_rate_per_minute=1, resident_write_rate_per_minute=1,
                                       resident_reply_rate_per_minute=1), clock=lambda: moment)
    me = bearer(alice)
    for method, path, body in (("GET", "/v1/subscribers/me", None), ("GET", "/v1/subscribers/me", None),
                               ("PATCH", "/v1/subscribers/me", '{"language": "cy"}'),
                               ("PATCH", "/v1/subscribers/me", '{"language": "cy"}')):
        client.http.request(method, path, headers=me, body=body)
    assert client.http.get("/v1/subscribers/me", headers=me).status_code == 429
    assert client.http.delete("/v1/subscribers/me", headers=me).status_code == 204
    assert client.http.delete("/v1/subscribers/me", headers=me).status_code == 401  # the token died with it


def test_forty_quick_reads_at_the_default_limits_write_no_access_log_entries(client, services_override):
    """Issue 17's attack with the shipped defaults: reads are limited and none grows the archive."""
    from chalicelib.settings import Settings
    from tests.alerting import resident_pseudonym
    from tests.support import access_entries

    subscriber_id, alice = register(client)
    name = resident_pseudonym(subscriber_id)
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    per_minute = defaults["resident_read_rate_per_minute"]
    moment = _minute_clock()
    services_override(settings=_limits(resident_read_rate_per_minute=per_minute,
                                       resident_read_rate_per_hour=defaults["resident_read_rate_per_hour"]),
                      clock=lambda: moment)
    paths = ["/v1/subscribers/me", "/v1/subscribers/me/inbox", "/v1/subscribers/me/conversations"]
    statuses = [client.http.get(paths[i % 3], headers=bearer(alice)).status_code for i in range(per_minute + 5)]
    assert statuses == [200] * per_minute + [429] * 5
    assert [e.action for e in access_entries(name)] == ["subscriber.create"]


def _area(client, staff_token, team: str) -> str:
    from tests.alerting import spot
    from tests.test_conversations import make_area

    lat, lon = spot()
    return make_area(client, staff_token, team, lat, lon)


def _start(client, token: str, area_id: str):
    body = {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music every night"}
    return client.http.post("/v1/conversations", headers=bearer(token), body=json.dumps({**body, "area_id": area_id}))


def test_nine_registrations_from_one_address_cannot_flood_a_team_queue(client, services_override, staff_token, team):
    """9 residents x 5 starts from one address (issue 17: 45 in another team's queue in 6 s). The
    hour and day windows: test_openings_are_limited_per_hour_and_day (fakes)."""
    area_id = _area(client, staff_token, team)
    tokens = [register(client)[1] for _ in range(9)]
    fresh = register(client)[1]  # (registered before the clock moves: its token's iat is real time)
    allowed = 4
    settings = _limits(conversation_rate_per_address_per_minute=allowed)
    moment = _future_minute()
    services_override(settings=settings, clock=lambda: moment)
    statuses = [_start(client, token, area_id).status_code for token in tokens for _ in range(5)]
    assert statuses.count(201) == allowed and statuses.count(429) == 45 - allowed
    # An alert reply (it opens a conversation) from the same address shares the budget, whoever sends it.
    reply = client.http.post(f"/v1/alerts/{uuid.uuid4()}/responses", headers=bearer(fresh), body=REPLY)
    assert reply.status_code == 429 and int(reply.headers["Retry-After"]) >= 1
    supervisor = bearer(staff_token("supervisor", team=team))
    waiting = client.http.get("/v1/conversations?status=waiting&limit=100", headers=supervisor).json_body["items"]
    assert len(waiting) == allowed
    day = moment.strftime("%Y-%m-%d")
    figures = client.http.get(f"/v1/history/conversations?from={day}&to={day}&purpose=abuse+check",
                              headers=supervisor).json_body["buckets"]
    assert [b["opened"] for b in figures] == [allowed]


def test_openings_are_counted_per_address_whoever_calls():
    """Use-case level: one budget per client address across subscribers; another address has its own."""
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.domain.errors import RateLimited
    from chalicelib.domain.ratelimit import CONVERSATION_OPENINGS
    from chalicelib.usecases import ratelimit as rate_cases
    from tests.test_usecase_rules import NOW, FakeCounters, services_with

    counters = FakeCounters()
    svc = services_with(ratelimit=counters)
    svc.settings = _limits(conversation_rate_per_address_per_minute=2)

    def ctx(sub: str, ip: str, role: str = "resident") -> RequestContext:
        principal = Principal(sub=sub, roles=frozenset({role}), kind="resident" if role == "resident" else "staff")
        return RequestContext(request_id="r", now=NOW, principal=principal, client_ip=ip)

    rate_cases.enforce(svc, ctx("a", "203.0.113.7"), CONVERSATION_OPENINGS)
    rate_cases.enforce(svc, ctx("b", "203.0.113.7"), CONVERSATION_OPENINGS)
    with pytest.raises(RateLimited):
        rate_cases.enforce(svc, ctx("c", "203.0.113.7"), CONVERSATION_OPENINGS)
    rate_cases.enforce(svc, ctx("c", "2001:db8::1"), CONVERSATION_OPENINGS)  # another address
    rate_cases.enforce(svc, ctx("pc-1", "203.0.113.7", "officer"), CONVERSATION_OPENINGS)  # staff: not counted
    assert all("203.0.113.7" not in key and "2001:db8" not in key for key in counters.hits)
    assert sorted(counters.hits.values())[-1] == 2


@pytest.mark.parametrize("name", ["registrations", "conversation-openings"])
@pytest.mark.parametrize(("window", "retry_after"), [("hour", 3600 - 30), ("day", 86400 - 30)])
def test_per_address_limits_hold_per_hour_and_day_too(name, window, retry_after):
    """Spread over minutes (the minute window never refuses), from several residents of one address."""
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.domain.errors import RateLimited
    from chalicelib.domain.ratelimit import CONVERSATION_OPENINGS, REGISTRATIONS
    from chalicelib.usecases import ratelimit as rate_cases
    from tests.test_usecase_rules import FakeCounters, services_with

    limit = REGISTRATIONS if name == "registrations" else CONVERSATION_OPENINGS
    prefix = "subscriber_rate_per" if name == "registrations" else "conversation_rate_per_address_per"
    svc = services_with(ratelimit=FakeCounters())
    svc.settings = _limits(**{f"{prefix}_minute": 100, f"{prefix}_hour": 3 if window == "hour" else 100,
                              f"{prefix}_day": 3})
    start = datetime(2031, 5, 6, tzinfo=UTC) + timedelta(seconds=30)  # 30 s into the hour and the day

    def ctx(n: int, moment: datetime) -> RequestContext:
        principal = None if name == "registrations" else Principal(sub=f"s{n}", roles=frozenset({"resident"}),
                                                                   kind="resident")
        return RequestContext(request_id="r", now=moment, principal=principal, client_ip="198.51.100.4")

    for n in range(3):
        rate_cases.enforce(svc, ctx(n, start + timedelta(minutes=n)), limit)
    with pytest.raises(RateLimited) as refused:
        rate_cases.enforce(svc, ctx(9, start), limit)
    assert refused.value.retry_after == retry_after


def test_public_alert_lookups_are_limited_per_address(client, services_override):
    moment = _future_minute()
    services_override(settings=_limits(public_lookup_rate_per_minute=3), clock=lambda: moment)
    lookups = ["/v1/public/alerts?lat=51.5&lon=-0.1", f"/v1/public/alerts/{uuid.uuid4()}.cap",
               "/v1/public/feed.atom"]
    assert [client.http.get(path).status_code for path in lookups] == [200, 404, 200]
    for path in (*lookups, "/v1/public/alerts?lat=zzz"):
        limited = client.http.get(path)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "40", path
    # Cheap public reads are throttled at the edge only (their own API Gateway budget); the OpenAPI
    # document is built once per container, not per anonymous call.
    from chalicelib.api import meta

    assert client.http.get("/v1/health").status_code == 200
    assert client.http.get("/v1/areas").status_code == 200
    assert [client.http.get("/v1/openapi.json").status_code for _ in range(3)] == [200] * 3
    assert meta._document() is meta._document()


def _figures(client, token: str, day: str) -> dict:
    response = client.http.get(f"/v1/history/conversations?from={day}&to={day}&purpose=abuse+check",
                               headers=bearer(token))
    assert response.status_code == 200, response.body
    (bucket,) = response.json_body["buckets"]
    return bucket


def test_conversations_closed_as_abuse_leave_the_opened_figure(client, services_override, staff_token, team):
    """The figures' side of the flood: what the team dismisses as abuse is not `opened`, in the
    period it was opened (also when dismissed days later), and the resident cannot reopen it."""
    area_id = _area(client, staff_token, team)
    tokens = [register(client)[1] for _ in range(3)]
    opened_at = _future_minute(days=40)
    services_override(clock=lambda: opened_at)
    ids = [_start(client, token, area_id).json_body["id"] for token in tokens]
    supervisor = staff_token("supervisor", team=team)
    closed_at = opened_at + timedelta(days=2)
    services_override(clock=lambda: closed_at)
    close = f"/v1/conversations/{ids[0]}/close"
    for conv_id, outcome in ((ids[0], "abuse"), (ids[1], "abuse"), (ids[2], "resolved")):
        closed = client.http.post(f"/v1/conversations/{conv_id}/close", headers=bearer(supervisor),
                                  body=json.dumps({"outcome": outcome}))
        assert (closed.status_code, closed.json_body["outcome"]) == (200, outcome)
    assert client.http.post(close, headers=bearer(supervisor), body='{"outcome": "abuse"}').status_code == 200
    assert client.http.post(close, headers=bearer(supervisor), body='{"outcome": "resolved"}').status_code == 409
    opening_day = _figures(client, supervisor, opened_at.strftime("%Y-%m-%d"))
    assert (opening_day["opened"], opening_day["dismissed_as_abuse"]) == (1, 2)
    closing_day = _figures(client, supervisor, closed_at.strftime("%Y-%m-%d"))
    assert (closing_day["closed"], closing_day["opened"], closing_day["dismissed_as_abuse"]) == (3, 0, 0)
    # The dismissed resident cannot put it back in the queue; the other one reopens theirs.
    message = {"id": str(uuid.uuid4()), "text": "again"}
    again = client.http.post(f"/v1/conversations/{ids[0]}/messages", headers=bearer(tokens[0]), body=json.dumps(message))
    assert again.status_code == 422
    message = {"id": str(uuid.uuid4()), "text": "again"}
    assert client.http.post(f"/v1/conversations/{ids[2]}/messages", headers=bearer(tokens[2]),
                            body=json.dumps(message)).status_code == 201
    waiting = client.http.get("/v1/conversations?status=waiting", headers=bearer(supervisor)).json_body["items"]
    assert [c["id"] for c in waiting] == [ids[2]]
    # `abuse` is a close outcome only: contacts keep their list.
    schemas = client.http.get("/v1/openapi.json").json_body["components"]["schemas"]
    assert "abuse" not in schemas["OnlineContactIn"]["properties"]["outcome"]["enum"]
    assert "abuse" in schemas["CloseIn"]["properties"]["outcome"]["enum"]


def test_an_ipv6_client_cannot_rotate_addresses_within_its_64():
    """Variant of the flood: a host with an IPv6 /64 picks a new address for each start."""
    from chalicelib.auth.principal import Principal
    from chalicelib.context import RequestContext
    from chalicelib.domain.errors import RateLimited
    from chalicelib.domain.ratelimit import CONVERSATION_OPENINGS, REGISTRATIONS
    from chalicelib.usecases import ratelimit as rate_cases
    from chalicelib.usecases.ratelimit import client_network
    from tests.test_usecase_rules import NOW, FakeCounters, services_with

    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:DB8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert client_network("::ffff:203.0.113.7") == client_network("203.0.113.7") == "203.0.113.7"
    assert client_network("2001:db8:1:3::1") != client_network("2001:db8:1:2::1")
    assert client_network(None) == "unknown" and client_network("not-an-ip") == "not-an-ip"
    svc = services_with(ratelimit=FakeCounters())
    svc.settings = _limits(conversation_rate_per_address_per_minute=3, subscriber_rate_per_minute=3)
    resident = Principal(sub="s", roles=frozenset({"resident"}), kind="resident")
    for limit, principal in ((CONVERSATION_OPENINGS, resident), (REGISTRATIONS, None)):
        for n in range(3):
            rate_cases.enforce(svc, RequestContext(request_id="r", now=NOW, principal=principal,
                                                   client_ip=f"2001:db8:1:2::{n + 1:x}"), limit)
        with pytest.raises(RateLimited):
            rate_cases.enforce(svc, RequestContext(request_id="r", now=NOW, principal=principal,
                                                   client_ip="2001:db8:1:2:dead:beef:0:1"), limit)
        rate_cases.enforce(svc, RequestContext(request_id="r", now=NOW, principal=principal,
                                               client_ip="2001:db8:1:3::1"), limit)  # another /64
