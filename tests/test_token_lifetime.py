"""Token lifetimes are bounded per issuer, and `exp`/`iat`/`nbf` must be plain numbers (else 401)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from chalicelib.auth.resident import ResidentTokens
from chalicelib.settings import SETTINGS, load_settings
from infra.local.idp import STAFF_PRIVATE, key_id
from tests.alerting import register
from tests.conftest import STAFF_AUDIENCE, STAFF_ISSUER, bearer

DAY = 24 * 3600
YEAR = 365 * DAY
UNSET = object()


@pytest.fixture(scope="module")
def sign(keys_dir: Path):
    pem = (keys_dir / STAFF_PRIVATE).read_bytes()
    kid = key_id(pem)

    def make(**overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": STAFF_ISSUER, "aud": STAFF_AUDIENCE, "sub": "pc-lifetime",
                                  "roles": ["officer"], "team": "north", "iat": now, "nbf": now, "exp": now + 600}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not UNSET}
        # json.dumps writes NaN/Infinity as bare tokens, which PyJWT's json.loads reads back.
        return jwt.encode(claims, pem, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"},
                          json_encoder=json.JSONEncoder)

    return make


def status(client, token: str) -> int:
    response = client.http.get("/v1/contacts", headers=bearer(token))
    if response.status_code == 401:
        assert response.headers["Content-Type"] == "application/problem+json"
    return response.status_code


def test_lifetimes_up_to_the_bound_are_accepted(client, sign):
    now = int(time.time())
    assert status(client, sign()) == 200
    assert status(client, sign(iat=now - 10, exp=now - 10 + DAY)) == 200  # exactly 24 h
    assert status(client, sign(nbf=UNSET)) == 200  # nbf is optional
    assert status(client, sign(iat=now + 0.5, exp=now + 600.25)) == 200  # NumericDate may be fractional
    assert status(client, sign(iat=now + 10)) == 200  # issued in the future within the leeway (30 s)


def _variants() -> list[tuple[str, dict[str, Any]]]:
    now = int(time.time())
    return [
        ("ten-year token", {"exp": now + 10 * YEAR}),
        ("one second over 24 h", {"iat": now - 10, "exp": now - 10 + DAY + 1}),
        ("25 h issued an hour ago", {"iat": now - 3600, "exp": now + DAY}),
        ("exp as a numeric string", {"exp": str(now + 600)}),
        ("exp as a word", {"exp": "tomorrow"}),
        ("exp as a bool", {"exp": True}),
        ("exp null", {"exp": None}),
        ("exp infinite", {"exp": float("inf")}),
        ("exp NaN", {"exp": float("nan")}),
        ("exp a list", {"exp": [now + 600]}),
        ("iat as a numeric string", {"iat": str(now)}),
        ("iat as a bool", {"iat": False}),
        ("iat null", {"iat": None}),
        ("iat missing", {"iat": UNSET}),
        ("iat huge", {"iat": 10**30}),
        ("iat huge float", {"iat": 1e300}),
        ("iat negative", {"iat": -1}),
        ("iat infinite", {"iat": float("-inf")}),
        ("nbf as a string", {"nbf": "now"}),
        ("nbf as a numeric string", {"nbf": str(now)}),
        ("nbf null", {"nbf": None}),
        ("nbf an object", {"nbf": {"t": now}}),
        ("nbf huge", {"nbf": 10**20}),
        ("exp before iat", {"iat": now + 20, "exp": now + 19}),  # iat within the leeway
        ("exp equal to iat", {"iat": now - 5, "exp": now - 5}),
        ("iat in the future beyond the leeway", {"iat": now + 120, "exp": now + 600}),
    ]


@pytest.mark.parametrize("case", [c for c, _ in _variants()])
def test_bad_lifetimes_and_dates_are_401(client, sign, case):
    # The variants are built when the test runs: built at collection, `now + 120` ages past the
    # leeway in a suite that takes minutes to reach this test.
    overrides = dict(_variants())[case]
    assert status(client, sign(**overrides)) == 401, case


def test_resident_tokens_are_bounded_by_their_own_configured_lifetime(client, keys_dir):
    subscriber_id, issued = register(client)
    assert client.http.get("/v1/subscribers/me", headers=bearer(issued)).status_code == 200
    pem = (keys_dir / "resident-es256.pem").read_bytes()
    now = datetime.now(UTC)

    def token(days: int) -> str:
        tokens = ResidentTokens(pem, issuer=SETTINGS.resident_issuer, audience=SETTINGS.resident_audience,
                                lifetime=timedelta(days=days))
        return tokens.issue(subscriber_id, now)[0]

    assert SETTINGS.resident_token_days == 365
    assert client.http.get("/v1/subscribers/me", headers=bearer(token(365))).status_code == 200
    assert client.http.get("/v1/subscribers/me", headers=bearer(token(366))).status_code == 401
    assert client.http.get("/v1/subscribers/me", headers=bearer(token(3650))).status_code == 401


def test_staff_bound_is_a_setting(services_override, client, sign):
    import dataclasses

    now = int(time.time())
    two_hours = sign(iat=now, exp=now + 7200)
    assert status(client, two_hours) == 200
    tight = dataclasses.replace(SETTINGS, staff_token_max_lifetime_seconds=3600)
    services_override(settings=tight)
    assert status(client, two_hours) == 401
    assert load_settings({"BEATLINE_STAFF_TOKEN_MAX_LIFETIME_SECONDS": "3600"}).staff_token_max_lifetime_seconds == 3600
    assert load_settings({}).staff_token_max_lifetime_seconds == DAY
