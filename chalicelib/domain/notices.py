"""Notices to residents about the Guarantee's loop: "you said, we did" (an action on a priority
they supported or were linked to) and the day-before reminder of a beat meeting they will come to.

The push carries public text only (the priority's issue, the meeting's title and time), never a
resident's words; its title is in the resident's language (English or Welsh)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from chalicelib.clock import parse_rfc3339

PRIORITY_ACTION = "priority_action"
MEETING_REMINDER = "meeting_reminder"
PULSE = "pulse"  # the confidence question (domain/trust.py): ref is the pulse id
KINDS = (PRIORITY_ACTION, MEETING_REMINDER, PULSE)
SUBSCRIBERS_PER_MESSAGE = 50  # one queue message pushes to at most this many residents

TITLES = {
    PRIORITY_ACTION: {"en": "Your neighbourhood team: what we did", "cy": "Eich tîm cymdogaeth: beth wnaethom ni"},
    MEETING_REMINDER: {"en": "Beat meeting tomorrow", "cy": "Cyfarfod cymdogaeth yfory"},
    PULSE: {"en": "One question from your neighbourhood police", "cy": "Un cwestiwn gan eich heddlu cymdogaeth"},
}
# The Crime Survey for England and Wales confidence question, as a pulse push carries it.
PULSE_QUESTION = {
    "en": "Taking everything into account, how good a job do you think the police in this area are doing?",
    "cy": "Gan ystyried popeth, pa mor dda yw'r gwaith y mae'r heddlu yn yr ardal hon yn ei wneud, yn eich barn chi?",
}
UK_TIME = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class NoticeNotification:
    """What a push channel sends for a notice: a title, public text and a link to the app."""

    kind: str  # priority_action | meeting_reminder
    ref: str  # the priority and action (`<priority>:<action>`), or the meeting
    language: str  # "en-GB" | "cy"
    title: str
    body: str  # the priority's issue, or the meeting's title and local start time
    sent_at: str
    expires_at: str
    url: str


def title_for(kind: str, lang: str) -> str:
    return TITLES[kind]["cy" if lang == "cy" else "en"]


def meeting_line(title: str, start: str) -> str:
    """`<title> · <local date and time>` (UK time, as residents read it)."""
    local = parse_rfc3339(start).astimezone(UK_TIME)
    return f"{title} · {local:%d/%m/%Y %H:%M}"


def chunks(subscriber_ids: list[str], size: int = SUBSCRIBERS_PER_MESSAGE) -> list[list[str]]:
    return [subscriber_ids[i:i + size] for i in range(0, len(subscriber_ids), size)]
