"""The two-person rule on alerts holds against spellings of one identity (issue 17, item 8): an
author or proposer whose `sub` comes back in another case, Unicode form or with the issuer
written in front is the same person (403); surrounding whitespace and invisible characters never
get past the token (401). Also: an ID-token-shaped staff token is refused over HTTP."""

from __future__ import annotations

import uuid

import jwt
import pytest

from tests.alerting import approve, draft, propose, publish, spot, square
from tests.conftest import STAFF_ISSUER, bearer


def _spellings(sub: str) -> list[str]:
    return [sub.upper(), sub.title(), sub.translate({ord("-"): "\uff0d"}),  # fullwidth hyphen (NFKC)
            f"{STAFF_ISSUER}|{sub}", f"{STAFF_ISSUER.upper()}#{sub}"]


@pytest.fixture
def area():
    return square(*spot(), 0.01)


def test_the_author_cannot_approve_under_another_spelling(client, staff_token, team, area):
    author = f"sgt-{uuid.uuid4().hex[:6]}"
    drafted = draft(client, staff_token("supervisor", sub=author, team=team), area)
    assert drafted.status_code == 201, drafted.body
    alert_id = drafted.json_body["id"]
    for spelling in _spellings(author):
        refused = approve(client, staff_token("supervisor", sub=spelling, team=team), alert_id)
        assert refused.status_code == 403, (spelling, refused.body)
    for spelling in (f" {author}", f"{author}\u200b", f"\ufeff{author}"):
        assert approve(client, staff_token("supervisor", sub=spelling, team=team), alert_id).status_code == 401
    other = approve(client, staff_token("supervisor", sub=f"{author}-2", team=team), alert_id)
    assert other.status_code == 200, other.body  # a different person may


def test_the_proposer_cannot_approve_an_update_under_another_spelling(client, staff_token, team, area):
    alert_id = publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), area)
    proposer = f"sgt-{uuid.uuid4().hex[:6]}"
    proposal = propose(client, staff_token("supervisor", sub=proposer, team=team), alert_id,
                       {"headline": "Vans seen on Elm Street"})
    for spelling in _spellings(proposer):
        refused = approve(client, staff_token("supervisor", sub=spelling, team=team), alert_id, proposal)
        assert refused.status_code == 403, (spelling, refused.body)
    assert approve(client, staff_token("supervisor", team=team), alert_id, proposal).status_code == 200


def test_an_id_token_shape_is_refused_over_http(client, staff_token, keys_dir):
    """The same signed claims: as an access token 200; as an ID token (`typ: JWT`, or Cognito's
    `token_use: id`) 401."""
    from infra.local.idp import STAFF_PRIVATE, key_id

    token = staff_token("officer")
    assert client.http.get("/v1/contacts", headers=bearer(token)).status_code == 200
    claims = jwt.decode(token, options={"verify_signature": False})
    pem = (keys_dir / STAFF_PRIVATE).read_bytes()
    for typ, extra in (("JWT", {}), ("JWT", {"nonce": "n"}), ("at+jwt", {"token_use": "id"}), ("JWT", {"token_use": "id"})):
        forged = jwt.encode({**claims, **extra}, pem, algorithm="ES256", headers={"kid": key_id(pem), "typ": typ})
        assert client.http.get("/v1/contacts", headers=bearer(forged)).status_code == 401, (typ, extra)
