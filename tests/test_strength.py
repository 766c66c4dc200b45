"""A team's strength by rank (PUT /v1/teams/{team}/strength, admin), kept per period: engagement
buckets carry the strength in force at their period's start and the share of it that engaged."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.clock import to_rfc3339
from chalicelib.domain import strength
from tests.conftest import bearer

PURPOSE = "strength review"


@pytest.fixture
def now() -> datetime:
    """A Wednesday at noon three weeks ago (the clock is set a week later to log the last week)."""
    day = datetime.now(UTC) - timedelta(days=21)
    day -= timedelta(days=(day.weekday() - 2) % 7)
    return day.replace(hour=12, minute=0, second=0, microsecond=0)


def _put(client, token: str, team: str, body: object):
    return client.http.put(f"/v1/teams/{team}/strength", headers=bearer(token), body=json.dumps(body))


def _street(at: datetime) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(at), "topic": "burglary",
            "outcome": "advice_given", "location": {"lat": 51.5, "lon": -0.12}, "setting": "patrol"}


def _online(at: datetime) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "online", "occurred_at": to_rfc3339(at), "topic": "fraud_scams",
            "outcome": "advice_given", "platform": "facebook", "direction": "outbound"}


def _log(client, token: str, body: dict) -> None:
    response = client.http.post("/v1/contacts", headers=bearer(token), body=json.dumps(body))
    assert response.status_code == 201, response.body


def shares(any_: float, street: float, online: float, outbound: float) -> dict:
    return {"any": any_, "street": street, "online": online, "online_outbound": outbound}


def test_buckets_use_the_strength_in_force_at_their_start(client, staff_token, team, now, services_override):
    admin = staff_token("admin", team=None)
    monday = (now - timedelta(days=now.weekday())).date()
    first = _put(client, admin, team, {"from": monday.isoformat(), "by_rank": {"pcso": 2, "constable": 4}})
    assert first.status_code == 201, first.body
    assert first.json_body["by_rank"] == {"constable": 4, "pcso": 2} and first.json_body["from"] == monday.isoformat()
    second_from = (monday + timedelta(days=7)).isoformat()
    assert _put(client, admin, team, {"from": second_from, "by_rank": {"constable": 3}}).status_code == 201
    replaced = _put(client, admin, team, {"from": second_from, "by_rank": {"constable": 2, "pcso": 0}})
    assert replaced.status_code == 200  # the same `from` replaces that record

    services_override(clock=lambda: now + timedelta(days=7, hours=1))
    pc1, pc2 = (staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team, rank="constable") for _ in range(2))
    pcso = staff_token("officer", sub=f"cso-{uuid.uuid4().hex[:6]}", team=team, rank="pcso")
    unranked = staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team)
    _log(client, pc1, _street(now - timedelta(days=7)))  # the week before any strength
    for token, body in ((pc1, _street(now)), (pc2, _street(now)), (pcso, _online(now))):
        _log(client, token, body)
    _log(client, pc1, _street(now + timedelta(days=7)))
    _log(client, unranked, _street(now + timedelta(days=7)))

    query = urlencode({"from": (now - timedelta(days=7)).date().isoformat(),
                       "to": (now + timedelta(days=7)).date().isoformat(), "team": team, "group_by": "week",
                       "purpose": PURPOSE})
    response = client.http.get(f"/v1/history/engagement?{query}", headers=bearer(staff_token("analyst", team=None)))
    assert response.status_code == 200, response.body
    before, during, after = response.json_body["buckets"]
    assert "strength" not in before and "share_by_rank" not in before
    assert during["strength"] == {"constable": 4, "pcso": 2}
    assert during["share_by_rank"] == {"constable": shares(0.5, 0.5, 0, 0), "pcso": shares(0.5, 0, 0.5, 0.5)}
    assert after["strength"] == {"constable": 2, "pcso": 0}
    assert after["share_by_rank"] == {"constable": shares(0.5, 0.5, 0, 0), "pcso": None, "unknown": None}


def test_only_an_admin_records_strength_and_bad_input_is_400(client, staff_token, team):
    admin = staff_token("admin", team=None)
    body = {"from": "2026-01-01", "by_rank": {"constable": 6}}
    assert _put(client, staff_token("supervisor", team=team), team, body).status_code == 403
    assert _put(client, staff_token("analyst", team=None), team, body).status_code == 403
    for bad in ({"from": "2026-13-01", "by_rank": {}}, {"from": "2026-01-01", "by_rank": {"general": 1}},
                {"from": "2026-01-01", "by_rank": {"constable": -1}},
                {"from": "2026-01-01", "by_rank": {"constable": 10_001}},
                {"from": "2026-01-01", "by_rank": {"constable": 1.5}}, {"from": "2026-01-01"},
                {"from": "1066-10-14", "by_rank": {}}, {"from": "2026-01-01", "by_rank": {}, "note": "x"},
                [body]):
        response = _put(client, admin, team, bad)
        assert response.status_code == 400, (bad, response.body)
        assert response.headers["Content-Type"] == "application/problem+json"
    assert _put(client, admin, "bad team id!", body).status_code in (400, 404)


@pytest.mark.no_database
def test_period_starts_and_the_record_in_force():
    assert strength.period_start("2026-W01", "week") == date(2025, 12, 29)
    assert strength.period_start("2026-11", "month") == date(2026, 11, 1)
    assert strength.period_start("2026-11-25", "day") == date(2026, 11, 25)
    records = [strength.StrengthRecord("t", day, {"constable": n}, "") for n, day in
               ((3, "2026-06-01"), (2, "2026-03-01"))]
    assert strength.in_force(records, date(2026, 6, 1)) is records[0]
    assert strength.in_force(records, date(2026, 5, 31)) is records[1]
    assert strength.in_force(records, date(2026, 2, 28)) is None
    assert strength.shares({"constable": {"any": 1, "street": 1}}, {"constable": 3}) == {
        "constable": strength.Shares(any=0.3333, street=0.3333, online=0.0, online_outbound=0.0)}
