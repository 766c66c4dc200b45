"""Bearer token attacks -> 401; a valid token with the wrong role -> 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from infra.local.idp import STAFF_PRIVATE, issue_token, key_id
from tests.conftest import STAFF_AUDIENCE, STAFF_ISSUER, bearer
from tests.support import access_entries, problem

PATH = "/v1/contacts"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": STAFF_ISSUER, "aud": STAFF_AUDIENCE, "sub": "pc-attack", "roles": ["officer"],
        "team": "north", "iat": now, "nbf": now, "exp": now + 600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(signature)}"


@pytest.fixture(scope="module")
def staff_pem(keys_dir: Path) -> bytes:
    return (keys_dir / STAFF_PRIVATE).read_bytes()


@pytest.fixture(scope="module")
def kid(staff_pem: bytes) -> str:
    return key_id(staff_pem)


def _sign(pem: bytes, claims: dict[str, Any], kid: str, alg: str = "ES256", typ: str = "at+jwt") -> str:
    """An access token (RFC 9068 `typ`), so each attack below is refused for its own flaw."""
    return jwt.encode(claims, pem, algorithm=alg, headers={"kid": kid, "typ": typ})


def _get(client, token: str | None, scheme: str = "Bearer"):
    headers = {} if token is None else {"Authorization": f"{scheme} {token}"}
    return client.http.get(PATH, headers=headers)


def _assert_401(response) -> None:
    assert response.status_code == 401, response.body
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    problem(response)


def test_valid_token_is_accepted(client, staff_pem, kid):
    assert _get(client, _sign(staff_pem, _claims(), kid)).status_code == 200


def test_missing_header_is_401(client):
    _assert_401(_get(client, None))


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "bearer-abc", "JWT x.y.z"])
def test_not_a_bearer_token_is_401(client, value):
    _assert_401(client.http.get(PATH, headers={"Authorization": value}))


def test_garbage_token_is_401(client):
    for token in ("x", "a.b.c", "a.b", "....", "eyJhbGciOiJFUzI1NiJ9.e30."):
        _assert_401(_get(client, token))


def test_alg_none_is_401(client, kid):
    for alg in ("none", "None", "NONE"):
        _assert_401(_get(client, _unsigned({"alg": alg, "typ": "at+jwt", "kid": kid}, _claims())))


def test_hs256_signed_with_the_public_key_is_401(client, staff_pem, kid, keys_dir):
    """Algorithm confusion: the attacker HMACs with the (public) verification key."""
    private = serialization.load_pem_private_key(staff_pem, password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwks_text = (keys_dir / "staff-jwks.json").read_bytes()
    for secret in (public_pem, jwks_text, json.dumps(json.loads(jwks_text)["keys"][0]).encode()):
        header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
        head = _b64(json.dumps(header).encode())
        body = _b64(json.dumps(_claims()).encode())
        signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        _assert_401(_get(client, f"{head}.{body}.{_b64(signature)}"))


def test_another_key_with_the_same_kid_is_401(client, kid):
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _assert_401(_get(client, _sign(other, _claims(), kid)))


def test_rs256_token_is_401(client, kid):
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _assert_401(_get(client, _sign(rsa_pem, _claims(), kid, alg="RS256")))


def test_unknown_kid_and_missing_kid_are_401(client, staff_pem):
    _assert_401(_get(client, _sign(staff_pem, _claims(), "no-such-key")))
    _assert_401(_get(client, jwt.encode(_claims(), staff_pem, algorithm="ES256", headers={"typ": "at+jwt"})))


def _claim_shown(value: object) -> str:
    """A test id that is the same in every process (pytest-xdist compares them): times as past/future."""
    if isinstance(value, int) and value > 10**9:
        return "past" if value < time.time() else "future"
    return str(value)[:20]


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 3600},                       # expired
        {"nbf": int(time.time()) + 3600},                       # not yet valid
        {"iat": int(time.time()) + 3600},                       # issued in the future
        {"iss": "https://evil.example"},                        # wrong issuer
        {"iss": STAFF_ISSUER + "/"},                            # near-miss issuer
        {"aud": "another-api"},                                 # wrong audience
        {"aud": [STAFF_AUDIENCE + "x"]},
        {"sub": None},                                          # missing sub
        {"exp": None},                                          # missing exp
        {"iat": None},                                          # missing iat
        {"iss": None},
        {"aud": None},
        {"sub": ""},
        {"sub": 12345},
        {"sub": "s" * 129},
        {"exp": "tomorrow"},
        {"roles": {"officer": True}},
        {"team": "t" * 129},                                     # team ids become key parts
        {"team": ["north"]},
        {"force": {"id": 1}},
    ],
    ids=lambda o: ",".join(f"{k}={_claim_shown(v)}" for k, v in o.items()),
)
def test_bad_claims_are_401(client, staff_pem, kid, overrides):
    claims = _claims(**overrides)
    _assert_401(_get(client, _sign(staff_pem, claims, kid)))


def test_expired_within_leeway_is_accepted(client, staff_pem, kid):
    now = int(time.time())  # issued before it expired: exp < iat is refused on its own
    assert _get(client, _sign(staff_pem, _claims(iat=now - 600, nbf=now - 600, exp=now - 5), kid)).status_code == 200


def test_tampered_payload_is_401(client, staff_pem, kid):
    token = _sign(staff_pem, _claims(roles=["officer"]), kid)
    head, _, signature = token.split(".")
    forged = _b64(json.dumps(_claims(roles=["supervisor"], team="south")).encode())
    _assert_401(_get(client, f"{head}.{forged}.{signature}"))
    # flipping one signature character
    flipped = signature[:-3] + ("A" if signature[-3] != "A" else "B") + signature[-2:]
    _assert_401(_get(client, f"{head}.{token.split('.')[1]}.{flipped}"))


def test_valid_token_with_a_role_that_may_not_act_is_403(client, staff_token):
    for role in ("analyst", "admin", "resident", "superuser"):
        response = _get(client, staff_token(role))
        assert response.status_code == 403, role
        problem(response)


def test_roles_from_cognito_groups(client, staff_pem, kid):
    claims = _claims(roles=None, **{"cognito:groups": ["supervisor"]})
    response = client.http.get(PATH + "?team=mine", headers=bearer(_sign(staff_pem, claims, kid)))
    assert response.status_code == 200, response.body
    analyst = _claims(roles=None, **{"cognito:groups": ["analyst"]})
    assert _get(client, _sign(staff_pem, analyst, kid)).status_code == 403


def test_no_roles_at_all_is_403(client, staff_pem, kid):
    assert _get(client, _sign(staff_pem, _claims(roles=None), kid)).status_code == 403


def test_rejected_tokens_write_nothing(client, staff_pem, kid):
    sub = f"pc-rejected-{kid}"
    _get(client, _sign(staff_pem, _claims(sub=sub, aud="nope"), kid))
    assert access_entries(sub) == []


def test_local_idp_token_matches_the_verifier(client, staff_pem):
    token = issue_token(private_pem=staff_pem, issuer=STAFF_ISSUER, audience=STAFF_AUDIENCE,
                        sub="pc-idp", roles=["officer"], team="north")
    assert _get(client, token).status_code == 200
