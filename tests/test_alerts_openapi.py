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
