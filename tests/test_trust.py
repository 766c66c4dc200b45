"""Residents' trust over HTTP on DynamoDB Local: ratings once per answer, pulses once per resident,
figures withheld below 10 answers with Wilson intervals above, who may read them, bad input, and
erasure (the rules themselves: tests/test_trust_rules.py)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import services as services_module
from chalicelib.clock import fixed_clock
from chalicelib.domain.trust import published_from
from tests.alerting import post, resident, spot, square
from tests.conftest import bearer, settle_streams


class Hood:
    """A team with a named area. Ratings and answers are given now; `trust()` reads the figures as
    they are published once the months of its range have ended and settled (the API with a clock
    at the last month's `published_from`), `trust(settled=False)` as they are now."""

    def __init__(self, client: Any, staff_token: Any, services_override: Any) -> None:
        self.client = client
        self.team = f"t-{uuid.uuid4().hex[:10]}"
        self.area = str(uuid.uuid4())
        self.admin = staff_token("admin", team=None)
        lat, lon = spot()
        assert client.http.put(f"/v1/areas/{self.area}", headers=bearer(self.admin), body=json.dumps(
            {"name": "Castle Ward", "team": self.team, "geometry": square(lat, lon)})).status_code == 201
        self.officer = staff_token("officer", team=self.team)
        self.analyst = staff_token("analyst", team=None)
        self.staff_token = staff_token
        today = datetime.now(UTC).date()
        self.range = {"from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
        live = services_module.services()
        self.settled = services_override(clock=fixed_clock(published_from(self.range["to"][:7])))
        services_module.use_services(live)

    def follower(self) -> tuple[str, str]:
        return resident(self.client, [{"area_id": self.area}])

    def answered_conversation(self, token: str) -> str:
        conv = {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music", "area_id": self.area}
        assert post(self.client, "/v1/conversations", token, conv).status_code == 201
        answer = {"id": str(uuid.uuid4()), "text": "We will call round tonight."}
        assert post(self.client, f"/v1/conversations/{conv['id']}/messages", self.officer, answer).status_code == 201
        return conv["id"]

    def trust(self, token: str | None = None, settled: bool = True, **params: str) -> Any:
        query = {**self.range, "group_by": "month", "purpose": "trust figures test", "team": self.team, **params}
        path = "/v1/history/trust?" + "&".join(f"{k}={v}" for k, v in query.items())
        live = services_module.services()
        if settled:
            services_module.use_services(self.settled)
        try:
            return self.client.http.get(path, headers=bearer(token or self.analyst))
        finally:
            services_module.use_services(live)


@pytest.fixture
def hood(client: Any, staff_token: Any, services_override: Any) -> Hood:
    return Hood(client, staff_token, services_override)


def _team_bucket(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    [team] = [b for b in response.json_body["buckets"] if b["area_id"] is None]
    return team


def test_a_rating_lands_once_per_team_answer(client, hood):
    _, token = hood.follower()
    conv = {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music", "area_id": hood.area}
    assert post(client, "/v1/conversations", token, conv).status_code == 201
    path = f"/v1/conversations/{conv['id']}/rating"
    early = post(client, path, token, {"answered": "yes", "satisfaction": 5})
    assert early.status_code == 422 and early.headers["Content-Type"] == "application/problem+json"
    assert post(client, f"/v1/conversations/{conv['id']}/messages", hood.officer,
                {"id": str(uuid.uuid4()), "text": "On it"}).status_code == 201
    rated = post(client, path, token, {"answered": "partly", "satisfaction": 3})
    assert rated.status_code == 201, rated.body
    assert (rated.json_body["answered"], rated.json_body["satisfaction"]) == ("partly", 3)
    assert rated.json_body["target"].startswith("answer:")
    assert post(client, path, token, {"answered": "yes", "satisfaction": 5}).status_code == 409
    for bad in ({"answered": "maybe", "satisfaction": 3}, {"answered": "yes", "satisfaction": 6},
                {"answered": "yes"}, {"answered": "yes", "satisfaction": 3, "who": "me"}):
        refused = post(client, path, token, bad)
        assert refused.status_code == 400, (bad, refused.body)
    _, other = hood.follower()
    assert post(client, path, other, {"answered": "no", "satisfaction": 1}).status_code == 404
    assert post(client, path, hood.officer, {"answered": "no", "satisfaction": 1}).status_code == 403
    team = _team_bucket(hood.trust())
    assert team["answered"] == {"withheld": True, "n": None, "counts": None, "shares": None, "favourable": None}


def test_ten_ratings_show_counts_and_wilson_intervals_fewer_are_withheld(client, hood):
    for index in range(10):
        _, token = hood.follower()
        conv = hood.answered_conversation(token)
        verdict = {"answered": "yes" if index < 7 else "no", "satisfaction": 5 if index < 4 else 2}
        assert post(client, f"/v1/conversations/{conv}/rating", token, verdict).status_code == 201
        if index == 8:
            assert _team_bucket(hood.trust())["answered"]["withheld"] is True
    team = _team_bucket(hood.trust())
    answered = team["answered"]
    assert (answered["n"], answered["counts"]) == (10, {"yes": 7, "partly": 0, "no": 3})
    # statsmodels proportion_confint(7, 10, method="wilson") = (0.396768, 0.892208)
    assert answered["favourable"] == {"share": 0.7, "low": 0.3968, "high": 0.8922}
    assert answered["shares"]["no"] == {"share": 0.3, "low": 0.1078, "high": 0.6032}
    assert team["satisfaction"]["counts"] == {"1": 0, "2": 6, "3": 0, "4": 0, "5": 4}
    assert team["confidence"]["withheld"] is True
    [area] = [b for b in hood.trust().json_body["buckets"] if b["area_id"] == hood.area]
    assert area["answered"]["n"] == 10  # every rating was in the area: nothing left to subtract
    # now, before this month has ended and settled: no bucket of it, only the month and when it is published
    this_month = datetime.now(UTC).strftime("%Y-%m")
    live = hood.trust(settled=False)
    assert live.status_code == 200 and this_month not in {b["period"] for b in live.json_body["buckets"]}
    waiting = {m["period"]: m for m in live.json_body["unpublished"]}
    assert waiting[this_month]["reason"] == "in_progress"
    assert waiting[this_month]["published_from"] == published_from(this_month).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert live.json_body["published_through"] < this_month
    assert hood.trust().json_body["unpublished"] == []
    # a leader reads the figures; an officer does not; a supervisor only their own team
    assert hood.trust(hood.staff_token("leader", team=None)).status_code == 200
    assert hood.trust(hood.officer).status_code == 403
    assert hood.trust(hood.staff_token("supervisor", team=hood.team)).status_code == 200
    assert hood.trust(hood.staff_token("supervisor", team="elsewhere")).status_code == 403
    assert hood.trust(purpose="").status_code == 400
    # published by calendar month only: a week or day beside the month could single out a few answers
    for grain in ("day", "week"):
        refused = hood.trust(group_by=grain)
        assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
        assert "calendar month only" in refused.json_body["detail"], refused.body
        assert refused.json_body["errors"] == [{"field": "group_by", "message": "must be month"}]
    assert hood.trust(group_by="year").status_code == 400


def test_erasure_leaves_counts_and_nothing_that_names_the_resident(client, hood):
    subscriber_id, token = hood.follower()
    conv = hood.answered_conversation(token)
    assert post(client, f"/v1/conversations/{conv}/rating", token, {"answered": "yes", "satisfaction": 4}).status_code == 201
    pulse = {"id": str(uuid.uuid4()), "question": "police_good_job", "areas": [hood.area]}
    assert post(client, "/v1/pulses", hood.admin, pulse).status_code == 201
    assert post(client, f"/v1/pulses/{pulse['id']}/answers", token, {"answer": "fair"}).status_code == 201

    from chalicelib.store.models import NeighbourhoodModel, StatCounterModel

    assert len(list(NeighbourhoodModel.by_subscriber.query(subscriber_id))) == 2  # the rating, the sent mark
    assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 204
    assert list(NeighbourhoodModel.by_subscriber.query(subscriber_id)) == []
    assert list(NeighbourhoodModel.query(f"rating#{conv}")) == []
    assert list(NeighbourhoodModel.query(f"pulse#{pulse['id']}", NeighbourhoodModel.sk.startswith("sent#"))) == []
    settle_streams()  # the rating's insert counts (its stream record outlives the item), its deletion nothing
    counted = sum(int(r.contacts or 0) for r in StatCounterModel.query(f"trust|team:{hood.team}|month"))
    assert counted == 3  # answered, satisfaction, confidence: the counts stay
