import json
import uuid

from tests.conftest import bearer

SQUARE = {"type": "Polygon", "coordinates": [[[-0.13, 51.50], [-0.11, 51.50], [-0.11, 51.52], [-0.13, 51.52], [-0.13, 51.50]]]}


def put_area(client, token, area_id, body):
    return client.http.put(f"/v1/areas/{area_id}", headers=bearer(token), body=json.dumps(body))


def test_admin_creates_replaces_and_public_reads(client, staff_token, team):
    admin = staff_token("admin")
    area_id = str(uuid.uuid4())
    created = put_area(client, admin, area_id, {"name": "Central", "team": team, "geometry": SQUARE})
    assert created.status_code == 201, created.body
    replaced = put_area(client, admin, area_id, {"name": "Central West", "team": team, "geometry": SQUARE})
    assert replaced.status_code == 200
    got = client.http.get(f"/v1/areas/{area_id}")
    assert got.status_code == 200
    assert got.json_body["name"] == "Central West"
    assert got.json_body["geometry"] == SQUARE
    listed = client.http.get("/v1/areas?limit=100")
    assert area_id in [a["id"] for a in listed.json_body["items"]]


def test_only_admin_may_write(client, staff_token, team):
    body = {"name": "X", "team": team, "geometry": SQUARE}
    assert put_area(client, staff_token("supervisor"), str(uuid.uuid4()), body).status_code == 403
    assert client.http.put(f"/v1/areas/{uuid.uuid4()}", body=json.dumps(body),
                           headers={"Content-Type": "application/json"}).status_code == 401


def test_invalid_shapes_are_400_with_reason(client, staff_token, team):
    admin = staff_token("admin")
    open_ring = {"type": "Polygon", "coordinates": [[[-0.13, 51.50], [-0.11, 51.50], [-0.11, 51.52], [-0.13, 51.52]]]}
    huge = {"type": "Polygon", "coordinates": [[[-3, 50], [1, 50], [1, 53], [-3, 53], [-3, 50]]]}
    not_closed = {"type": "Polygon", "coordinates": [[[-0.13, 51.50], [-0.11, 51.50], [-0.11, 51.52], [-0.13, 51.52], [-0.12, 51.50]]]}
    for geometry, field in ((open_ring, "geometry.coordinates"), (huge, "geometry"), (not_closed, "geometry.coordinates[0]")):
        area_id = str(uuid.uuid4())
        response = put_area(client, admin, area_id, {"name": "Bad", "team": team, "geometry": geometry})
        assert response.status_code == 400, response.body
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json_body["errors"][0]["field"].startswith(field)
        assert client.http.get(f"/v1/areas/{area_id}").status_code == 404


def test_unknown_or_malformed_area_id_is_404(client):
    assert client.http.get(f"/v1/areas/{uuid.uuid4()}").status_code == 404
    assert client.http.get("/v1/areas/not-a-uuid").status_code == 404


def test_cell_index_tags_points_inside(client, staff_token, team):
    from chalicelib.domain.geo import contact_cell
    from chalicelib.store import areas as area_store

    area_id = str(uuid.uuid4())
    assert put_area(client, staff_token("admin"), area_id, {"name": "Idx", "team": team, "geometry": SQUARE}).status_code in (200, 201)
    area_store.invalidate_index()
    inside = area_store.area_for_cell(contact_cell(51.51, -0.12))
    outside = area_store.area_for_cell(contact_cell(51.60, -0.12))
    assert inside is not None  # the lowest id among overlapping test areas
    assert outside is None or outside != area_id
