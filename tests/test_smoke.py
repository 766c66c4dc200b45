import json

from tests.conftest import bearer


def test_health(client):
    response = client.http.get("/v1/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "store": "ok"}


def test_create_contact(client, staff_token):
    import uuid
    body = {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": "2026-11-28T09:30:00Z",
            "topic": "burglary", "outcome": "advice_given", "location": {"lat": 51.5, "lon": -0.12},
            "setting": "patrol"}
    r = client.http.post("/v1/contacts", headers=bearer(staff_token("officer")), body=json.dumps(body))
    print(r.body)
    assert r.status_code == 201
