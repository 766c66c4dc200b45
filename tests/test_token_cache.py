"""TokenVerifier remembers verified tokens briefly, never past their expiry."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from jwt import PyJWKSet

from chalicelib.auth.tokens import InvalidToken, IssuerPolicy, StaticJwks, TokenVerifier
from infra.local.idp import STAFF_JWKS, STAFF_PRIVATE, issue_token

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these


class CountingKeys:
    def __init__(self, keys_dir: Path) -> None:
        self._inner = StaticJwks(PyJWKSet.from_dict(json.loads((keys_dir / STAFF_JWKS).read_text())))
        self.calls = 0

    def key_for(self, kid, token):
        self.calls += 1
        return self._inner.key_for(kid, token)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(keys_dir: Path):
    keys = CountingKeys(keys_dir)
    clock = FakeClock()
    policy = IssuerPolicy(issuer="https://iss", audience="aud", algorithms=("ES256",), keys=keys,
                          allowed_roles=frozenset({"officer"}), kind="staff")
    verifier = TokenVerifier([policy], leeway_seconds=0, cache_seconds=60, cache_size=2, clock=clock)
    pem = (keys_dir / STAFF_PRIVATE).read_bytes()

    def token(sub: str = "pc-1", ttl: int = 3600) -> str:
        return issue_token(private_pem=pem, issuer="https://iss", audience="aud", sub=sub, roles=["officer"], ttl_seconds=ttl)

    return verifier, keys, clock, token


def test_second_verification_is_served_from_the_cache(setup):
    verifier, keys, _, token = setup
    t = token()
    assert verifier.verify(t).sub == "pc-1"
    assert verifier.verify(t).sub == "pc-1"
    assert keys.calls == 1


def test_cache_entry_ends_after_cache_seconds(setup):
    verifier, keys, clock, token = setup
    t = token()
    verifier.verify(t)
    clock.now += 61
    verifier.verify(t)
    assert keys.calls == 2


def test_cache_entry_never_outlives_the_token(setup):
    verifier, keys, clock, token = setup
    t = token(ttl=5)
    verifier.verify(t)
    clock.now += 6  # past exp (leeway 0) but inside cache_seconds: must verify again
    verifier.verify(t)  # PyJWT's own clock still says valid; what matters is no cache hit
    assert keys.calls == 2


def test_cache_is_bounded(setup):
    verifier, keys, _, token = setup
    a, b, c = token("a"), token("b"), token("c")
    for t in (a, b, c):
        verifier.verify(t)
    verifier.verify(a)  # evicted by c (size 2)
    assert keys.calls == 4
    verifier.verify(c)
    assert keys.calls == 4


def test_failures_are_not_cached(setup):
    verifier, keys, _, token = setup
    bad = token()[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(bad)
    assert keys.calls == 2
