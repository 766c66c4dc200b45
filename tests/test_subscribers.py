"""Residents over HTTP: registration, validation, area limits, tokens, rate limit, refused push
endpoints. Channels, areas, the inbox, access logging and erasure are tests/test_subscriber_rules.py and
preferences and quiet hours tests/test_fanout_rules.py, on fakes."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.alerting import (
    browser_keys,
    circle,
    register,
    set_areas,
    spot,
    square,
    webpush_channel,
)
from tests.conftest import bearer

JSON = {"Content-Type": "application/json"}


def test_register_read_patch(client):
    subscriber_id, token = register(client, webpush_channel("https://push.example.test/abc"), language="cy",
                                    categories=["Security"], min_severity="Minor",
                                    quiet_hours={"start": "22:00", "end": "07:00", "tz": "Europe/London"})
    me = client.http.get("/v1/subscribers/me", headers=bearer(token))
    assert me.status_code == 200
    body = me.json_body
    assert body["id"] == subscriber_id
    assert body["channel"] == {"type": "webpush", "endpoint_host": "push.example.test"}  # no keys echoed
    assert body["language"] == "cy" and body["quiet_hours"]["tz"] == "Europe/London"
    patched = client.http.patch("/v1/subscribers/me", headers=bearer(token),
                                body=json.dumps({"min_severity": "Severe", "quiet_hours": None}))
    assert patched.status_code == 200, patched.body
    assert patched.json_body["min_severity"] == "Severe" and "quiet_hours" not in patched.json_body
    assert patched.json_body["language"] == "cy"


@pytest.mark.parametrize(("body", "field"), [
    ({"channel": {"type": "pigeon"}}, "channel.type"),
    ({"channel": {"type": "sns", "platform": "blackberry", "token": "abcdefgh12"}}, "channel.platform"),
    ({"channel": {"type": "webpush", "subscription": {"endpoint": "http://insecure.example/x", "keys": {"p256dh": "BExampleKeyExampleKey0123", "auth": "authsecret0"}}}}, "channel.subscription.endpoint"),
    # The worker would POST to these: internal addresses and unusable keys are refused up front.
    ({"channel": {"type": "webpush", "subscription": {"endpoint": "https://169.254.169.254/latest/meta-data", "keys": browser_keys()}}}, "channel.subscription.endpoint"),
    ({"channel": {"type": "webpush", "subscription": {"endpoint": "https://localhost/push", "keys": browser_keys()}}}, "channel.subscription.endpoint"),
    ({"channel": {"type": "webpush", "subscription": {"endpoint": "https://push.example.test/x", "keys": {"p256dh": "BExampleKeyExampleKey0123", "auth": "authsecret0"}}}}, "channel.subscription"),
    ({"channel": {"type": "inbox"}, "quiet_hours": {"start": "25:00", "end": "07:00", "tz": "Europe/London"}}, "quiet_hours.start"),
    ({"channel": {"type": "inbox"}, "quiet_hours": {"start": "22:00", "end": "07:00", "tz": "Mars/Olympus"}}, "quiet_hours.tz"),
    ({"channel": {"type": "inbox"}, "quiet_hours": {"start": "22:00", "end": "07:00", "tz": "../../etc/passwd"}}, "quiet_hours.tz"),
    ({"channel": {"type": "inbox"}, "min_severity": "Huge"}, "min_severity"),
    ({"channel": {"type": "inbox"}, "categories": ["Crime"]}, "categories[0]"),
])
def test_bad_registration_is_400_with_field(client, body, field):
    response = client.http.post("/v1/subscribers", headers=JSON, body=json.dumps(body))
    assert response.status_code == 400, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body["errors"][0]["field"] == field


def test_area_limits(client, staff_token):
    _, token = register(client)
    lat, lon = spot()
    too_many = set_areas(client, token, [circle(lat, lon, 100)] * 11)
    assert too_many.status_code == 400
    huge = set_areas(client, token, [square(lat, lon, 0.2)])
    assert huge.status_code == 400 and huge.json_body["errors"][0]["field"] == "areas[0]"
    wide = set_areas(client, token, [circle(lat + i * 0.5, lon, 20_000) for i in range(8)])
    assert wide.status_code == 400 and "cells" in wide.json_body["errors"][0]["message"]
    tiny = set_areas(client, token, [circle(lat, lon, 10)])
    assert tiny.status_code == 400 and tiny.json_body["errors"][0]["field"].startswith("areas[0]")
    unknown = set_areas(client, token, [{"area_id": str(uuid.uuid4())}])
    assert unknown.status_code == 400 and unknown.json_body["errors"][0]["field"] == "areas[0].area_id"
    area_id = str(uuid.uuid4())
    client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin")),
                    body=json.dumps({"name": "Elm", "team": "t", "geometry": square(lat, lon)}))
    ok = set_areas(client, token, [{"area_id": area_id}, circle(lat, lon, 800)])
    assert ok.status_code == 200, ok.body
    assert ok.json_body["areas"][0]["area_id"] == area_id and ok.json_body["cells"] >= 1
    assert client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body["cells"] == ok.json_body["cells"]


def test_registration_is_rate_limited_per_address(client):
    from chalicelib import services as services_module
    from chalicelib.settings import SETTINGS

    previous = services_module._current
    minute = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 500_000, seconds=30)
    services_module.use_services(services_module.build_services(
        dataclasses.replace(SETTINGS, subscriber_rate_per_minute=3), clock=lambda: minute))
    try:
        statuses = [client.http.post("/v1/subscribers", headers=JSON, body='{"channel": {"type": "inbox"}}').status_code
                    for _ in range(4)]
        limited = client.http.post("/v1/subscribers", headers=JSON, body='{"channel": {"type": "inbox"}}')
    finally:
        services_module.use_services(previous)
    assert statuses == [201, 201, 201, 429]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert limited.headers["Content-Type"] == "application/problem+json"


def test_resident_tokens_are_not_staff_tokens(client, staff_token, keys_dir):
    from infra.local.idp import STAFF_PRIVATE, issue_token

    _, token = register(client)
    assert client.http.get("/v1/alerts", headers=bearer(token)).status_code == 403
    assert client.http.get("/v1/subscribers/me", headers=bearer(staff_token("admin"))).status_code == 403
    from chalicelib.settings import SETTINGS

    forged = issue_token(private_pem=(keys_dir / STAFF_PRIVATE).read_bytes(), issuer=SETTINGS.resident_issuer,
                         audience=SETTINGS.resident_audience, sub=str(uuid.uuid4()), roles=["resident"])
    assert client.http.get("/v1/subscribers/me", headers=bearer(forged)).status_code == 401


def test_erased_token_is_401_before_the_body_is_looked_at(client):
    _, token = register(client)
    assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 204
    for method, path, body in (("PUT", "/v1/subscribers/me/areas", "{not json"),
                               ("PATCH", "/v1/subscribers/me", '{"language": 7}'),
                               ("GET", "/v1/subscribers/me/inbox?limit=0", None)):
        kwargs = {"headers": bearer(token)} | ({"body": body} if body else {})
        assert getattr(client.http, method.lower())(path, **kwargs).status_code == 401, (method, path)


# SSRF: the worker would POST to these. Names resolve through the session's StaticResolver
# (tests/push_dns.py); `*.example.test` names not in its table are public.
SSRF_ENDPOINTS = [
    "https://2130706433/push", "https://0x7f000001/push", "https://0177.0.0.1/push", "https://127.1/push",
    "https://127.0.0.1./push", "https://localhost./push", "https://0.0.0.0/push", "https://0/push",
    "https://2852039166/latest/meta-data", "https://[::1]/push", "https://[::ffff:127.0.0.1]/push",
    "https://[::ffff:7f00:1]/push", "https://[::]/push", "https://[fd00:ec2::254]/latest/meta-data",
    "https://[fe80::1%25eth0]/push", "https://10.0.0.1/push", "https://172.16.0.1/push", "https://192.168.1.1/push",
    "https://100.64.0.1/push", "https://loop.ssrf.example.test/push", "https://meta.ssrf.example.test/latest",
    "https://lan.ssrf.example.test/push", "https://cgnat.ssrf.example.test/push", "https://mixed.ssrf.example.test/push",
    "https://mapped.ssrf.example.test/push", "https://nat64.ssrf.example.test/push",
    "https://nowhere.invalid/push", "https://push.example.test:8443/push", "https://user@push.example.test/push",
    "https://metadata.google.internal/computeMetadata/v1/",
]
SSRF_DNS = {
    "loop.ssrf.example.test": ["127.0.0.1"], "meta.ssrf.example.test": ["169.254.169.254"],
    "lan.ssrf.example.test": ["10.1.2.3", "fd12::1"], "cgnat.ssrf.example.test": ["100.64.7.7"],
    "mixed.ssrf.example.test": ["93.184.215.14", "192.168.0.10"], "mapped.ssrf.example.test": ["::ffff:169.254.169.254"],
    "nat64.ssrf.example.test": ["64:ff9b::7f00:1"],
}


@pytest.mark.parametrize("endpoint", SSRF_ENDPOINTS)
def test_registration_refuses_push_endpoints_that_reach_internal_addresses(client, endpoint):
    from tests.push_dns import TEST_PUSH_RESOLVER

    TEST_PUSH_RESOLVER.table.update(SSRF_DNS)
    body = {"channel": {"type": "webpush", "subscription": {"endpoint": endpoint, "keys": browser_keys()}}}
    response = client.http.post("/v1/subscribers", headers=JSON, body=json.dumps(body))
    assert response.status_code == 400, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json_body["errors"]] == ["channel.subscription.endpoint"]


