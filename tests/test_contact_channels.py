"""Contact channels over HTTP on DynamoDB Local: registration by email, the channel routes, the
public confirm and one-click unsubscribe routes, their problem bodies. Rules are
tests/test_contact_channel_rules.py (fakes)."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.contact_channels import ChannelToken
from chalicelib.ports import SendOutcome
from tests.alerting import register, webpush_channel
from tests.conftest import bearer
from tests.fakes import FakeConfirmations

JSON = {"Content-Type": "application/json"}
ADDRESS = "jo.resident@example.org"


@pytest.fixture
def senders(services_override):
    built = {"email": FakeConfirmations("email"), "sms": FakeConfirmations("sms")}
    services_override(confirmation_senders=built)
    return built


def test_register_by_email_confirm_once_and_see_only_a_hint(client, senders):
    subscriber_id, token = register(client, {"type": "email", "address": ADDRESS}, language="cy")
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert me["channel"] == {"type": "inbox"}
    assert me["contacts"] == [{"type": "email", "status": "pending", "hint": "j•••@example.org",
                               "pending_until": me["contacts"][0]["pending_until"]}]
    assert ADDRESS not in json.dumps(me)
    link = senders["email"].last(ADDRESS)
    confirmed = client.http.post("/v1/subscribers/confirm", headers=JSON, body=json.dumps({"token": link}))
    assert confirmed.status_code == 200 and confirmed.json_body == {"type": "email", "status": "confirmed"}
    again = client.http.post("/v1/subscribers/confirm", headers=JSON, body=json.dumps({"token": link}))
    assert again.status_code == 404 and again.headers["Content-Type"] == "application/problem+json"
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert me["contacts"][0]["status"] == "confirmed" and subscriber_id == me["id"]


@pytest.mark.parametrize(("channel", "field"), [
    ({"type": "email", "address": "jo@example.org\r\nBcc: all@example.org"}, "channel.address"),
    ({"type": "email", "address": "Jo <jo@example.org>"}, "channel.address"),
    ({"type": "email", "address": "jo@example.org,other@example.org"}, "channel.address"),
    ({"type": "email", "address": "jo@localhost"}, "channel.address"),
    ({"type": "email", "address": "a" * 250 + "@example.org"}, "channel.address"),
    ({"type": "sms", "phone": "07700900123"}, "channel.phone"),
    ({"type": "sms", "phone": "+44 7700 900123"}, "channel.phone"),
])
def test_bad_addresses_are_400_naming_the_field_and_send_nothing(client, senders, channel, field):
    response = client.http.post("/v1/subscribers", headers=JSON, body=json.dumps({"channel": channel}))
    assert response.status_code == 400, response.body
    assert [e["field"] for e in response.json_body["errors"]] == [field]
    assert senders["email"].sent == [] and senders["sms"].sent == []


def test_add_confirm_by_code_and_remove_a_channel(client, senders):
    _, token = register(client, webpush_channel())
    added = client.http.put("/v1/subscribers/me/channels/sms", headers=bearer(token),
                            body=json.dumps({"phone": "+447911123456"}))
    assert added.status_code == 200, added.body
    assert added.json_body["contacts"][0]["hint"] == "+44••••••••56"
    code = senders["sms"].last("+447911123456")
    wrong = client.http.post("/v1/subscribers/me/channels/sms/confirm", headers=bearer(token),
                             body=json.dumps({"code": f"{(int(code) + 1) % 1_000_000:06d}"}))
    assert wrong.status_code == 400 and wrong.json_body["errors"][0]["field"] == "code"
    right = client.http.post("/v1/subscribers/me/channels/sms/confirm", headers=bearer(token),
                             body=json.dumps({"code": code}))
    assert right.status_code == 200 and right.json_body["status"] == "confirmed"
    removed = client.http.delete("/v1/subscribers/me/channels/sms", headers=bearer(token))
    assert removed.status_code == 204
    assert "contacts" not in client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/v1/subscribers/me/channels/fax", {"address": ADDRESS}, 404, None),
    ("/v1/subscribers/me/channels/email", {"phone": "+447911123456"}, 400, "address"),
    ("/v1/subscribers/me/channels/email", {"address": ADDRESS, "phone": "+447911123456"}, 400, "address"),
    ("/v1/subscribers/me/channels/sms", {}, 400, "phone"),
    ("/v1/subscribers/me/channels/email/confirm", {"code": "123456"}, 422, None),
])
def test_channel_route_problems(client, senders, path, body, status, field):
    _, token = register(client)
    method = client.http.post if path.endswith("/confirm") else client.http.put
    response = method(path, headers=bearer(token), body=json.dumps(body))
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    if field:
        assert response.json_body["errors"][0]["field"] == field


@pytest.mark.parametrize(("token", "status"), [
    ("short", 400),
    ("c.email.not-a-uuid.secretsecretsecret", 404),
    (ChannelToken("c", "email", "6f1c1f9e-7d4b-4f4e-9a53-6a2f2f1f0a11", "s" * 43).encode(), 404),
    ("c.email.6f1c1f9e7d4b4f4e9a536a2f2f1f0a11.<script>", 400),
])
def test_confirm_token_problems(client, senders, token, status):
    response = client.http.post("/v1/subscribers/confirm", headers=JSON, body=json.dumps({"token": token}))
    assert response.status_code == status, response.body


def test_one_click_unsubscribe_takes_a_form_post_without_sign_in(client, senders, services_override):
    subscriber_id, token = register(client, {"type": "email", "address": ADDRESS})
    client.http.post("/v1/subscribers/confirm", headers=JSON,
                     body=json.dumps({"token": senders["email"].last(ADDRESS)}))
    from chalicelib.services import services

    record = services().store.subscribers.get(subscriber_id)
    assert record is not None
    link_token = record.contacts[0].target(subscriber_id)["unsubscribe_token"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.http.post(f"/v1/subscribers/unsubscribe?token={link_token}", headers=form,
                                body="List-Unsubscribe=One-Click")
    assert response.status_code == 204, response.body
    assert "contacts" not in client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    unknown = client.http.post(f"/v1/subscribers/unsubscribe?token={link_token}", headers=form, body="")
    assert unknown.status_code == 204  # says nothing about who subscribed


def test_a_stage_that_does_not_offer_email_answers_422(client, services_override):
    services_override(confirmation_senders={"sms": FakeConfirmations("sms")})
    response = client.http.post("/v1/subscribers", headers=JSON,
                                body=json.dumps({"channel": {"type": "email", "address": ADDRESS}}))
    assert response.status_code == 422 and "email" in response.json_body["detail"]


def test_a_failed_confirmation_send_is_503_and_leaves_the_channel_pending(client, senders):
    _, token = register(client)
    senders["email"].outcome = SendOutcome.RETRY
    response = client.http.put("/v1/subscribers/me/channels/email", headers=bearer(token),
                               body=json.dumps({"address": ADDRESS}))
    assert response.status_code == 503 and "Retry-After" in response.headers
    me = client.http.get("/v1/subscribers/me", headers=bearer(token)).json_body
    assert me["contacts"][0]["status"] == "pending"  # adding it again resends
