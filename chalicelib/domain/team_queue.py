"""The team's queue as the team's app shows it (docs/team-app.md): pure, no I/O.

A queue item is a conversation summary plus what an officer on patrol needs to pick one up: the
start of the last message (`preview`), how long the resident has waited and by when the team
should answer (`respond_by`: the response standard, `BEATLINE_RESPONSE_STANDARD_HOURS`), who
holds a claim on it (a display pseudonym, never a staff id; a claim lapses) and whether the
resident still exists.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from msgspec import Struct

from chalicelib.clock import parse_rfc3339
from chalicelib.domain.conversations import Conversation, ConversationSummary

PREVIEW_CHARS = 120
ELLIPSIS = "\u2026"


class QueueItem(ConversationSummary, omit_defaults=False):
    """A conversation of the team's queue (every field present; null where it does not apply)."""

    preview: str | None = None  # the start of the last message (null once the resident's words are erased)
    claimed_by: str | None = None  # display pseudonym of the officer holding a live claim
    claim_expires_at: str | None = None
    claimed_by_me: bool = False
    resident_erased: bool = False


class QueuePage(Struct):
    items: list[QueueItem]
    next_cursor: str | None


class ClaimOut(Struct):
    """A conversation's claim after a claim or a release (`claimed_by` null: nobody holds it)."""

    id: str
    claimed_by: str | None
    claim_expires_at: str | None
    claimed_by_me: bool


def preview(text: str | None, chars: int = PREVIEW_CHARS) -> str | None:
    """The first `chars` characters of a message, cut at a word boundary when one is near."""
    if text is None:
        return None
    text = " ".join(text.split())
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    space = cut.rfind(" ")
    if space >= (chars * 2) // 3:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def live_claim(conv: Conversation, now: datetime) -> tuple[str, str] | None:
    """(display pseudonym, expiry) of a claim that has not lapsed, on a conversation still waiting."""
    if conv.status != "waiting" or not conv.claimed_by or not conv.claim_expires_at:
        return None
    if parse_rfc3339(conv.claim_expires_at) <= now:
        return None
    return conv.claimed_by, conv.claim_expires_at


def queue_item(conv: Conversation, text: str | None, *, now: datetime,
               my_display: str) -> QueueItem:
    claim = live_claim(conv, now)
    return QueueItem(
        **msgspec.structs.asdict(conv.summary()), preview=preview(text),
        claimed_by=claim[0] if claim else None, claim_expires_at=claim[1] if claim else None,
        claimed_by_me=claim is not None and claim[0] == my_display, resident_erased=not conv.owner,
    )


def claim_out(conv_id: str, display: str | None, expires: str | None, my_display: str) -> ClaimOut:
    return ClaimOut(id=conv_id, claimed_by=display, claim_expires_at=expires,
                    claimed_by_me=display is not None and display == my_display)


def nearing_standard(standard: timedelta) -> timedelta:
    """When a wait counts as nearing the response standard: two thirds of it."""
    return standard * 2 / 3
