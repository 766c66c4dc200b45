"""Email end to end against the local SES v2 server (aws-ses-v2-local, tests/conftest.py `ses_local`):
double opt-in, alert emails (parts, language, severity, area, links, RFC 8058 headers), one-click
unsubscribe, and the SES request the adapter builds. Rules: tests/test_contact_channel_rules.py."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from app import email_events
from chalicelib.settings import SETTINGS
from tests.alerting import circle, publish, register, set_areas, spot
from tests.conftest import bearer

JSON = {"Content-Type": "application/json"}
SENDER = "alerts@beatline.test"
BASE = "https://beatline.test"


@pytest.fixture
def email_stage(ses_local, services_override):
    """The app with email on: SES v2 at the local server, a configuration set, a public base URL."""
    settings = dataclasses.replace(SETTINGS, email_from=SENDER, ses_configuration_set="beatline-test",
                                   public_base_url=BASE)
    services_override(settings=settings)
    return ses_local


def address() -> str:
    return f"resident-{uuid.uuid4().hex[:12]}@example.org"


def confirmation_token(ses: Any, to: str) -> str:
    (mail,) = [m for m in ses.emails_to(to) if "/app/confirm?token=" in m["body"]["text"]]
    match = re.search(r"/app/confirm\?token=(\S+)", mail["body"]["text"])
    assert match is not None
    return unquote(match.group(1))


def confirm(client: Any, ses: Any, to: str) -> None:
    response = client.http.post("/v1/subscribers/confirm", headers=JSON,
                                body=json.dumps({"token": confirmation_token(ses, to)}))
    assert response.status_code == 200, response.body


def headers_of(mail: dict[str, Any]) -> dict[str, str]:
    return {h["name"]: h["value"] for h in mail.get("headers") or []}


def email_resident(client: Any, ses: Any, to: str, *, confirmed: bool = True, **prefs: Any) -> tuple[str, dict]:
    lat, lon = spot()
    _, token = register(client, {"type": "email", "address": to}, **prefs)
    area = circle(lat, lon, 300)
    assert set_areas(client, token, [area]).status_code == 200
    if confirmed:
        confirm(client, ses, to)
    return token, area


def test_the_confirmation_email_links_to_the_page_and_only_a_post_confirms(client, email_stage):
    to = address()
    _, token = register(client, {"type": "email", "address": to})
    (mail,) = email_stage.emails_to(to)
    assert mail["from"] == SENDER and mail["subject"] == "Confirm your email address for Beatline alerts"
    assert f"{BASE}/app/confirm?token=" in mail["body"]["text"] and "/app/confirm?token=" in mail["body"]["html"]
    assert "List-Unsubscribe" not in headers_of(mail)
    page = client.http.get("/app/confirm?token=" + confirmation_token(email_stage, to))  # what a scanner does
    assert page.status_code == 200
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert me["contacts"][0]["status"] == "pending"  # fetching the link confirmed nothing
    confirm(client, email_stage, to)
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert me["contacts"][0]["status"] == "confirmed"


def test_an_alert_email_has_both_parts_the_facts_the_link_and_one_click_unsubscribe(client, email_stage, staff_token,
                                                                                   team):
    to = address()
    _, area = email_resident(client, email_stage, to)
    alert_id = publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), area,
                       headline="Road closed <b>now</b>", severity="Severe",
                       description="Use the <script>alert(1)</script> bypass.")
    (mail,) = [m for m in email_stage.emails_to(to) if "Road closed" in m["subject"]]
    assert mail["subject"] == "Road closed <b>now</b>"  # a subject is plain text
    text, html = mail["body"]["text"], mail["body"]["html"]
    assert "Severity: Severe" in text and "Area: Custom area" in text
    assert f"{BASE}/app/#alert={alert_id}" in text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>now</b>" not in html and "Road closed &lt;b&gt;now&lt;/b&gt;" in html
    headers = headers_of(mail)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    target = headers["List-Unsubscribe"]
    assert target.startswith(f"<{BASE}/v1/subscribers/unsubscribe?token=u.email.") and target.endswith(">")
    assert target[1:-1] in text


def test_one_click_unsubscribe_stops_the_emails_without_sign_in(client, email_stage, staff_token, team):
    to = address()
    token, area = email_resident(client, email_stage, to)
    officer, supervisor = staff_token("officer", team=team), staff_token("supervisor", team=team)
    publish(client, officer, supervisor, area, headline="First")
    (first,) = [m for m in email_stage.emails_to(to) if m["subject"] == "First"]
    url = urlsplit(headers_of(first)["List-Unsubscribe"][1:-1])
    response = client.http.post(f"{url.path}?{url.query}", body="List-Unsubscribe=One-Click",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 204
    publish(client, officer, supervisor, area, headline="Second")
    assert [m["subject"] for m in email_stage.emails_to(to) if m["subject"] in ("First", "Second")] == ["First"]
    assert client.http.get("/v1/subscribers/me", headers=bearer(token)).status_code == 200  # the resident stays


def test_a_pending_address_gets_nothing_but_its_confirmation(client, email_stage, staff_token, team):
    to = address()
    _, area = email_resident(client, email_stage, to, confirmed=False)
    publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), area)
    assert [m["subject"] for m in email_stage.emails_to(to)] == ["Confirm your email address for Beatline alerts"]


def test_a_welsh_resident_gets_the_welsh_confirmation_and_the_welsh_info_block(client, email_stage, staff_token, team):
    to = address()
    _, area = email_resident(client, email_stage, to, language="cy")
    publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), area,
            headline="Road closed", severity="Moderate",
            translations={"cy": {"headline": "Ffordd ar gau ŵŷ", "description": "Defnyddiwch y ffordd osgoi."}})
    subjects = [m["subject"] for m in email_stage.emails_to(to)]
    assert subjects == ["Cadarnhewch eich cyfeiriad e-bost ar gyfer rhybuddion Beatline", "Ffordd ar gau ŵŷ"]
    (mail,) = [m for m in email_stage.emails_to(to) if m["subject"] == "Ffordd ar gau ŵŷ"]
    assert "Difrifoldeb: Cymedrol" in mail["body"]["text"] and "Defnyddiwch y ffordd osgoi." in mail["body"]["text"]
    assert '<html lang="cy">' in mail["body"]["html"] and "Atal y negeseuon e-bost hyn" in mail["body"]["html"]


def ses_event(kind: str, subscriber_id: str, to: str, **details: Any) -> dict[str, Any]:
    """A Lambda SNS event carrying an SES event-publishing record, as the configuration set's SNS
    destination delivers it (`mail.tags` are the tags the email was sent with)."""
    body: dict[str, Any] = {"eventType": kind, "mail": {
        "messageId": f"ses-{uuid.uuid4().hex[:8]}", "destination": [to],
        "tags": {"subscriber": [subscriber_id], "kind": ["notification"]}}}
    if kind == "Bounce":
        body["bounce"] = {"bounceType": details.get("bounce_type", "Permanent"), "bouncedRecipients": [{"emailAddress": to}]}
    else:
        body["complaint"] = {"complainedRecipients": [{"emailAddress": to}]}
    return {"Records": [{"EventSource": "aws:sns", "EventSubscriptionArn": "arn:aws:sns:eu-west-2:123456789012:t:1",
                         "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "Subject": None,
                                 "TopicArn": "arn:aws:sns:eu-west-2:123456789012:t", "Message": json.dumps(body),
                                 "Timestamp": "2026-12-03T12:00:00.000Z", "MessageAttributes": {}}}]}


@pytest.mark.parametrize(("kind", "bounce_type", "suppressed"), [
    ("Bounce", "Permanent", True), ("Complaint", None, True), ("Bounce", "Transient", False)])
def test_a_permanent_bounce_or_a_complaint_stops_all_email_to_the_address(client, email_stage, staff_token, team,
                                                                          kind, bounce_type, suppressed):
    to = address()
    lat, lon = spot()
    subscriber_id, token = register(client, {"type": "email", "address": to})
    area = circle(lat, lon, 300)
    set_areas(client, token, [area])
    confirm(client, email_stage, to)
    result = email_events(ses_event(kind, subscriber_id, to, bounce_type=bounce_type), None)
    assert result == {"suppressed": int(suppressed)}
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert me["contacts"][0]["status"] == ("suppressed" if suppressed else "confirmed")
    publish(client, staff_token("officer", team=team), staff_token("supervisor", team=team), area, headline="After")
    assert len([m for m in email_stage.emails_to(to) if m["subject"] == "After"]) == (0 if suppressed else 1)
    # Adding the same address again does not lift it; nothing is sent to it.
    again = client.http.put("/v1/subscribers/me/channels/email", headers=bearer(token), body=json.dumps({"address": to}))
    assert again.status_code == 200 and again.json_body["contacts"][0]["status"] == me["contacts"][0]["status"]


def test_an_event_naming_another_address_suppresses_nothing(client, email_stage):
    to = address()
    subscriber_id, token = register(client, {"type": "email", "address": to})
    confirm(client, email_stage, to)
    assert email_events(ses_event("Complaint", subscriber_id, address()), None) == {"suppressed": 0}
    assert client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body["contacts"][0]["status"] == "confirmed"
