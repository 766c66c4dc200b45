"""Email replies: a team answer by email carries the conversation's own reply address; the
resident's reply (SES receiving -> S3 (a local moto server) -> SNS -> app.py `email_replies`)
becomes their message, quotes stripped; mail from anyone else, unauthenticated or to a forged
address is dropped. Parsing and quote stripping without a server at the end."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from email.message import EmailMessage
from typing import Any

import pytest

from app import email_replies
from chalicelib.domain.email_replies import parse, stored_object, strip_quoted
from chalicelib.notify.inbound_mail import S3Mailbox
from chalicelib.settings import SETTINGS
from tests.alerting import register, spot
from tests.conftest import bearer
from tests.test_conversations import make_area
from tests.test_email import address, confirm

JSON = {"Content-Type": "application/json"}
REPLY_DOMAIN = "reply.beatline.test"
BUCKET = "beatline-test-email-inbound"


@pytest.fixture
def s3() -> Any:
    """S3 from moto in process; DynamoDB Local and the local SES server pass through it."""
    import boto3
    from moto import mock_aws

    with mock_aws(config={"core": {"passthrough": {"services": ["dynamodb", "sesv2"], "urls": []}}}):
        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client


@pytest.fixture
def stage(ses_local, services_override, s3):
    settings = dataclasses.replace(SETTINGS, email_from="alerts@beatline.test", public_base_url="https://beatline.test",
                                   email_reply_domain=REPLY_DOMAIN, email_inbound_bucket=BUCKET)
    services_override(settings=settings, mailbox=S3Mailbox(s3, BUCKET))
    return ses_local


def reply_mail(sender: str, to: str, text: str, *, authentic: bool = True) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Jo Resident <{sender}>"
    mail["To"] = to
    mail["Subject"] = "Re: Your neighbourhood team answered"
    mail["Message-ID"] = f"<{uuid.uuid4()}@example.org>"
    mail["X-SES-Virus-Verdict"] = "PASS"
    mail["Authentication-Results"] = f"amazonses.com; spf={'pass' if authentic else 'fail'}; dkim={'pass' if authentic else 'none'}"
    mail.set_content(text)
    mail.add_alternative(f"<p>{text}</p>", subtype="html")
    return bytes(mail)


def deliver(s3: Any, raw: bytes) -> dict[str, Any]:
    """What SES receiving does: store the message, publish the notification; the handler runs."""
    key = f"inbound/{uuid.uuid4().hex}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=raw)
    note = {"notificationType": "Received", "receipt": {"action": {"type": "S3", "bucketName": BUCKET, "objectKey": key}}}
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(note), "MessageId": "n-1",
                                                             "Subject": None, "Timestamp": "2026-12-03T12:00:00Z",
                                                             "TopicArn": "arn:aws:sns:eu-west-2:1:t", "MessageAttributes": {}}}]}
    return email_replies(event, None)  # type: ignore[no-any-return]


@pytest.fixture
def answered(client, staff_token, team, stage):
    """A resident registered by email (confirmed) whose conversation the team answered."""
    to = address()
    lat, lon = spot()
    area_id = make_area(client, staff_token, team, lat, lon)
    _, token = register(client, {"type": "email", "address": to})
    confirm(client, stage, to)
    started = client.http.post("/v1/conversations", headers=bearer(token), body=json.dumps(
        {"id": str(uuid.uuid4()), "topic": "noise", "text": "Loud music at no. 4", "area_id": area_id}))
    assert started.status_code == 201, started.body
    conversation_id = started.json_body["id"]
    officer = staff_token("officer", team=team)
    answer = client.http.post(f"/v1/conversations/{conversation_id}/messages", headers=bearer(officer),
                              body=json.dumps({"id": str(uuid.uuid4()), "text": "We will visit tonight."}))
    assert answer.status_code == 201, answer.body
    (mail,) = [m for m in stage.emails_to(to) if m["replyTo"]]
    return {"to": to, "token": token, "conversation_id": conversation_id, "mail": mail}


def texts(client: Any, token: str, conversation_id: str) -> list[tuple[str, str]]:
    got = client.http.get(f"/v1/conversations/{conversation_id}", headers=bearer(token)).json_body
    return [(m["from"], m["text"]) for m in got["messages"]]


def test_the_answer_email_has_a_reply_address_of_its_own_and_a_reply_becomes_the_residents_message(client, s3, answered):
    (reply_to,) = answered["mail"]["replyTo"]
    assert re.fullmatch(rf"r[a-z2-7]{{42}}@{re.escape(REPLY_DOMAIN)}", reply_to)
    assert "We will visit tonight." not in answered["mail"]["body"]["text"]  # never the words, as for pushes
    raw = reply_mail(answered["to"], reply_to, "Thank you!\n\nOn Tue, 1 Dec 2026 the team wrote:\n> We will visit tonight.")
    assert deliver(s3, raw) == {"result": "posted"}
    assert texts(client, answered["token"], answered["conversation_id"])[-1] == ("resident", "Thank you!")
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # the raw message is not kept
    assert deliver(s3, raw) == {"result": "posted"}  # redelivered: the same message id, posted once
    assert [t for t in texts(client, answered["token"], answered["conversation_id"]) if t[1] == "Thank you!"] == [
        ("resident", "Thank you!")]


@pytest.mark.parametrize(("case", "verdict"), [
    ("someone else", "not from the resident's confirmed address"),
    ("unauthenticated", "not authenticated by SES"),
    ("forged address", "no valid reply address"),
    ("only a quote", "no new text"),
])
def test_other_mail_to_the_reply_address_is_dropped(client, s3, answered, case, verdict):
    (reply_to,) = answered["mail"]["replyTo"]
    sender, to, text, authentic = answered["to"], reply_to, "Hello", True
    if case == "someone else":
        sender = address()
    elif case == "unauthenticated":
        authentic = False
    elif case == "forged address":
        to = reply_to[:-len(REPLY_DOMAIN) - 5] + "aaaa@" + REPLY_DOMAIN
    else:
        text = "> We will visit tonight."
    before = texts(client, answered["token"], answered["conversation_id"])
    assert deliver(s3, reply_mail(sender, to, text, authentic=authentic)) == {"result": verdict}
    assert texts(client, answered["token"], answered["conversation_id"]) == before


def test_removing_the_email_channel_revokes_its_reply_addresses(client, s3, answered):
    (reply_to,) = answered["mail"]["replyTo"]
    assert client.http.delete("/v1/subscribers/me/channels/email", headers=bearer(answered["token"])).status_code == 204
    assert deliver(s3, reply_mail(answered["to"], reply_to, "Still there?")) == {"result": "no valid reply address"}


@pytest.mark.parametrize(("text", "kept"), [
    ("Thanks\n\nOn Mon, 30 Nov 2026 at 10:00, Beatline <alerts@b.test> wrote:\n> hi", "Thanks"),
    ("Diolch\n\nAr ddydd Llun, ysgrifennodd Beatline:\n> helo", "Diolch"),
    ("Fine\n-----Original Message-----\nFrom: x", "Fine"),
    ("Yes please\n\n-- \nJo\n07700 900123", "Yes please"),
    ("> only quoted", ""),
    ("x" * 1200, "x" * 1000),
])
def test_quote_stripping(text: str, kept: str) -> None:
    assert strip_quoted(text) == kept


def test_parsing_reads_addresses_and_verdicts_and_prefers_the_plain_part() -> None:
    reply = parse(reply_mail("Jo@Example.org", "r1@x.test", "Hi <b>there</b>"))
    assert reply.sender == "jo@example.org" and reply.recipients == ("r1@x.test",) and reply.authentic
    assert reply.text == "Hi <b>there</b>"
    assert not parse(reply_mail("jo@example.org", "r1@x.test", "Hi", authentic=False)).authentic
    assert stored_object(json.dumps({"receipt": {"action": {"type": "S3", "bucketName": "b", "objectKey": "k"}}})) == ("b", "k")
    assert stored_object(json.dumps({"receipt": {"action": {"type": "Lambda"}}})) is None
    assert stored_object("nonsense") is None
