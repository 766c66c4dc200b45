"""A resident's email reply to a team answer: the MIME message (stdlib `email`, RFC 5322 policy)
reduced to what Beatline keeps: the reply address it was sent to, the sender, whether SES found
it authentic, and the new text without the quoted answer below it.

Quote stripping is a small rule set here, not a library: `email-reply-parser` (the maintained
option) is not in the pinned dependencies. It keeps the lines above the first reply header
("On ... wrote:", Welsh "Ar ... ysgrifennodd:", Outlook's "-----Original Message-----" and
"From: ... Sent:" blocks) or quoted line ('>'), and drops a trailing signature ("-- ")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

MAX_TEXT = 1000  # a conversation message's limit
QUOTE_HEADERS = (
    re.compile(r"^\s*On\b.{0,200}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Ar\b.{0,200}\bysgrifennodd\b.{0,40}:?\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Neges Wreiddiol)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*(From|Oddi wrth):\s.+$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
)


@dataclass(frozen=True)
class InboundReply:
    recipients: tuple[str, ...]  # every To/Cc address, lower case
    sender: str  # the From address, lower case
    authentic: bool  # SES: SPF or DKIM passed, and no virus
    text: str  # the new words, quotes stripped ('' when none)
    message_id: str


def _authentic(message: EmailMessage) -> bool:
    """SES receiving's verdicts: the virus scan passed, and SPF or DKIM passed for the sender."""
    if str(message.get("X-SES-Virus-Verdict", "")).upper() != "PASS":
        return False
    results = " ".join(str(v) for v in message.get_all("Authentication-Results") or [])
    return bool(re.search(r"\b(spf|dkim)=pass\b", results, re.IGNORECASE))


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        return ""


def strip_quoted(text: str) -> str:
    """The lines above the quoted answer, without a trailing signature; whitespace tidied."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(">") or any(p.match(line) for p in QUOTE_HEADERS):
            break
        if line.rstrip() == "--":
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()[:MAX_TEXT]


def parse(raw: bytes) -> InboundReply:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # noqa: S101 - policy.default builds EmailMessage
    recipients = tuple(a.lower() for _, a in getaddresses([str(v) for v in
                                                             (message.get_all("To") or []) + (message.get_all("Cc") or [])]) if a)
    return InboundReply(recipients=recipients, sender=parseaddr(str(message.get("From", "")))[1].lower(),
                        authentic=_authentic(message), text=strip_quoted(_plain_text(message)),
                        message_id=str(message.get("Message-ID", "")).strip())


def _s3_action(sns_message: str) -> dict[str, object]:
    import json

    try:
        event = json.loads(sns_message)
    except ValueError:
        return {}
    receipt = event.get("receipt") if isinstance(event, dict) else None
    action = receipt.get("action") if isinstance(receipt, dict) else None
    return action if isinstance(action, dict) and action.get("type") == "S3" else {}


def stored_object(sns_message: str) -> tuple[str, str] | None:
    """(bucket, key) of an SES receipt notification for an S3 action; None for anything else."""
    action = _s3_action(sns_message)
    bucket, key = action.get("bucketName"), action.get("objectKey")
    if isinstance(bucket, str) and isinstance(key, str) and bucket and key:
        return bucket, key
    return None
