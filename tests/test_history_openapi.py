"""The history routes appear in the generated OpenAPI document with their query parameters."""

from openapi_spec_validator import validate


def test_history_routes_documented(client):
    document = client.http.get("/v1/openapi.json").json_body
    validate(document)
    contacts = document["paths"]["/v1/history/contacts"]["get"]
    params = {p["name"]: p for p in contacts["parameters"]}
    assert {"from", "to", "area_id", "team", "kind", "platform", "topic", "cursor", "limit", "purpose"} <= set(params)
    assert params["purpose"]["required"] and params["from"]["required"] and params["to"]["required"]
    assert "text/csv" in document["paths"]["/v1/history/contacts.csv"]["get"]["responses"]["200"]["content"]
    stats = {p["name"] for p in document["paths"]["/v1/history/stats"]["get"]["parameters"]}
    assert {"from", "to", "group_by", "by", "purpose"} <= stats
    assert document["paths"]["/v1/audit"]["get"]["x-roles"] == ["admin"]
    assert document["paths"]["/v1/history/alerts"]["get"]["x-roles"] == ["admin", "analyst", "leader"]
    # Leaders: figures only, never rows (issue 21).
    assert "leader" not in document["paths"]["/v1/history/contacts"]["get"]["x-roles"]
    assert "leader" not in document["paths"]["/v1/history/contacts.csv"]["get"]["x-roles"]
    assert "leader" in document["paths"]["/v1/history/engagement"]["get"]["x-roles"]
