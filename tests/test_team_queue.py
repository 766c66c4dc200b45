"""The team's queue for the team's app on DynamoDB Local: previews, respond_by, claims (visible,
lapsing, conditional, ended by an answer), release, other teams' 404, erased residents leaving."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import parse_rfc3339
from tests.alerting import RecordingQueue, register
from tests.conftest import bearer
from tests.test_conversations import make_area, start_body


def _post(client: Any, token: str, path: str, body: Any = None) -> Any:
    return client.http.post(path, headers=bearer(token), body=json.dumps(body) if body is not None else "")


def _queue(client: Any, token: str, status: str = "waiting") -> list[dict[str, Any]]:
    response = client.http.get(f"/v1/conversations?status={status}&limit=100", headers=bearer(token))
    assert response.status_code == 200, response.body
    return list(response.json_body["items"])


class Clock:
    """A clock tests move forward (never into the past: DynamoDB Local expires past TTLs)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def queue_world(client, staff_token, team, services_override) -> dict[str, Any]:
    from tests.alerting import spot

    clock = Clock()
    services_override(channels={}, fanout_queue=RecordingQueue(), clock=clock)
    lat, lon = spot()
    area = make_area(client, staff_token, team, lat, lon)
    subs = {name: f"pc-{name}-{uuid.uuid4().hex[:6]}" for name in ("a", "b")}
    return {
        "clock": clock, "area": area, "team": team,
        "officer_a": staff_token("officer", sub=subs["a"], team=team), "subs": subs,
        "officer_b": staff_token("officer", sub=subs["b"], team=team),
        "supervisor": staff_token("supervisor", team=team),
        "other_team": staff_token("officer", team=f"other-{uuid.uuid4().hex[:6]}"),
    }


def _start(client: Any, world: dict[str, Any], text: str = "Loud music every night at no. 4") -> tuple[str, str]:
    _, resident = register(client)
    body = start_body(world["area"], text=text)
    started = _post(client, resident, "/v1/conversations", body)
    assert started.status_code == 201, started.body
    return body["id"], resident


def test_queue_items_carry_preview_respond_by_and_no_staff_id(client, queue_world):
    w = queue_world
    long_text = "Someone has been trying car door handles along Elm Street " * 5
    conv_id, resident = _start(client, w, long_text)
    (item,) = _queue(client, w["officer_a"])
    assert item["id"] == conv_id
    assert item["preview"].startswith("Someone has been trying") and len(item["preview"]) <= 120
    assert item["preview"].endswith("\u2026")
    standard = parse_rfc3339(item["respond_by"]) - parse_rfc3339(item["waiting_since"])
    assert standard == timedelta(hours=72)
    assert (item["claimed_by"], item["claim_expires_at"], item["claimed_by_me"], item["resident_erased"]) == \
        (None, None, False, False)
    # The preview follows the latest message: the resident writes again.
    assert _post(client, resident, f"/v1/conversations/{conv_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "Still going on"}).status_code == 201
    assert _queue(client, w["officer_a"])[0]["preview"] == "Still going on"
    # An answered conversation previews the team's answer, and has no respond_by.
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "We will call round"}).status_code == 201
    (answered,) = _queue(client, w["officer_b"], "answered")
    assert (answered["preview"], answered["respond_by"]) == ("We will call round", None)


def test_a_claim_is_visible_to_the_team_lapses_and_refuses_a_second_officer(client, queue_world):
    w = queue_world
    conv_id, _ = _start(client, w)
    claimed = _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/claim")
    assert claimed.status_code == 200, claimed.body
    mine = claimed.json_body
    assert mine["claimed_by"].startswith("Officer ") and mine["claimed_by_me"] is True
    assert w["subs"]["a"] not in claimed.body.decode()
    assert parse_rfc3339(mine["claim_expires_at"]) == w["clock"].now + timedelta(minutes=30)

    seen_by_b = _queue(client, w["officer_b"])[0]
    assert (seen_by_b["claimed_by"], seen_by_b["claimed_by_me"]) == (mine["claimed_by"], False)
    assert w["subs"]["a"] not in json.dumps(seen_by_b)
    refused = _post(client, w["officer_b"], f"/v1/conversations/{conv_id}/claim")
    assert refused.status_code == 409 and mine["claimed_by"] in refused.json_body["detail"]
    assert _post(client, w["officer_b"], f"/v1/conversations/{conv_id}/release").status_code == 409
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/claim").status_code == 200  # renews

    w["clock"].now += timedelta(minutes=31)  # the claim lapses
    assert _queue(client, w["officer_b"])[0]["claimed_by"] is None
    taken = _post(client, w["officer_b"], f"/v1/conversations/{conv_id}/claim")
    assert taken.status_code == 200 and taken.json_body["claimed_by"] != mine["claimed_by"]


