"""The short push payload shared by channels: content, truncation and byte budgets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.alerts import InfoBlock
from chalicelib.domain.conversations import ANSWERED, AnswerNotification, ui_language
from chalicelib.domain.notices import NoticeNotification, title_for
from chalicelib.notify.payloads import (
    DESCRIPTION_CHARS,
    ELLIPSIS,
    WEBPUSH_MAX_PLAINTEXT,
    encode_json,
    fit,
    push_key,
    push_payload,
    truncate,
    ttl_seconds,
    webpush_body,
)
from chalicelib.notify.sns import apns_payload, fcm_message
from tests.alert_samples import ALERT_ID, EN, notification

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these


def test_payload_carries_the_short_alert() -> None:
    payload = push_payload(notification(extra={"revision": "2", "id": "must-not-override"}))
    assert payload == {
        "kind": "alert", "id": ALERT_ID, "msgType": "Alert", "lang": "en-GB", "headline": EN.headline, "description": EN.description,
        "instruction": EN.instruction, "category": "Security", "severity": "Moderate", "urgency": "Expected",
        "sent": "2026-11-24T09:30:00Z", "expires": "2026-11-24T12:30:00Z",
        "url": f"https://beatline.example/alerts/{ALERT_ID}", "revision": "2"}
    assert all(isinstance(value, str) for value in payload.values())


def answer(context: str = "Elm ward: Noise", language: str = "en-GB") -> AnswerNotification:
    return AnswerNotification(
        conversation_id="c0ffee00-0000-4000-8000-000000000001", message_id="m1", language=language,
        title=ANSWERED[ui_language(language)], context=context, sent_at="2026-11-24T09:30:00Z",
        expires_at="2026-12-01T09:30:00Z", url="https://beatline.example/app/#conversation=c0ffee00")


def test_an_answer_is_its_own_kind_not_a_dressed_up_alert() -> None:
    """Title, context and link; no CAP fields (severity, category...) and no words of the answer."""
    payload = push_payload(answer())
    assert payload == {
        "kind": "answer", "id": "c0ffee00-0000-4000-8000-000000000001",
        "conversation_id": "c0ffee00-0000-4000-8000-000000000001", "message_id": "m1", "lang": "en-GB",
        "headline": "Your neighbourhood team answered", "description": "Elm ward: Noise",
        "sent": "2026-11-24T09:30:00Z", "expires": "2026-12-01T09:30:00Z",
        "url": "https://beatline.example/app/#conversation=c0ffee00"}
    welsh = push_payload(answer(language="cy"))
    assert (welsh["lang"], welsh["headline"]) == ("cy", "Atebodd eich tîm cymdogaeth")
    for render in (fcm_message(answer(), 600), apns_payload(answer())):
        assert b'"kind":"answer"' in render and b"severity" not in render
    assert push_key(answer()) == "conversation-c0ffee00-0000-4000-8000-000000000001"  # not an alert's id
    long = webpush_body(answer(context="x" * 5000))  # a headline as context: cut to fit
    assert len(long) <= WEBPUSH_MAX_PLAINTEXT and json.loads(long)["description"].endswith(ELLIPSIS)


def notice(body: str = "Speeding on Mill Lane", language: str = "en-GB") -> NoticeNotification:
    return NoticeNotification(
        kind="priority_action", ref="p1:a1", language=language,
        title=title_for("priority_action", ui_language(language)), body=body, sent_at="2026-11-24T09:30:00Z",
        expires_at="2026-11-26T09:30:00Z", url="https://beatline.example/app/")


def test_a_notice_is_its_own_kind() -> None:
    """"You said, we did" and meeting reminders: title, public text and the app's link; no CAP fields."""
    assert push_payload(notice()) == {
        "kind": "notice", "notice": "priority_action", "id": "p1:a1", "ref": "p1:a1", "lang": "en-GB",
        "headline": "Your neighbourhood team: what we did", "description": "Speeding on Mill Lane",
        "sent": "2026-11-24T09:30:00Z", "expires": "2026-11-26T09:30:00Z", "url": "https://beatline.example/app/"}
    assert push_payload(notice(language="cy"))["headline"] == "Eich tîm cymdogaeth: beth wnaethom ni"
    for render in (fcm_message(notice(), 600), apns_payload(notice())):
        assert b'"kind":"notice"' in render and b"severity" not in render
    assert push_key(notice()) == "priority_action-p1:a1"
    long = webpush_body(notice(body="x" * 5000))
    assert len(long) <= WEBPUSH_MAX_PLAINTEXT and json.loads(long)["description"].endswith(ELLIPSIS)


def test_optional_fields_are_left_out() -> None:
    payload = push_payload(notification(info=InfoBlock("cy", "Pennawd", "Disgrifiad"), url=None))
    assert "instruction" not in payload and "url" not in payload
    assert payload["lang"] == "cy"


def test_long_description_is_truncated_at_a_word() -> None:
    words = " ".join(["burglary"] * 100)
    payload = push_payload(notification(info=InfoBlock("en-GB", "Headline", words)))
    assert len(payload["description"]) <= DESCRIPTION_CHARS
    assert payload["description"].endswith("burglary" + ELLIPSIS)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400), limit=st.integers(min_value=0, max_value=300))
def test_truncate_keeps_a_prefix_within_the_limit(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text
    elif limit >= 2:
        assert result.endswith(ELLIPSIS)
        assert text.startswith(result[:-1])


@settings(max_examples=100, deadline=None)
@given(headline=st.text(min_size=1, max_size=160), description=st.text(min_size=1, max_size=2000),
       instruction=st.none() | st.text(min_size=1, max_size=1000))
def test_webpush_body_always_fits_one_record(headline: str, description: str, instruction: str | None) -> None:
    body = webpush_body(notification(info=InfoBlock("en-GB", headline, description, instruction)))
    assert len(body) <= WEBPUSH_MAX_PLAINTEXT
    decoded = json.loads(body)
    assert decoded["id"] == ALERT_ID and decoded["headline"].rstrip(ELLIPSIS) in headline


def test_fit_shrinks_texts_until_the_budget_is_met() -> None:
    wide = "\U0001f6a8" * 2000  # 4 bytes per character in UTF-8
    note = notification(info=InfoBlock("en-GB", "\U0001f6a8" * 160, wide, wide))
    assert len(encode_json(push_payload(note))) > 2000
    body = fit(note, encode_json, 2000)
    assert len(body) <= 2000
    decoded = json.loads(body)
    assert decoded["description"].endswith(ELLIPSIS) and decoded["instruction"].endswith(ELLIPSIS)


def test_fit_refuses_when_nothing_can_make_it_fit() -> None:
    with pytest.raises(ValueError, match="cannot fit"):
        fit(notification(extra={"blob": "x" * 5000}), encode_json, 4096)


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 11, 24, 9, 30, tzinfo=UTC), 3 * 3600),
    (datetime(2026, 11, 24, 12, 29, 59, 500000, tzinfo=UTC), 0),
    (datetime(2026, 11, 24, 13, 0, tzinfo=UTC), 0),
])
def test_ttl_is_the_time_left_never_negative(now: datetime, expected: int) -> None:
    assert ttl_seconds("2026-11-24T12:30:00Z", now) == expected
