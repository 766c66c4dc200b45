"""POST /v1/contacts/batch: offline sync, one result per item, one bad item never blocks the rest."""

from __future__ import annotations

import json

from tests.support import (
    EMPTY_FOOTPRINT,
    access_entries,
    contact_exists,
    error_fields,
    footprint,
    nonzero,
    online,
    post,
    problem,
    recount,
    street,
    team_contacts,
    team_counters,
)


def test_mixed_batch_answers_each_item_in_order(client, staff_token, team):
    actor = f"pc-batch-{team}"
    token = staff_token("officer", sub=actor, team=team)
    existing = street()
    assert post(client, token, "/v1/contacts", existing).status_code == 201
    good_street, good_online = street(), online()
    bad_lat = street(location={"lat": 123.0, "lon": 0.0})
    bad_topic = online(topic="gossip")
    conflicting = {**existing, "topic": "drugs"}
    duplicate_same = dict(good_street)
    duplicate_other = {**good_online, "outcome": "referred"}
    items = [
        good_street,      # 0 201
        good_online,      # 1 201
        bad_lat,          # 2 400 contacts[2].location.lat
        existing,         # 3 200 retry of an earlier create
        conflicting,      # 4 409
        bad_topic,        # 5 400 contacts[5].topic
        duplicate_same,   # 6 200 duplicate inside the batch
        duplicate_other,  # 7 409 same id as item 1, other content
        {"kind": "street"},  # 8 400, no id
        "not an object",  # 9 400
    ]
    response = post(client, token, "/v1/contacts/batch", {"contacts": items})
    assert response.status_code == 200, response.body
    results = response.json_body["results"]
    assert [r["status"] for r in results] == [201, 201, 400, 200, 409, 400, 200, 409, 400, 400]
    assert [r["id"] for r in results[:8]] == [i["id"] for i in items[:8]]
    assert results[8]["id"] is None and results[9]["id"] is None
    assert [e["field"] for e in results[2]["errors"]] == ["contacts[2].location.lat"]
    assert [e["field"] for e in results[5]["errors"]] == ["contacts[5].topic"]
    assert "errors" not in results[0] and "errors" not in results[3]
    assert results[8]["errors"][0]["field"].startswith("contacts[8]")
    assert results[9]["errors"][0]["field"].startswith("contacts[9]")
    assert contact_exists(good_street["id"]) and contact_exists(good_online["id"])
    assert not contact_exists(bad_lat["id"]) and not contact_exists(bad_topic["id"])
    assert len(team_contacts(team)) == 3
    assert nonzero(team_counters(team)) == recount(team)
    creates = [e for e in access_entries(actor) if e.action == "contact.create"]
    assert sorted(e.record_id for e in creates) == sorted([existing["id"], good_street["id"], good_online["id"]])


def test_batch_item_with_bad_time_rule_is_a_400_result(client, staff_token, team):
    token = staff_token("officer", team=team)
    items = [street(occurred_at="2000-01-01T00:00:00Z"), street()]
    results = post(client, token, "/v1/contacts/batch", {"contacts": items}).json_body["results"]
    assert [r["status"] for r in results] == [400, 201]
    assert results[0]["errors"][0]["field"] == "contacts[0].occurred_at"


def test_resending_a_whole_batch_is_all_200_and_counts_once(client, staff_token, team):
    actor = f"pc-resend-{team}"
    token = staff_token("officer", sub=actor, team=team)
    items = [street() for _ in range(5)] + [online() for _ in range(5)]
    first = post(client, token, "/v1/contacts/batch", {"contacts": items}).json_body["results"]
    assert {r["status"] for r in first} == {201}
    before = footprint(team, actor, [i["id"] for i in items])
    second = post(client, token, "/v1/contacts/batch", {"contacts": items}).json_body["results"]
    assert [r["status"] for r in second] == [200] * 10
    assert footprint(team, actor, [i["id"] for i in items]) == before
    assert nonzero(team_counters(team)) == recount(team)
    assert nonzero(team_counters(team))[("force|team", f"{items[0]['occurred_at'][:10]}|{team}")] == 10


def test_batch_of_100_is_accepted(client, staff_token, team):
    token = staff_token("officer", team=team)
    items = [street(notes=None) for _ in range(100)]
    response = post(client, token, "/v1/contacts/batch", {"contacts": items})
    assert response.status_code == 200
    assert [r["status"] for r in response.json_body["results"]] == [201] * 100
    assert nonzero(team_counters(team)) == recount(team)


def test_batch_over_100_items_is_400_and_writes_nothing(client, staff_token, team):
    actor = f"pc-101-{team}"
    items = [street(notes=None) for _ in range(101)]
    response = post(client, staff_token("officer", sub=actor, team=team), "/v1/contacts/batch", {"contacts": items})
    assert response.status_code == 400
    assert error_fields(response) == ["contacts"]
    assert footprint(team, actor, [i["id"] for i in items]) == EMPTY_FOOTPRINT


def test_empty_batch_is_400(client, staff_token, team):
    response = post(client, staff_token("officer", team=team), "/v1/contacts/batch", {"contacts": []})
    assert response.status_code == 400
    assert error_fields(response) == ["contacts"]


def test_batch_unknown_top_level_field_is_400(client, staff_token, team):
    response = post(client, staff_token("officer", team=team), "/v1/contacts/batch", {"contacts": [street()], "x": 1})
    assert response.status_code == 400
    assert error_fields(response) == ["x"]


def test_batch_body_over_1_mib_is_413_and_writes_nothing(client, staff_token, team):
    from chalicelib.settings import SETTINGS

    actor = f"pc-bigbatch-{team}"
    items = [street(notes="n" * 500) for _ in range(50)]
    items[0]["padding"] = "p" * SETTINGS.max_batch_body_bytes
    raw = json.dumps({"contacts": items})
    assert len(raw) > SETTINGS.max_batch_body_bytes == 1024 * 1024
    response = post(client, staff_token("officer", sub=actor, team=team), "/v1/contacts/batch", raw, raw=True)
    assert response.status_code == 413
    problem(response)
    assert footprint(team, actor, [i["id"] for i in items]) == EMPTY_FOOTPRINT


def test_batch_item_over_16_kib_is_a_400_result_not_a_413(client, staff_token, team):
    token = staff_token("officer", team=team)
    big = street()
    big["notes"] = "x" * 17000  # too long twice over: the item limit answers first
    results = post(client, token, "/v1/contacts/batch", {"contacts": [big, street()]}).json_body["results"]
    assert [r["status"] for r in results] == [400, 201]
    assert not contact_exists(big["id"])


def test_batch_needs_a_team_and_a_logging_role(client, staff_token, team):
    assert post(client, staff_token("officer", team=None), "/v1/contacts/batch", {"contacts": [street()]}).status_code == 403
    assert post(client, staff_token("analyst", team=team), "/v1/contacts/batch", {"contacts": [street()]}).status_code == 403