def test_release_by_the_claimer_or_a_supervisor(client, queue_world):
    w = queue_world
    conv_id, _ = _start(client, w)
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/claim").status_code == 200
    released = _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/release")
    assert released.status_code == 200 and released.json_body["claimed_by"] is None
    assert _queue(client, w["officer_b"])[0]["claimed_by"] is None
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/release").status_code == 200  # none held
    assert _post(client, w["officer_b"], f"/v1/conversations/{conv_id}/claim").status_code == 200
    assert _post(client, w["supervisor"], f"/v1/conversations/{conv_id}/release").status_code == 200
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/claim").status_code == 200


def test_answering_ends_the_claim_and_claims_need_a_waiting_conversation(client, queue_world):
    w = queue_world
    conv_id, resident = _start(client, w)
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/claim").status_code == 200
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "On our way"}).status_code == 201
    assert _queue(client, w["officer_b"], "answered")[0]["claimed_by"] is None
    assert _post(client, w["officer_b"], f"/v1/conversations/{conv_id}/claim").status_code == 422
    # The resident writes again: a new wait, nobody holds it.
    assert _post(client, resident, f"/v1/conversations/{conv_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "Thanks"}).status_code == 201
    assert _queue(client, w["officer_b"])[0]["claimed_by"] is None
    assert _post(client, w["officer_b"], f"/v1/conversations/{conv_id}/claim").status_code == 200


def test_other_teams_and_bad_ids_get_404(client, queue_world):
    w = queue_world
    conv_id, resident = _start(client, w)
    for path in (f"/v1/conversations/{conv_id}/claim", f"/v1/conversations/{conv_id}/release",
                 f"/v1/conversations/{uuid.uuid4()}/claim", "/v1/conversations/not-a-uuid/claim"):
        response = _post(client, w["other_team"], path)
        assert response.status_code == 404, (path, response.body)
    assert _post(client, resident, f"/v1/conversations/{conv_id}/claim").status_code == 403
    assert _queue(client, w["officer_a"])[0]["claimed_by"] is None


def test_simultaneous_claims_have_one_winner(client, queue_world):
    w = queue_world
    conv_id, _ = _start(client, w)
    officers = [w["officer_a"], w["officer_b"]]
    statuses: list[int] = []
    barrier = threading.Barrier(len(officers))

    def claim(token: str) -> None:
        barrier.wait()
        statuses.append(_post(client, token, f"/v1/conversations/{conv_id}/claim").status_code)

    threads = [threading.Thread(target=claim, args=(t,)) for t in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]


def test_an_erased_residents_wait_leaves_the_queue(client, queue_world):
    w = queue_world
    conv_id, resident = _start(client, w)
    answered_id, answered_resident = _start(client, w)
    assert _post(client, w["officer_a"], f"/v1/conversations/{answered_id}/messages",
                 {"id": str(uuid.uuid4()), "text": "Noted"}).status_code == 201
    assert [i["id"] for i in _queue(client, w["officer_a"])] == [conv_id]
    for token in (resident, answered_resident):
        assert client.http.delete("/v1/subscribers/me", headers=bearer(token)).status_code == 204
    assert _queue(client, w["officer_a"]) == []
    (answered,) = _queue(client, w["officer_a"], "answered")
    assert answered["resident_erased"] is True and answered["preview"] == "Noted"
    assert _post(client, w["officer_a"], f"/v1/conversations/{conv_id}/claim").status_code == 422
