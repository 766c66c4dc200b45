"""GET /v1/openapi.json: a valid OpenAPI 3.1 document listing every registered route."""

from __future__ import annotations

import re

from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator


def test_document_validates(client):
    response = client.http.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.json_body
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_registered_route_is_documented(client, app):
    from chalicelib.api.framework import METHOD_FALLBACKS
    from chalicelib.api.web import WEB_ROUTES  # the web pages are not API operations

    document = client.http.get("/v1/openapi.json").json_body
    registered = {
        (method.lower(), path)
        for path, methods in app.routes.items()
        for method in methods
        if (method, path) not in METHOD_FALLBACKS  # routes that only answer 405
        and (method, path) not in WEB_ROUTES
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert registered == documented
    assert ("post", "/v1/contacts/batch") in documented


def test_operations_carry_schemas_roles_and_problem_responses(client):
    document = client.http.get("/v1/openapi.json").json_body
    schemas = document["components"]["schemas"]
    create = document["paths"]["/v1/contacts"]["post"]
    assert set(create["responses"]) >= {"200", "201", "400", "401", "403", "409", "413", "503"}
    assert create["x-roles"] == ["officer", "supervisor"]
    assert "application/problem+json" in create["responses"]["400"]["content"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]
    assert "anyOf" in body_ref or "oneOf" in body_ref or "$ref" in body_ref
    street = schemas["StreetContactIn"]
    assert street["additionalProperties"] is False
    assert street["properties"]["notes"]["anyOf"][0]["maxLength"] == 500
    assert street["properties"]["topic"]["enum"]
    batch = document["paths"]["/v1/contacts/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    batch_schema = schemas[batch["$ref"].rsplit("/", 1)[-1]]
    assert batch_schema["properties"]["contacts"]["maxItems"] == 100
    health = document["paths"]["/v1/health"]["get"]
    assert health["security"] == []
    listing = document["paths"]["/v1/contacts"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names == {"from", "to", "kind", "team", "limit", "cursor"}
    for path, item in document["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            for operation in item.values():
                assert any(p["name"] == name and p["in"] == "path" for p in operation["parameters"])
