"""Ranks (issue 21): the `rank` claim mapped per issuer (a claim of its own, or a prefixed group),
kept on each contact as the author's rank at the time, counted as distinct staff by rank in the
engagement figures (`by_rank`, `unknown` for staff without one) and shown on analysts' rows."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
from jwt import PyJWKSet

from chalicelib.auth.tokens import IssuerPolicy, StaticJwks, TokenVerifier
from chalicelib.clock import to_rfc3339
from chalicelib.domain import engagement
from infra.local.idp import STAFF_JWKS, STAFF_PRIVATE, issue_token, key_id
from tests.alerting import register, spot, square
from tests.conftest import bearer

PURPOSE = "rank engagement review"


def _verifier(keys_dir: Path, **policy: object) -> tuple[TokenVerifier, bytes]:
    keys = StaticJwks(PyJWKSet.from_dict(json.loads((keys_dir / STAFF_JWKS).read_text())))
    issuer = IssuerPolicy(issuer="https://iss", audience="aud", algorithms=("ES256",), keys=keys,
                          allowed_roles=frozenset({"officer", "supervisor"}), kind="staff", **policy)  # type: ignore[arg-type]
    return TokenVerifier([issuer], cache_seconds=0), (keys_dir / STAFF_PRIVATE).read_bytes()


def _token(pem: bytes, roles: list[str], **extra: object) -> str:
    return issue_token(private_pem=pem, issuer="https://iss", audience="aud", sub=f"pc-{uuid.uuid4().hex[:6]}",
                       roles=roles, extra=dict(extra) or None)


@pytest.mark.no_database
def test_rank_claim_is_read_and_an_unknown_value_is_no_rank(keys_dir):
    verifier, pem = _verifier(keys_dir)
    assert verifier.verify(_token(pem, ["officer"], rank="inspector")).rank == "inspector"
    for odd in ("Inspector", "general", "", 7, ["pcso"], None):
        principal = verifier.verify(_token(pem, ["officer"], rank=odd))
        assert principal.rank is None and principal.roles == {"officer"}  # accepted, rank unknown
    assert verifier.verify(_token(pem, ["officer"])).rank is None


@pytest.mark.no_database
def test_cognito_rank_groups_are_read_with_the_issuers_prefix(keys_dir):
    verifier, pem = _verifier(keys_dir, rank_claim=None, rank_group_prefix="rank:")

    def cognito(*names: str) -> str:
        """Cognito's shape: groups in `cognito:groups`, no `roles` claim."""
        issued = int(time.time())
        claims = {"iss": "https://iss", "aud": "aud", "sub": "pc-9", "iat": issued, "exp": issued + 600,
                  "cognito:groups": list(names)}
        return jwt.encode(claims, pem, algorithm="ES256", headers={"kid": key_id(pem)})

    principal = verifier.verify(cognito("officer", "rank:pcso"))
    assert principal.roles == {"officer"} and principal.rank == "pcso"
    assert verifier.verify(cognito("officer", "rank:admiral")).rank is None  # unknown rank: none
    assert verifier.verify(cognito("officer", "rank:pcso", "rank:special")).rank is None  # ambiguous
    assert verifier.verify(cognito("officer", "pcso")).rank is None  # no prefix: not a rank group
    # The rank claim is off for this issuer: a `rank` claim is not read.
    assert verifier.verify(_token(pem, ["officer"], rank="inspector")).rank is None


# --- HTTP on DynamoDB Local ---------------------------------------------------------------------


@pytest.fixture
def now() -> datetime:
    """A recent past Wednesday at noon on a day <= 19 (Wednesday to the next Wednesday share a
    month): periods are weeks."""
    day = datetime.now(UTC) - timedelta(days=14)
    day -= timedelta(days=(day.weekday() - 2) % 7)
    while day.day > 19:
        day -= timedelta(days=7)
    return day.replace(hour=12, minute=0, second=0, microsecond=0)


def _post(client, token: str, path: str, body: dict) -> dict:
    response = client.http.post(path, headers=bearer(token), body=json.dumps(body))
    assert response.status_code in (200, 201), response.body
    return response.json_body


def _street(at: datetime) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(at), "topic": "burglary",
            "outcome": "advice_given", "location": {"lat": 51.5, "lon": -0.12}, "setting": "patrol"}


