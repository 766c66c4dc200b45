"""GET /v1/history/alerts against the real alerts table: alerts published in the window with the
delivery figures the worker, receipts and responses keep on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from chalicelib.clock import to_rfc3339
from tests.alerting import circle, post, publish, resident, spot, square
from tests.conftest import bearer


def history_alerts(client, token: str, **params) -> dict:
    params.setdefault("purpose", "alert reach review")
    response = client.http.get(f"/v1/history/alerts?{urlencode(params)}", headers=bearer(token))
    assert response.status_code == 200, response.body
    return response.json_body


def test_published_alerts_with_their_figures(client, staff_token, team, services_override):
    services_override(channels={})
    lat, lon = spot()
    _, reader = resident(client, [circle(lat, lon, 300)])
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    started = datetime.now(UTC) - timedelta(seconds=2)
    first = publish(client, officer, supervisor, square(lat, lon, 0.01), headline="Burglaries on Elm Road")
    second = publish(client, officer, supervisor, square(lat, lon, 0.01), headline="Bike thefts")
    assert post(client, f"/v1/alerts/{first}/read", reader).status_code == 200
    assert post(client, f"/v1/alerts/{first}/responses", reader, {"message": "Saw a van"}).status_code == 201
    # A draft never published is not history.
    assert client.http.post("/v1/alerts", headers=bearer(officer), body="{}").status_code == 400

    window = {"from": to_rfc3339(started), "to": to_rfc3339(datetime.now(UTC) + timedelta(seconds=2))}
    analyst = staff_token("analyst")
    items, cursor = [], None
    while True:
        page = history_alerts(client, analyst, limit=1, **window, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    ours = [i for i in items if i["team"] == team]
    assert sorted(i["id"] for i in ours) == sorted([first, second])
    # newest first across pages (whole seconds: alerts of the same second are ordered by id)
    assert [(i["published_at"], i["id"]) for i in ours] == sorted(((i["published_at"], i["id"]) for i in ours), reverse=True)
    by_id = {i["id"]: i for i in ours}
    assert by_id[first]["headline"] == "Burglaries on Elm Road"
    assert (by_id[first]["targeted"], by_id[first]["read"], by_id[first]["responses"]) == (1, 1, 1)
    assert by_id[second]["status"] == "published"

    whole = history_alerts(client, analyst, limit=100, **window)
    assert whole["totals"]["alerts"] == len(whole["items"]) >= 2
    assert whole["totals"]["responses"] >= 1
    assert client.http.get(f"/v1/history/alerts?{urlencode({**window, 'purpose': 'x y z'})}",
                           headers=bearer(supervisor)).status_code == 403
