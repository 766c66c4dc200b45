"""Every bad input gets a 4xx problem+json naming the field, and nothing at all is written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import bearer
from tests.support import EMPTY_FOOTPRINT, error_fields, footprint, iso, online, post, problem, street


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


def _now_plus(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("unknown field", lambda: street(colour="red"), "colour"),
    ("unknown nested field", lambda: street(location={"lat": 51.5, "lon": -0.1, "alt": 3}), "location.alt"),
    ("missing kind", lambda: _without(street(), "kind"), "kind"),
    ("unknown kind", lambda: street(kind="telepathic"), "kind"),
    ("id not a uuid", lambda: street(id="not-a-uuid"), "id"),
    ("missing id", lambda: _without(street(), "id"), "id"),
    ("lat wrong type", lambda: street(location={"lat": "51.5", "lon": -0.1}), "location.lat"),
    ("lat bool", lambda: street(location={"lat": True, "lon": -0.1}), "location.lat"),
    ("lat above 90", lambda: street(location={"lat": 90.0001, "lon": -0.1}), "location.lat"),
    ("lat below -90", lambda: street(location={"lat": -91, "lon": -0.1}), "location.lat"),
    ("lon above 180", lambda: street(location={"lat": 51.5, "lon": 180.5}), "location.lon"),
    ("lon below -180", lambda: street(location={"lat": 51.5, "lon": -181}), "location.lon"),
    ("street without location", lambda: _without(street(), "location"), "location"),
    ("street with a platform", lambda: street(platform="x"), "platform"),
    ("online with a location", lambda: online(location={"lat": 51.5, "lon": 0}), "location"),
    ("occurred_at in the future", lambda: street(occurred_at=_now_plus(minutes=10)), "occurred_at"),
    ("occurred_at too old", lambda: street(occurred_at=_now_plus(days=-31)), "occurred_at"),
    ("occurred_at without offset", lambda: street(occurred_at="2026-11-28T09:30:00"), "occurred_at"),
    ("occurred_at not a time", lambda: street(occurred_at="yesterday"), "occurred_at"),
    ("topic outside the list", lambda: street(topic="parking"), "topic"),
    ("outcome outside the list", lambda: street(outcome="arrested"), "outcome"),
    ("setting outside the list", lambda: street(setting="pub"), "setting"),
    ("platform outside the list", lambda: online(platform="myspace"), "platform"),
    ("platform reserved for the system", lambda: online(platform="beatline"), "platform"),
    ("direction outside the list", lambda: online(direction="sideways"), "direction"),
    ("notes over 500", lambda: street(notes="n" * 501), "notes"),
    ("notes wrong type", lambda: street(notes=42), "notes"),
    ("tags not a list", lambda: street(tags="a,b"), "tags"),
    ("tag with capitals", lambda: street(tags=["Door"]), "tags[0]"),
    ("tag too long", lambda: street(tags=["ok", "t" * 33]), "tags[1]"),
    ("too many tags", lambda: street(tags=[f"t{i}" for i in range(11)]), "tags"),
    ("handle too long", lambda: online(handle="h" * 101), "handle"),
    ("body is a list", lambda: [street()], "(body)"),
]


@pytest.mark.parametrize(("case", "make_body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_contact_is_400_with_field_and_writes_nothing(client, staff_token, team, case, make_body, field):
    actor = f"pc-bad-{team}"
    body = make_body()
    response = post(client, staff_token("officer", sub=actor, team=team), "/v1/contacts", body)
    assert response.status_code == 400, (case, response.body)
    assert field in error_fields(response), (case, response.body)
    ids = [body["id"]] if isinstance(body, dict) and isinstance(body.get("id"), str) else []
    assert footprint(team, actor, ids) == EMPTY_FOOTPRINT


def test_future_within_skew_is_accepted(client, staff_token, team):
    response = post(client, staff_token("officer", team=team), "/v1/contacts", street(occurred_at=_now_plus(minutes=2)))
    assert response.status_code == 201, response.body


def test_notes_of_exactly_500_characters_are_accepted(client, staff_token, team):
    response = post(client, staff_token("officer", team=team), "/v1/contacts", street(notes="é" * 500))
    assert response.status_code == 201, response.body


RAW_BODIES = [
    ("invalid json", b'{"id": ', 400),
    ("trailing garbage", json.dumps(street()).encode() + b"}", 400),
    ("empty body", b"", 400),
    ("not utf-8", json.dumps(street(notes="caf-")).encode().replace(b"caf-", b"caf\xff"), 400),
]


@pytest.mark.parametrize(("case", "raw", "status"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES])
def test_malformed_body_is_400_problem(client, staff_token, team, case, raw, status):
    actor = f"pc-raw-{team}"
    response = client.http.post("/v1/contacts", headers=bearer(staff_token("officer", sub=actor, team=team)), body=raw)
    assert response.status_code == status, response.body
    assert error_fields(response) == ["(body)"]
    assert footprint(team, actor, []) == EMPTY_FOOTPRINT


def test_body_over_16_kib_is_413_and_writes_nothing(client, staff_token, team):
    from chalicelib.settings import SETTINGS

    actor = f"pc-big-{team}"
    body = street(thread_ref="x")
    body["padding"] = " " * SETTINGS.max_body_bytes
    raw = json.dumps(body)
    assert len(raw) > SETTINGS.max_body_bytes == 16 * 1024
    response = post(client, staff_token("officer", sub=actor, team=team), "/v1/contacts", raw, raw=True)
    assert response.status_code == 413
    assert problem(response)["title"] == "Payload too large"
    assert footprint(team, actor, [body["id"]]) == EMPTY_FOOTPRINT


def test_wrong_content_type_is_a_problem_not_a_chalice_error(client, staff_token, team):
    headers = {**bearer(staff_token("officer", team=team)), "Content-Type": "text/plain"}
    response = client.http.post("/v1/contacts", headers=headers, body=json.dumps(street()))
    assert response.status_code == 400
    assert error_fields(response) == ["Content-Type"]


def test_get_with_any_content_type_header_works(client, staff_token, team):
    headers = {**bearer(staff_token("officer", team=team)), "Content-Type": "text/plain"}
    assert client.http.get("/v1/contacts", headers=headers).status_code == 200
    assert client.http.get("/v1/health", headers={"Content-Type": "text/plain"}).status_code == 200


def test_json_content_type_with_charset_is_accepted(client, staff_token, team):
    headers = {**bearer(staff_token("officer", team=team)), "Content-Type": "application/json; charset=utf-8"}
    response = client.http.post("/v1/contacts", headers=headers, body=json.dumps(street()))
    assert response.status_code == 201, response.body


def test_several_problems_each_name_a_field(client, staff_token, team):
    """msgspec stops at the first error; the time rule is checked only after the schema passes."""
    response = post(client, staff_token("officer", team=team), "/v1/contacts", street(topic="nope", occurred_at=_now_plus(days=2)))
    assert response.status_code == 400
    assert error_fields(response) == ["topic"]
