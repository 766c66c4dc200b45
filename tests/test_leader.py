"""The `leader` role (chief officers, issue 21): force-wide figures, never rows, texts or the
access log (DynamoDB Local, through HTTP; the authorization matrix has every route's column)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from chalicelib.clock import to_rfc3339
from tests.conftest import bearer

PURPOSE = "force performance review"


def test_a_leader_sees_force_wide_figures_and_no_rows(client, staff_token, team):
    now = datetime.now(UTC) - timedelta(minutes=5)
    officer = staff_token("officer", sub=f"pc-{uuid.uuid4().hex[:6]}", team=team, rank="constable")
    body = {"id": str(uuid.uuid4()), "kind": "street", "occurred_at": to_rfc3339(now), "topic": "burglary",
            "outcome": "advice_given", "location": {"lat": 51.5, "lon": -0.12}, "setting": "patrol",
            "notes": "private words"}
    assert client.http.post("/v1/contacts", headers=bearer(officer), body=json.dumps(body)).status_code == 201
    leader = bearer(staff_token("leader", sub="cc-1", team=None, rank="chief_officer"))
    day = now.date().isoformat()
    figures = urlencode({"from": day, "to": day, "purpose": PURPOSE})
    response = client.http.get(f"/v1/history/engagement?{figures}", headers=leader)  # no team: the force
    assert response.status_code == 200, response.body
    (mine,) = [b for b in response.json_body["buckets"] if b["team"] == team]
    assert mine["by_rank"] == {"constable": {"any": 1, "street": 1, "online": 0, "online_outbound": 0}}
    for path in (f"/v1/history/stats?{figures}&by=team", f"/v1/history/conversations?{figures}",
                 f"/v1/history/alerts?{urlencode({'from': to_rfc3339(now - timedelta(days=1)), 'to': to_rfc3339(now), 'purpose': PURPOSE})}"):
        assert client.http.get(path, headers=leader).status_code == 200, path
    window = urlencode({"from": to_rfc3339(now - timedelta(hours=1)), "to": to_rfc3339(now + timedelta(minutes=1)),
                        "purpose": PURPOSE})
    for path in (f"/v1/history/contacts?{window}", f"/v1/history/contacts.csv?{window}", f"/v1/audit?{window}",
                 f"/v1/contacts/{body['id']}", "/v1/contacts", "/v1/conversations?status=waiting"):
        response = client.http.get(path, headers=leader)
        assert response.status_code == 403, (path, response.body)
        assert b"private words" not in response.body
    # The leader's reads are in the access log under their role.
    admin = bearer(staff_token("admin", team=None))
    since = urlencode({"from": to_rfc3339(now), "to": to_rfc3339(now + timedelta(hours=1)), "purpose": PURPOSE,
                       "limit": 100})
    audit = client.http.get(f"/v1/audit?{since}", headers=admin).json_body["items"]
    assert any(entry.get("role") == "leader" and entry.get("action") == "history.engagement" for entry in audit)
