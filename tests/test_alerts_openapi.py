"""The OpenAPI document stays valid with the residents'/alerts routes (XML and Atom bodies included)."""


def test_openapi_document_is_valid(client):
    from openapi_spec_validator import validate

    response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    validate(response.json_body)
    paths = response.json_body["paths"]
    assert "application/cap+xml" in paths["/v1/public/alerts/{file}"]["get"]["responses"]["200"]["content"]
    assert paths["/v1/subscribers/me/areas"]["put"]["x-roles"] == ["resident"]
    assert paths["/v1/alerts/{id}/approve"]["post"]["x-roles"] == ["supervisor"]


def test_openapi_documents_proposed_updates(client):
    document = client.http.get("/v1/openapi.json").json_body
    paths, schemas = document["paths"], document["components"]["schemas"]
    update = paths["/v1/alerts/{id}/update"]["post"]
    assert set(update["x-roles"]) == {"officer", "supervisor"}
    assert "202" in update["responses"] and "200" not in update["responses"]
    approve = paths["/v1/alerts/{id}/approve"]["post"]
    assert [p["name"] for p in approve["parameters"] if p["in"] == "query"] == ["proposal"]
    assert {"200", "403", "409", "422", "428"} <= set(approve["responses"])
    assert "pending_update" in schemas["AlertOut"]["properties"]
    assert {"id", "proposed_by", "proposed_at", "headline"} <= set(schemas["PendingUpdateOut"]["properties"])
