"""The short push payload shared by all channels (Web Push body, FCM `data`, APNs custom key).

Three kinds: an alert (`kind` "alert"), a team answer in a conversation (`kind` "answer": the
conversation id, a title, the conversation's context as `description`, the link; never the words)
and a notice (`kind` "notice": `notice` priority_action|meeting_reminder, its `ref`, a title, the
public text as `description` (the priority's issue, the meeting's title and time), the link).

Push services cap a message at about 4 KB (Web Push: 4096 bytes of encrypted body, so 3993
bytes of plaintext with aes128gcm and one record; APNs: 4096 bytes; FCM: 4096 bytes), so the
payload is short: the alert id, CAP msgType, headline, a truncated description and
instruction, severity, expiry and the URL to open. `fit` shrinks the long texts further until
a channel's rendered message fits its budget. All values are strings (FCM `data` requires it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from chalicelib.clock import parse_rfc3339
from chalicelib.domain.alerts import Notification
from chalicelib.domain.conversations import AnswerNotification
from chalicelib.domain.notices import NoticeNotification

ELLIPSIS = "\u2026"
HEADLINE_CHARS = 160
DESCRIPTION_CHARS = 280
INSTRUCTION_CHARS = 280
MIN_TEXT_CHARS = 40
# RFC 8291 aes128gcm: 4096-byte body limit (RFC 8030 §7.2) minus the 86-byte header (salt 16,
# record size 4, key id length 1, sender key 65), the 16-byte tag and the 1-byte delimiter.
WEBPUSH_MAX_PLAINTEXT = 4096 - 86 - 16 - 1


def truncate(text: str, max_chars: int) -> str:
    """`text` if short enough, else a prefix (cut at a word boundary when one is near) + an ellipsis."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return ELLIPSIS[:max_chars]
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space >= (max_chars * 2) // 3:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


PushNotification = Notification | AnswerNotification | NoticeNotification


def push_key(notification: PushNotification) -> str:
    """What a later notification of the same thing replaces (Web Push Topic, collapse keys, tags)."""
    if isinstance(notification, AnswerNotification):
        return f"conversation-{notification.conversation_id}"
    if isinstance(notification, NoticeNotification):
        return f"{notification.kind}-{notification.ref}"
    return notification.alert_id


def push_severity(notification: PushNotification) -> str:
    """The CAP severity that sets urgency and priority; answers and notices are as urgent as a Minor alert."""
    return notification.severity if isinstance(notification, Notification) else "Minor"


def push_title(notification: PushNotification) -> str:
    return notification.info.headline if isinstance(notification, Notification) else notification.title


def notice_payload(notification: NoticeNotification, *, headline_chars: int = HEADLINE_CHARS,
                   description_chars: int = DESCRIPTION_CHARS) -> dict[str, str]:
    return {
        "kind": "notice", "notice": notification.kind, "id": notification.ref, "ref": notification.ref,
        "lang": notification.language, "headline": truncate(notification.title, headline_chars),
        "description": truncate(notification.body, description_chars),
        "sent": notification.sent_at, "expires": notification.expires_at, "url": notification.url,
    }


def answer_payload(notification: AnswerNotification, *, headline_chars: int = HEADLINE_CHARS,
                   description_chars: int = DESCRIPTION_CHARS) -> dict[str, str]:
    return {
        "kind": "answer", "id": notification.conversation_id, "conversation_id": notification.conversation_id,
        "message_id": notification.message_id, "lang": notification.language,
        "headline": truncate(notification.title, headline_chars),
        "description": truncate(notification.context, description_chars),
        "sent": notification.sent_at, "expires": notification.expires_at, "url": notification.url,
    }


def push_payload(notification: PushNotification, *, headline_chars: int = HEADLINE_CHARS,
                 description_chars: int = DESCRIPTION_CHARS,
                 instruction_chars: int = INSTRUCTION_CHARS) -> dict[str, str]:
    """The payload as a flat dict of strings (keys documented in the module docstring)."""
    if isinstance(notification, AnswerNotification):
        return answer_payload(notification, headline_chars=headline_chars, description_chars=description_chars)
    if isinstance(notification, NoticeNotification):
        return notice_payload(notification, headline_chars=headline_chars, description_chars=description_chars)
    info = notification.info
    payload = {
        "kind": "alert",
        "id": notification.alert_id,
        "msgType": notification.msg_type,
        "lang": info.language,
        "headline": truncate(info.headline, headline_chars),
        "description": truncate(info.description, description_chars),
        "category": notification.category,
        "severity": notification.severity,
        "urgency": notification.urgency,
        "sent": notification.sent_at,
        "expires": notification.expires_at,
    }
    if info.instruction:
        payload["instruction"] = truncate(info.instruction, instruction_chars)
    if notification.url:
        payload["url"] = notification.url
    for key, value in notification.extra.items():
        payload.setdefault(key, value)
    return payload


def encode_json(value: object) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept as UTF-8: 1-4 bytes, not a 6-12 byte escape)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fit(notification: PushNotification, render: Callable[[dict[str, str]], bytes], max_bytes: int) -> bytes:
    """`render(payload)` for the longest texts that keep it within `max_bytes`.

    Halves description and instruction, then the headline, down to MIN_TEXT_CHARS. Raises
    ValueError if even that does not fit (only possible with oversized `extra`/`url`).
    """
    head, desc, instr = HEADLINE_CHARS, DESCRIPTION_CHARS, INSTRUCTION_CHARS
    while True:
        body = render(push_payload(notification, headline_chars=head, description_chars=desc,
                                   instruction_chars=instr))
        if len(body) <= max_bytes:
            return body
        if desc > MIN_TEXT_CHARS or instr > MIN_TEXT_CHARS:
            desc, instr = max(MIN_TEXT_CHARS, desc // 2), max(MIN_TEXT_CHARS, instr // 2)
        elif head > MIN_TEXT_CHARS:
            head = max(MIN_TEXT_CHARS, head // 2)
        else:
            raise ValueError(f"push payload for {push_key(notification)} cannot fit in {max_bytes} bytes")


def webpush_body(notification: PushNotification) -> bytes:
    """The Web Push plaintext: the payload as JSON, within one aes128gcm record."""
    return fit(notification, encode_json, WEBPUSH_MAX_PLAINTEXT)


def ttl_seconds(expires_at: str, now: datetime) -> int:
    """Seconds until the alert expires (0 once expired): how long a push service may hold it."""
    return max(0, int((parse_rfc3339(expires_at) - now).total_seconds()))
