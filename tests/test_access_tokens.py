"""Staff issuers accept access tokens only (issue 17, item 8): RFC 9068 (`typ: at+jwt`, our
`aud`) and Cognito's access-token shape (`token_use: access`, `client_id`, no `aud`); never an ID
token, whatever its shape. Staff identities are compared as people (auth/identity.py). Pure:
a verifier on a static key, no database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from jwt import PyJWKSet

from chalicelib.auth.identity import canonical_subject, same_person
from chalicelib.auth.tokens import InvalidToken, IssuerPolicy, StaticJwks, TokenVerifier
from infra.local.idp import STAFF_JWKS, STAFF_PRIVATE, issue_token, key_id

pytestmark = pytest.mark.no_database

ISSUER = "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Example"
AUDIENCE = "beatline-api"
APP = "4k1example0dashboard"


@pytest.fixture(scope="module")
def pem(keys_dir: Path) -> bytes:
    return (keys_dir / STAFF_PRIVATE).read_bytes()


def verifier(keys_dir: Path, client_ids: frozenset[str] = frozenset({APP}), access_only: bool = True) -> TokenVerifier:
    keys = StaticJwks(PyJWKSet.from_json((keys_dir / STAFF_JWKS).read_text()))
    policy = IssuerPolicy(issuer=ISSUER, audience=AUDIENCE, algorithms=("ES256",), keys=keys,
                          allowed_roles=frozenset({"officer", "supervisor"}), kind="staff",
                          access_tokens_only=access_only, client_ids=client_ids)
    return TokenVerifier([policy], cache_seconds=0)


def sign(pem: bytes, claims: dict[str, Any], typ: str | None) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "pc-1", "iat": now, "exp": now + 600, **claims}
    headers: dict[str, Any] = {"kid": key_id(pem)}
    if typ is not None:
        headers["typ"] = typ
    return jwt.encode({k: v for k, v in body.items() if v is not None}, pem, algorithm="ES256", headers=headers)


COGNITO_ACCESS = {"token_use": "access", "client_id": APP, "cognito:groups": ["officer"], "scope": "aws.cognito.signin.user.admin"}
COGNITO_ID = {"token_use": "id", "aud": APP, "cognito:groups": ["officer"], "email": "pc1@force.example"}
RFC9068 = {"aud": AUDIENCE, "client_id": APP, "roles": ["officer"], "jti": "j-1"}
OIDC_ID = {"aud": AUDIENCE, "roles": ["officer"], "nonce": "n", "at_hash": "x"}


@pytest.mark.parametrize("claims,typ", [
    (RFC9068, "at+jwt"), (RFC9068, "AT+JWT"), (RFC9068, "application/at+jwt"),
    (COGNITO_ACCESS, "JWT"), (COGNITO_ACCESS, None),  # Cognito signs its access tokens `typ`-less or JWT
    ({**COGNITO_ACCESS, "aud": AUDIENCE}, "JWT"),  # an `aud`, if any, must be ours
    ({**RFC9068, "token_use": "access"}, "at+jwt"),
])
def test_access_tokens_of_either_shape_pass(keys_dir, pem, claims, typ):
    principal = verifier(keys_dir).verify(sign(pem, claims, typ))
    assert (principal.sub, principal.roles, principal.kind) == ("pc-1", frozenset({"officer"}), "staff")


@pytest.mark.parametrize("claims,typ,why", [
    (OIDC_ID, "JWT", "an OIDC ID token for our audience"),
    (OIDC_ID, None, "an ID token without typ"),
    ({**RFC9068}, "JWT", "typ JWT is not an access token, even with client_id and our aud"),
    ({**RFC9068}, "id+jwt", "another typ"),
    (COGNITO_ID, "JWT", "Cognito's ID token (aud = the app client)"),
    ({**COGNITO_ID, "aud": AUDIENCE}, "JWT", "Cognito's ID token even for our audience"),
    ({**COGNITO_ID}, "at+jwt", "token_use id contradicts at+jwt"),
    ({**COGNITO_ACCESS, "token_use": "ACCESS"}, "JWT", "token_use spelled otherwise"),
    ({**COGNITO_ACCESS, "client_id": "other-app"}, "JWT", "Cognito access token of another app client"),
    ({**COGNITO_ACCESS, "client_id": None}, "JWT", "Cognito access token without client_id"),
    ({**COGNITO_ACCESS, "aud": "another-api"}, "JWT", "Cognito-shaped token for another audience"),
    ({**RFC9068, "client_id": "other-app"}, "at+jwt", "RFC 9068 token of an app we do not serve"),
    ({**RFC9068, "aud": "another-api"}, "at+jwt", "RFC 9068 token for another resource"),
    ({**RFC9068, "aud": None}, "at+jwt", "RFC 9068 token without aud"),
])
def test_id_tokens_and_foreign_access_tokens_are_refused(keys_dir, pem, claims, typ, why):
    with pytest.raises(InvalidToken):
        verifier(keys_dir).verify(sign(pem, claims, typ))


def test_cognito_access_tokens_need_configured_clients(keys_dir, pem):
    with pytest.raises(InvalidToken):  # no client configured: nothing proves the token is for us
        verifier(keys_dir, client_ids=frozenset()).verify(sign(pem, COGNITO_ACCESS, "JWT"))
    # RFC 9068 tokens carry their audience: no client list needed, any client_id then.
    assert verifier(keys_dir, client_ids=frozenset()).verify(sign(pem, {**RFC9068, "client_id": "x"}, "at+jwt"))


def test_make_token_issues_what_the_verifier_calls_an_access_token(keys_dir, pem):
    token = issue_token(private_pem=pem, issuer=ISSUER, audience=AUDIENCE, sub="pc-2", roles=["officer"])
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    assert verifier(keys_dir, client_ids=frozenset()).verify(token).sub == "pc-2"
    resident_style = verifier(keys_dir, access_only=False)  # Beatline's own resident tokens: not OIDC
    assert resident_style.verify(sign(pem, OIDC_ID, "JWT")).sub == "pc-1"


@pytest.mark.parametrize("sub", [" pc-1", "pc-1 ", "pc-\u200b1", "pc-1\n", "\ufeffpc-1", "system:beatline-residents",
                                 "SYSTEM:erasure", " system:x"])
def test_subjects_with_invisible_or_reserved_spellings_are_refused(keys_dir, pem, sub):
    with pytest.raises(InvalidToken):
        verifier(keys_dir).verify(sign(pem, {**RFC9068, "sub": sub}, "at+jwt"))


@pytest.mark.parametrize("spelling", [
    "PC-1", "pc-1", " pc-1 ", "Pc-1\t", "\uff50\uff43\uff0d\uff11",  # fullwidth (NFKC)
    "pc\u200b-1", "p\u0063-1", "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Example|pc-1",
    "HTTPS://COGNITO-IDP.EU-WEST-2.AMAZONAWS.COM/EU-WEST-2_EXAMPLE#PC-1",
    "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_Example/pc-1",
])
def test_spellings_of_one_subject_are_one_person(spelling):
    assert same_person("pc-1", spelling, ISSUER)
    assert canonical_subject(spelling, ISSUER) == "pc-1"


def test_different_people_stay_different():
    assert not same_person("pc-1", "pc-11", ISSUER)
    assert not same_person("pc-1", "pc-2", ISSUER)
    assert not same_person("pc-1", "https://other.example|pc-1", ISSUER)  # another issuer's pc-1
    assert not same_person("e\u0301", "e", ISSUER)  # a combining accent is a different letter
    assert same_person("\u00e9", "e\u0301", ISSUER)  # but its two encodings are one
