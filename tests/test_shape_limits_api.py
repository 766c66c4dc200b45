"""The three entry points that take shapes (alert drafts, subscriber areas, named areas) refuse every
dodge of the size limits with a 400 naming the ring, before anything is covered or written."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from chalicelib.domain.areas import AreaRecord
from chalicelib.domain.geometry import covering_cells
from chalicelib.domain.shapes import Polygon
from tests.alerting import draft, register, set_areas
from tests.conftest import bearer
from tests.shape_cases import ACCEPTED, INNER, OUTER, REFUSED, box, polygon

SUBSCRIBER_CASES = sorted(n for n, (g, _) in REFUSED.items() if g["type"] in ("Polygon", "Circle"))


class CountingCoverer:
    """The real covering, counted: a refused shape must never reach it."""

    def __init__(self) -> None:
        self.calls: list[set[str]] = []

    def __call__(self, shape: Any, resolution: int) -> set[str]:
        cells = covering_cells(shape, resolution)
        self.calls.append(cells)
        return cells


@pytest.fixture
def coverer(services_override) -> CountingCoverer:
    counting = CountingCoverer()
    services_override(coverer=counting)
    return counting


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json_body["errors"][0]["field"] == field, response.json_body


def team_alert_ids(client: Any, token: str) -> set[str]:
    listed = client.http.get("/v1/alerts?limit=100", headers=bearer(token))
    assert listed.status_code == 200, listed.body
    return {a["id"] for a in listed.json_body["items"]}


def test_alert_drafts_refuse_every_dodge_before_covering(client, staff_token, coverer) -> None:
    officer = staff_token("officer", team=f"shapes-{uuid.uuid4().hex[:8]}")
    for name, (geometry, path) in REFUSED.items():
        assert_refused(draft(client, officer, geometry), "area" + path)
        assert coverer.calls == [], name
    assert team_alert_ids(client, officer) == set()


def test_subscriber_areas_refuse_every_dodge_before_covering(client, coverer) -> None:
    _, token = register(client)
    kept = set_areas(client, token, [ACCEPTED["circle"]])
    assert kept.status_code == 200, kept.body
    covered = len(coverer.calls)
    for name in SUBSCRIBER_CASES:
        geometry, path = REFUSED[name]
        assert_refused(set_areas(client, token, [ACCEPTED["box with a hole"], geometry]), "areas[1]" + path)
        assert len(coverer.calls) == covered, name
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert [a["shape"] for a in me["areas"]] == [ACCEPTED["circle"]]


def test_named_areas_refuse_every_dodge(client, staff_token) -> None:
    admin = staff_token("admin")
    for name, (geometry, path) in REFUSED.items():
        if geometry["type"] == "Circle":
            continue
        area_id = str(uuid.uuid4())
        response = client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin),
                                   body=json.dumps({"name": name[:100], "team": "north", "geometry": geometry}))
        assert_refused(response, "geometry" + path)
        assert client.http.get(f"/v1/areas/{area_id}").status_code == 404


def test_valid_holes_still_work_and_cover_fewer_cells(client, staff_token, coverer) -> None:
    officer = staff_token("officer")
    big = box(-0.4, 51.35, 0.2, 51.65)
    for geometry in (polygon(big), polygon(big, box(-0.3, 51.42, 0.1, 51.58))):
        drafted = draft(client, officer, geometry)
        assert drafted.status_code == 201, drafted.body
    without_hole, with_hole = coverer.calls
    assert with_hole < without_hole
    _, token = register(client)
    assert set_areas(client, token, [ACCEPTED["many tiny holes inside"], ACCEPTED["box with two holes"]]).status_code == 200
    admin = staff_token("admin")
    area_id = str(uuid.uuid4())
    body = {"name": "Lake", "team": "north", "geometry": ACCEPTED["island in a lake"]}
    assert client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin), body=json.dumps(body)).status_code == 201


def test_a_stored_oversized_area_is_refused_before_covering(client, staff_token, coverer) -> None:
    """An area saved before these checks (written here straight to the store) cannot be used to
    make the app cover thousands of cells: referenced by id, it is refused by estimate."""
    from chalicelib.store import areas as area_store

    team = f"legacy-{uuid.uuid4().hex[:8]}"
    legacy = AreaRecord(id=str(uuid.uuid4()), name="Legacy", team=team,
                        geometry=Polygon(coordinates=[box(-3.0, 51.0, 1.0, 52.6)]), updated_at="2026-01-01T00:00:00Z")
    area_store.put(legacy)
    try:
        assert_refused(draft(client, staff_token("officer", team=team), {"area_id": legacy.id}), "area.area_id")
        _, token = register(client)
        assert_refused(set_areas(client, token, [{"area_id": legacy.id}]), "areas[0].area_id")
        assert coverer.calls == []
    finally:  # a 49,000 km² area would cost every later cell-index build ~0.7 s
        from chalicelib.store.models import AreaModel

        AreaModel(area_store.SCOPE, legacy.id).delete()
        area_store.invalidate_index()


def test_oversized_bodies_are_413_and_vertex_limits_400(client, staff_token) -> None:
    """100k vertices never reach the parser (body limit); 1,200 short ones reach the schema's limit."""
    officer, admin = staff_token("officer"), staff_token("admin")
    _, token = register(client)
    huge_ring = [[0.1 + k * 1e-6, 51.1] for k in range(100_000)] + [[0.1, 51.2], [0.1, 51.1]]
    assert draft(client, officer, polygon(huge_ring)).status_code == 413
    over_body = [*huge_ring[:3_000], [0.1, 51.2], [0.1, 51.1]]
    long_ring = [[k % 2, 51] for k in range(1_200)] + [[0, 51]]
    for ring, status in ((over_body, 413), (long_ring, 400)):
        geometry = polygon(ring)
        assert draft(client, officer, geometry).status_code == status
        assert set_areas(client, token, [geometry]).status_code == status
        put = client.http.put(f"/v1/areas/{uuid.uuid4()}", headers=bearer(admin),
                              body=json.dumps({"name": "Long", "team": "north", "geometry": geometry}))
        assert put.status_code == status


def test_a_huge_circle_is_400(client, staff_token) -> None:
    huge = {"type": "Circle", "center": {"lat": 51.5, "lon": -0.1}, "radius_m": 2_000_000}
    response = draft(client, staff_token("officer"), huge)
    assert response.status_code == 400 and response.json_body["errors"][0]["field"].startswith("area")
    _, token = register(client)
    assert set_areas(client, token, [polygon(OUTER, INNER), huge]).json_body["errors"][0]["field"].startswith("areas[1]")


def test_the_openapi_document_states_the_shape_rules(client) -> None:
    from chalicelib.domain.shapes import MAX_BBOX_KM2, SHAPE_RULES

    paths = client.http.get("/v1/openapi.json").json_body["paths"]
    for path, method in (("/v1/alerts", "post"), ("/v1/subscribers/me/areas", "put"), ("/v1/areas/{id}", "put")):
        description = paths[path][method]["description"]
        assert SHAPE_RULES in description and f"{MAX_BBOX_KM2:,.0f} km²" in description
