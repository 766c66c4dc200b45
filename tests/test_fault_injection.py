"""Each write path under store faults: throttles and timeouts are retried by botocore with backoff;
when they persist the API answers 503 + Retry-After and the tables hold the whole write or none."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import bearer
from tests.faults import store_fault
from tests.support import nonzero, patch, post, recount, street, team_contacts, team_counters

ATTEMPTS = 4  # PynamoDB max_retry_attempts=3 -> botocore total_max_attempts=4


def assert_503(response) -> None:
    assert response.status_code == 503, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("kind", ["throttle", "timeout"])
def test_create_is_retried_through_transient_faults(client, staff_token, team, kind):
    token = staff_token("officer", team=team)
    body = street()
    with store_fault("TransactWriteItems", kind, times=2) as faults:
        response = post(client, token, "/v1/contacts", body)
    assert response.status_code == 201, response.body
    assert len(faults.attempts) == 2  # two failures absorbed by retries, the third send landed
    assert [c.id for c in team_contacts(team)] == [body["id"]]
    assert nonzero(team_counters(team)) == recount(team)


@pytest.mark.parametrize("kind", ["throttle", "timeout"])
def test_create_under_persistent_faults_is_503_and_all_or_nothing(client, staff_token, team, kind):
    token = staff_token("officer", team=team)
    body = street()
    with store_fault("TransactWriteItems", kind) as faults:
        assert_503(post(client, token, "/v1/contacts", body))
    assert len(faults.attempts) == ATTEMPTS
    assert team_contacts(team) == []
    assert nonzero(team_counters(team)) == {}
    assert post(client, token, "/v1/contacts", body).status_code == 201  # the client's retry lands once
    assert nonzero(team_counters(team)) == recount(team)


def test_amend_under_persistent_faults_changes_nothing(client, staff_token, team):
    token = staff_token("officer", team=team)
    body = street()
    assert post(client, token, "/v1/contacts", body).status_code == 201
    counters_before = nonzero(team_counters(team))
    with store_fault("TransactWriteItems", "throttle") as faults:
        assert_503(patch(client, token, body["id"], {"version": 1, "topic": "drugs"}))
    assert len(faults.attempts) == ATTEMPTS
    [stored] = team_contacts(team)
    assert (stored.version, stored.topic) == (1, "burglary")
    assert nonzero(team_counters(team)) == counters_before == recount(team)


def test_area_put_under_persistent_faults_is_503_and_not_stored(client, staff_token, team):
    area_id = str(uuid.uuid4())
    square = {"type": "Polygon", "coordinates": [[[-0.13, 51.5], [-0.11, 51.5], [-0.11, 51.52], [-0.13, 51.52], [-0.13, 51.5]]]}
    with store_fault("PutItem", "timeout"):
        response = client.http.put(f"/v1/areas/{area_id}", headers=bearer(staff_token("admin")),
                                   body=json.dumps({"name": "Faulty", "team": team, "geometry": square}))
    assert_503(response)
    assert client.http.get(f"/v1/areas/{area_id}").status_code == 404
