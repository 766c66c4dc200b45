"""Every residents'/alerts route for every role: anonymous, resident A/B, officer X/Y,
supervisor X/Y, analyst, admin. Fresh records per row, so state-changing rows don't interfere."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.alerting import circle, draft, publish, resident, spot, square

ROLES = ("anonymous", "resident_a", "resident_b", "officer_x", "officer_y", "supervisor_x", "supervisor_y",
         "analyst", "admin")


@dataclass
class World:
    tokens: dict[str, str | None]
    draft_id: str
    alert_id: str
    lat: float
    lon: float


@pytest.fixture
def world(client, staff_token, services_override) -> World:
    services_override(channels={})
    lat, lon = spot()
    x, y = f"x-{uuid.uuid4().hex[:8]}", f"y-{uuid.uuid4().hex[:8]}"
    officer_x = staff_token("officer", team=x)
    _, resident_a = resident(client, [circle(lat, lon, 300)])
    _, resident_b = resident(client, [circle(lat + 0.3, lon, 300)])
    tokens = {
        "anonymous": None, "resident_a": resident_a, "resident_b": resident_b, "officer_x": officer_x,
        "officer_y": staff_token("officer", team=y), "supervisor_x": staff_token("supervisor", team=x),
        "supervisor_y": staff_token("supervisor", team=y), "analyst": staff_token("analyst", team=None),
        "admin": staff_token("admin", team=None),
    }
    alert_id = publish(client, officer_x, staff_token("supervisor", team=x), square(lat, lon, 0.01))
    draft_id = draft(client, officer_x, square(lat, lon)).json_body["id"]
    return World(tokens=tokens, draft_id=draft_id, alert_id=alert_id, lat=lat, lon=lon)


def headers(token: str | None) -> dict[str, str]:
    base = {"Content-Type": "application/json"}
    return {**base, "Authorization": f"Bearer {token}"} if token else base


def call(client, world: World, method: str, path: str, token: str | None, body: Any = None) -> int:
    path = path.format(alert=world.alert_id, draft=world.draft_id, lat=world.lat, lon=world.lon, uuid=uuid.uuid4())
    kwargs: dict[str, Any] = {"headers": headers(token)}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    return getattr(client.http, method.lower())(path, **kwargs).status_code


STAFF_DENIED = {"analyst": 403, "admin": 403}
RESIDENTS_DENIED = {"resident_a": 403, "resident_b": 403}
TEAM_ONLY = {"officer_y": 404, "supervisor_y": 404}
ALERT_BODY = {"headline": "h", "description": "d", "category": "Safety", "severity": "Minor", "urgency": "Future",
              "certainty": "Possible", "area": {"type": "Circle", "center": {"lat": 51.5, "lon": -0.1}, "radius_m": 500},
              "expires_at": "2099-01-01T00:00:00Z"}

# (method, path, body, {role: status}); roles not listed get `default`.
MATRIX: list[tuple[str, str, Any, dict[str, int], int]] = [
    ("POST", "/v1/subscribers", {"channel": {"type": "inbox"}}, {}, 201),
    ("GET", "/v1/subscribers/me", None, {"resident_a": 200, "resident_b": 200, "anonymous": 401}, 403),
    ("PATCH", "/v1/subscribers/me", {"language": "cy"}, {"resident_a": 200, "resident_b": 200, "anonymous": 401}, 403),
    ("PUT", "/v1/subscribers/me/areas", {"areas": [{"type": "Circle", "center": {"lat": 51.5, "lon": -0.1}, "radius_m": 300}]},
     {"resident_a": 200, "resident_b": 200, "anonymous": 401}, 403),
    ("GET", "/v1/subscribers/me/inbox", None, {"resident_a": 200, "resident_b": 200, "anonymous": 401}, 403),
    ("DELETE", "/v1/subscribers/me", None, {"resident_a": 204, "resident_b": 204, "anonymous": 401}, 403),
    ("POST", "/v1/alerts", "soon", {"officer_x": 201, "officer_y": 201, "supervisor_x": 201, "supervisor_y": 201,
                                    "anonymous": 401}, 403),
    ("GET", "/v1/alerts", None, {"officer_x": 200, "officer_y": 200, "supervisor_x": 200, "supervisor_y": 200,
                                 "anonymous": 401}, 403),
    ("GET", "/v1/alerts/{alert}", None, {"officer_x": 200, "supervisor_x": 200, **TEAM_ONLY, "anonymous": 401}, 403),
    ("POST", "/v1/alerts/{draft}/approve", None, {"supervisor_x": 200, "supervisor_y": 404, "anonymous": 401}, 403),
    ("POST", "/v1/alerts/{alert}/update", {"headline": "new"}, {"supervisor_x": 200, "supervisor_y": 404, "anonymous": 401}, 403),
    ("POST", "/v1/alerts/{alert}/cancel", None, {"supervisor_x": 200, "supervisor_y": 404, "anonymous": 401}, 403),
    ("POST", "/v1/alerts/{alert}/read", None, {"resident_a": 200, "resident_b": 404, "anonymous": 401}, 403),
    ("POST", "/v1/alerts/{alert}/responses", {"message": "thanks"}, {"resident_a": 201, "resident_b": 404, "anonymous": 401}, 403),
    ("GET", "/v1/public/alerts?lat={lat}&lon={lon}", None, {}, 200),
    ("GET", "/v1/public/alerts/{uuid}.cap", None, {}, 404),
    ("GET", "/v1/public/alerts/not-a-document", None, {}, 404),
    ("GET", "/v1/public/feed.atom?area_id={uuid}", None, {}, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "expected", "default"), MATRIX,
                         ids=[f"{m} {p}" for m, p, *_ in MATRIX])
def test_route_by_role(client, world, method, path, body, expected, default):
    from datetime import UTC, datetime, timedelta

    if body == "soon":
        body = {**ALERT_BODY, "expires_at": (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    got = {}
    for role in ROLES:
        got[role] = call(client, world, method, path, world.tokens[role], body)
    want = {role: expected.get(role, default) for role in ROLES}
    assert got == want


def test_every_new_route_is_in_the_matrix(app):
    from chalicelib.api.framework import OPERATIONS

    covered = {(m, p.split("?")[0].replace("{alert}", "{id}").replace("{draft}", "{id}")
                .replace("{uuid}.cap", "{file}").replace("not-a-document", "{file}")) for m, p, *_ in MATRIX}
    ours = {(op.method, op.path) for op in OPERATIONS
            if op.path.startswith(("/v1/subscribers", "/v1/alerts", "/v1/public"))}
    assert ours <= covered, ours - covered

