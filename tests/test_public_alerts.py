"""Public outputs: point lookup (exact containment) and the PublicAlert the CAP/Atom renderers take."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import feedparser

from tests.alerting import circle, post, publish, spot, square, update_published
from tests.conftest import bearer
from tests.test_cap import NS, validated

HEADLINE = "Burglaries reported on Elm Street"  # tests.alerting.alert_body


def test_point_lookup_is_exact(client, staff_token, team, services_override):
    services_override(channels={})
    lat, lon = spot()
    alert_id = publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team),
                       circle(lat, lon, 200))
    inside = client.http.get(f"/v1/public/alerts?lat={lat + 0.001}&lon={lon}")
    assert alert_id in [a["id"] for a in inside.json_body["items"]]  # (other tests' alerts may cover a random spot too)
    assert inside.json_body["items"][0]["cap_url"].endswith(f"/v1/public/alerts/{alert_id}.cap")
    outside = client.http.get(f"/v1/public/alerts?lat={lat + 0.003}&lon={lon}")  # ~330 m: same cell, outside
    assert alert_id not in [a["id"] for a in outside.json_body["items"]]
    assert client.http.get("/v1/public/alerts?lat=91&lon=0").status_code == 400


def test_public_alert_carries_cap_identifiers_and_references(client, staff_token, team, services_override):
    from chalicelib.context import RequestContext
    from chalicelib.services import services
    from chalicelib.usecases.alerts import public_alert

    services_override(channels={})
    lat, lon = spot()
    supervisor = staff_token("supervisor", team=team)
    alert_id = publish(client, staff_token("officer", team=team), supervisor, square(lat, lon, 0.01),
                       translations={"cy": {"headline": "Pennawd", "description": "Disgrifiad"}})
    ctx = RequestContext(request_id="t", now=datetime.now(UTC))
    first = public_alert(services(), ctx, f"{alert_id}.cap")
    assert first.msg_type == "Alert" and first.identifier == f"beatline-{alert_id}" and first.references == ()
    assert first.sent_at.endswith("Z") and first.expires_at.endswith("Z")  # RFC 3339; cap_time writes CAP's form
    assert [i.language for i in first.infos] == ["en-GB", "cy"]
    assert len(first.polygons) == 1 and first.polygons[0][0] == (lat - 0.01, lon - 0.01)
    update_published(client, supervisor, staff_token("supervisor", team=team), alert_id, {"headline": "Update"})
    post(client, f"/v1/alerts/{alert_id}/cancel", supervisor)
    cancelled = public_alert(services(), ctx, f"{alert_id}.cap")
    assert cancelled.msg_type == "Cancel" and cancelled.identifier == f"beatline-{alert_id}-r2"
    assert [r[0] for r in cancelled.references] == [f"beatline-{alert_id}", f"beatline-{alert_id}-r1"]
    assert all(r[1].endswith("Z") for r in cancelled.references)
    for bad in (f"{alert_id}.xml", f"{uuid.uuid4()}.cap", "x.cap"):
        assert client.http.get(f"/v1/public/alerts/{bad}").status_code == 404


def test_public_cap_and_atom_over_http_through_the_lifecycle(client, staff_token, team, services_override):
    """The served documents, not just the renderer: every CAP document of an alert's life validates
    against the OASIS schema; the Atom feed parses cleanly and, once the alert is cancelled, keeps its
    Cancel entry (and moves its `updated`) until the alert would have expired, then drops it."""
    services_override(channels={})
    lat, lon = spot()
    supervisor = staff_token("supervisor", team=team)
    admin = staff_token("admin")
    area_id = str(uuid.uuid4())
    assert client.http.put(f"/v1/areas/{area_id}", headers=bearer(admin), body=json.dumps(
        {"name": "Feed test", "team": team, "geometry": square(lat, lon, 0.02)})).status_code == 201
    alert_id = publish(client, staff_token("officer", team=team), supervisor, {"area_id": area_id},
                       translations={"cy": {"headline": "Pennawd", "description": "Disgrifiad"}})

    def cap() -> object:
        response = client.http.get(f"/v1/public/alerts/{alert_id}.cap")
        assert response.status_code == 200, response.body
        assert response.headers["Content-Type"].startswith("application/cap+xml")
        return validated(response.body)

    assert cap().findtext("cap:msgType", namespaces=NS) == "Alert"
    feed = client.http.get(f"/v1/public/feed.atom?area_id={area_id}")
    assert feed.status_code == 200 and feed.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    [entry] = parsed.entries
    assert entry.title == HEADLINE
    assert any(link.get("type") == "application/cap+xml" and link["href"].endswith(f"{alert_id}.cap")
               for link in entry.links)

    update_published(client, supervisor, staff_token("supervisor", team=team), alert_id, {"headline": "Updated"})
    updated = cap()
    assert updated.findtext("cap:msgType", namespaces=NS) == "Update"
    assert updated.findtext("cap:references", namespaces=NS)
    before = feedparser.parse(client.http.get(f"/v1/public/feed.atom?area_id={area_id}").body)
    assert post(client, f"/v1/alerts/{alert_id}/cancel", supervisor).status_code == 200
    cancel = cap()
    assert cancel.findtext("cap:msgType", namespaces=NS) == "Cancel"
    after = feedparser.parse(client.http.get(f"/v1/public/feed.atom?area_id={area_id}").body)
    assert not after.bozo
    [entry] = after.entries
    assert (entry.cap_msgtype, entry.cap_identifier) == ("Cancel", f"beatline-{alert_id}-r2")
    assert entry.updated == cancel.findtext("cap:sent", namespaces=NS).replace("-00:00", "Z")
    assert after.feed.updated == entry.updated >= before.feed.updated
    assert alert_id not in [a["id"] for a in client.http.get(f"/v1/public/alerts?lat={lat}&lon={lon}").json_body["items"]]

    expires = datetime.fromisoformat(cancel.findtext("cap:info/cap:expires", namespaces=NS))
    services_override(channels={}, clock=lambda: expires + timedelta(seconds=1))
    gone = feedparser.parse(client.http.get(f"/v1/public/feed.atom?area_id={area_id}").body)
    assert not gone.bozo and gone.entries == []
