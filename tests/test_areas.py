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


HOSTILE_NAMES = [
    '<meta http-equiv=refresh content="0;url=/v1/health?x"><a href=//evil.example>Log in</a>',
    "<img src=x onerror=alert(1)>",
    "Canal ward<script>alert(1)</script>",
    "Canal \" onmouseover=\"alert(1)",
    "Canal &lt;b&gt; ward",
    "Canal ward `id`",
    "Canal\u0000ward",
    "Canal\nward",
    "Canal\u202eward",  # right-to-left override
    "Canal\u200bward",  # zero-width space
    " Canal ward",
    "Canal ward ",
    "-",
    "x" * 101,
    "",
]
FINE_NAMES = ["Ynys Môn", "Tŷ Gwyn", "Tw\u0302r", "Llanfair-ym-Muallt", "Pen-y-ffordd (North)", "St. John\u2019s & Abbey",
              "O'Brien Park", "Łódź 2", "Gwynedd/Anglesey", "Beat 7", "Côte-d'Or, Zürich", "x" * 100]


def test_area_names_outside_the_character_rule_are_400_naming_the_field(client, staff_token, team):
    admin = staff_token("admin")
    for name in HOSTILE_NAMES:
        area_id = str(uuid.uuid4())
        response = put_area(client, admin, area_id, {"name": name, "team": team, "geometry": SQUARE})
        assert response.status_code == 400, (name, response.body)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert [e["field"] for e in response.json_body["errors"]] == ["name"], name
        assert "regex" not in response.json_body["errors"][0]["message"]  # said in words, not as a regex
        assert client.http.get(f"/v1/areas/{area_id}").status_code == 404  # nothing written


def test_names_in_welsh_and_with_accents_and_punctuation_are_accepted(client, staff_token, team):
    admin = staff_token("admin")
    for name in FINE_NAMES:
        area_id = str(uuid.uuid4())
        response = put_area(client, admin, area_id, {"name": name, "team": team, "geometry": SQUARE})
        assert response.status_code == 201, (name, response.body)
        assert client.http.get(f"/v1/areas/{area_id}").json_body["name"] == name


def test_the_name_rule_is_in_the_openapi_document_and_reads_the_same_in_javascript(client):
    import re

    from chalicelib.domain.names import NAME_PATTERN

    schemas = client.http.get("/v1/openapi.json").json_body["components"]["schemas"]
    name = schemas["AreaIn"]["properties"]["name"]
    assert name["pattern"] == NAME_PATTERN and name["maxLength"] == 100
    assert re.fullmatch(r"[\^\[\]\(\)\?:\*\$A-Za-z0-9 '\u2019\\.,&/\u00c0-\u1eff-]+", NAME_PATTERN)  # no \w, \s, \p classes
