"""Email without a server: the SES v2 request the adapter builds (configuration set, tags, one-click
headers, reply address), how SES errors map to outcomes, what the emails say, and which SES events
suppress a channel. End to end: tests/test_email.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.domain.alerts import InfoBlock, Notification
from chalicelib.domain.email_events import suppressions
from chalicelib.notify import email_content
from chalicelib.notify.ses import SesEmail
from chalicelib.ports import SendOutcome

pytestmark = pytest.mark.no_database

TARGET = {"type": "email", "address": "jo@example.org", "subscriber_id": "sub-1", "unsubscribe_token": "u.email.ab.cd"}


class StubSes:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.error = error

    def send_email(self, **request: Any) -> dict[str, str]:
        self.calls.append(request)
        if self.error is not None:
            raise self.error
        return {"MessageId": "m-1"}


def note(language: str = "en-GB", **info: str) -> Notification:
    block = InfoBlock(language=language, headline=info.get("headline", "Road closed"),
                      description=info.get("description", "Use the bypass."), instruction=info.get("instruction"))
    return Notification(alert_id="a-1", msg_type="Alert", info=block, category="Transport", severity="Severe",
                        urgency="Expected", certainty="Likely", sent_at="2026-12-03T12:00:00Z",
                        expires_at="2026-12-04T12:00:00Z", team="north", area_name="Elm ward")


def test_the_request_carries_the_configuration_set_tags_and_one_click_headers() -> None:
    client = StubSes()
    email = SesEmail(client, sender="alerts@beatline.test", base_url="https://b.test", configuration_set="beatline-dev")
    assert email.send(TARGET, note()) is SendOutcome.SENT
    (request,) = client.calls
    assert request["ConfigurationSetName"] == "beatline-dev"
    assert request["Destination"] == {"ToAddresses": ["jo@example.org"]}
    assert {"Name": "subscriber", "Value": "sub-1"} in request["EmailTags"]
    headers = {h["Name"]: h["Value"] for h in request["Content"]["Simple"]["Headers"]}
    assert headers == {"List-Unsubscribe": "<https://b.test/v1/subscribers/unsubscribe?token=u.email.ab.cd>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert set(request["Content"]["Simple"]["Body"]) == {"Text", "Html"}


@pytest.mark.parametrize(("error", "outcome"), [
    (ClientError({"Error": {"Code": "MessageRejected"}}, "SendEmail"), SendOutcome.FAILED),
    (ClientError({"Error": {"Code": "TooManyRequestsException"}}, "SendEmail"), SendOutcome.RETRY),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), SendOutcome.RETRY),
])
def test_ses_errors_map_to_outcomes_and_the_address_is_never_logged(error: Exception, outcome: SendOutcome,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    email = SesEmail(StubSes(error), sender="alerts@beatline.test", base_url="https://b.test")
    assert email.send(TARGET, note()) is outcome
    assert "jo@example.org" not in caplog.text and "example.org" not in caplog.text


def test_a_subject_is_one_line_and_the_html_escapes_every_value() -> None:
    content = email_content.render(note(headline="Closed\r\nBcc: x@y.z <i>", description="<img src=x onerror=alert(1)>"),
                                   base_url="https://b.test", unsubscribe_token="u.email.ab.cd")
    assert "\n" not in content.subject and "\r" not in content.subject
    assert "<img" not in content.html and "&lt;img src=x onerror=alert(1)&gt;" in content.html
    assert "<i>" not in content.html


def test_the_confirmation_in_welsh() -> None:
    content = email_content.confirmation("https://b.test", "c.email.ab.cd", "cy")
    assert content.subject.startswith("Cadarnhewch") and "https://b.test/app/confirm?token=c.email.ab.cd" in content.text
    assert content.headers == ()  # no unsubscribe before there is anything to unsubscribe from


def event(**changes: Any) -> str:
    body: dict[str, Any] = {"eventType": "Bounce", "mail": {"messageId": "m-1", "tags": {"subscriber": ["sub-1"]}},
                            "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "jo@example.org"}]}}
    body.update(changes)
    return json.dumps(body)


@pytest.mark.parametrize(("message", "expected"), [
    (event(), [("sub-1", "jo@example.org", "bounce")]),
    (json.dumps({"notificationType": "Complaint", "mail": {"tags": {"subscriber": ["sub-1"]}},
                 "complaint": {"complainedRecipients": [{"emailAddress": "jo@example.org"}]}}),
     [("sub-1", "jo@example.org", "complaint")]),
    (event(bounce={"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "jo@example.org"}]}), []),
    (event(eventType="Delivery"), []),
    (event(mail={"tags": {}}), []),  # not an email Beatline tagged
    (event(mail={"tags": {"subscriber": ["sub-1", "sub-2"]}}), []),
    ("not json", []), ("[1, 2]", []),
])
def test_which_events_suppress(message: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(s.subscriber_id, s.address, s.reason) for s in suppressions(message)] == expected