def _engagement(client, staff_token, team: str, day_from: datetime, day_to: datetime) -> dict:
    query = urlencode({"from": day_from.date().isoformat(), "to": day_to.date().isoformat(), "team": team,
                       "group_by": "week", "purpose": PURPOSE})
    response = client.http.get(f"/v1/history/engagement?{query}", headers=bearer(staff_token("analyst", team=None)))
    assert response.status_code == 200, response.body
    return {b["period"]: b for b in response.json_body["buckets"]}


def counts(any_: int = 0, street: int = 0, online: int = 0, outbound: int = 0) -> dict:
    return {"any": any_, "street": street, "online": online, "online_outbound": outbound}


def test_by_rank_counts_distinct_staff_over_two_periods_and_answers_count(client, staff_token, team, now,
                                                                          services_override):
    lat, lon = spot()
    area_id = str(uuid.uuid4())
    admin = staff_token("admin", team=None)
    assert client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin), body=json.dumps(
        {"name": "Elm ward", "team": team, "geometry": square(lat, lon)})).status_code == 201
    _, resident = register(client)
    services_override(clock=lambda: now, channels={})
    pc1, pc2 = (staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team, rank="constable") for _ in range(2))
    pcso = staff_token("officer", sub=f"cso-{uuid.uuid4().hex[:6]}", team=team, rank="pcso")
    unranked = staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team, rank="general")
    for token in (pc1, pc1, pc2, pcso, unranked):
        _post(client, token, "/v1/contacts", _street(now - timedelta(hours=1)))
    conv = _post(client, resident, "/v1/conversations",
                 {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music", "area_id": area_id})["id"]
    _post(client, pcso, f"/v1/conversations/{conv}/messages", {"id": str(uuid.uuid4()), "text": "On our way."})
    later = now + timedelta(days=7)
    services_override(clock=lambda: later, channels={})
    _post(client, pc2, "/v1/contacts", _street(later - timedelta(hours=1)))

    buckets = _engagement(client, staff_token, team, now, later)
    first, second = (buckets[p] for p in sorted(buckets))
    assert first["by_rank"] == {"constable": counts(2, 2), "pcso": counts(1, 1, 1, 1), "unknown": counts(1, 1)}
    assert first["staff"] == counts(4, 4, 1, 1)
    assert second["by_rank"] == {"constable": counts(1, 1)}

    # Analysts' rows and CSV carry the author's rank at the time.
    window = {"from": to_rfc3339(now - timedelta(hours=2)), "to": to_rfc3339(later), "team": team, "purpose": PURPOSE}
    analyst = bearer(staff_token("analyst", team=None))
    response = client.http.get(f"/v1/history/contacts?{urlencode({**window, 'limit': 100})}", headers=analyst)
    assert response.status_code == 200, response.body
    rows = response.json_body["items"]
    ranks = sorted(r.get("author_rank", "-") for r in rows if r["author_kind"] == "staff")
    assert ranks == ["-", "constable", "constable", "constable", "constable", "pcso", "pcso"]
    exported = client.http.get(f"/v1/history/contacts.csv?{urlencode(window)}", headers=analyst).body.decode()
    table = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(r["author_rank"] for r in table if r["author_kind"] == "staff") == [
        "", "constable", "constable", "constable", "constable", "pcso", "pcso"]


def test_rank_groups_setting_reaches_the_figures(client, staff_token, team, now, services_override):
    from chalicelib.settings import SETTINGS

    services_override(settings=replace(SETTINGS, staff_rank_group_prefix="rank:"), clock=lambda: now)
    sergeant = staff_token(["supervisor", "rank:sergeant"], sub=f"sgt-{uuid.uuid4().hex[:6]}", team=team)
    _post(client, sergeant, "/v1/contacts", _street(now - timedelta(hours=1)))
    (bucket,) = _engagement(client, staff_token, team, now, now).values()
    assert bucket["by_rank"] == {"sergeant": counts(1, 1)}
    assert bucket["by_role"]["supervisor"] == counts(1, 1)


@pytest.mark.no_database
def test_settle_pins_only_the_ranks_a_write_moves():
    deltas = {"so": 1, f"s{engagement.RANK_MARK}pcso": 1}
    checks, moves = engagement.settle({"no": 1, f"n{engagement.RANK_MARK}constable": 1}, deltas)
    pinned = {name for name, _, _ in checks}
    assert f"s{engagement.RANK_MARK}pcso" in pinned and f"n{engagement.RANK_MARK}constable" not in pinned
    # A constable promoted mid-period to PCSO's counters: counted under both ranks, once by role.
    assert moves == {"s_o": 1, "s_t": 1, "s_r_pcso": 1, "a_r_pcso": 1}
