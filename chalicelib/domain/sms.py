"""SMS rules, pure: E.164 numbers, segment counting (GSM-7 vs UCS-2), one alert as one SMS within
a segment budget, the severity threshold, inbound keywords and one-time codes (docs/channels.md).

Segments (3GPP TS 23.038 / 23.040): a text made only of GSM-7 characters is sent in 7-bit
septets, 160 in one segment or 153 per segment of a concatenated message (the user data header
takes 7); the extension table's characters (`^ { } \\ [ ~ ] | €` and form feed) take two septets
(an escape and the character), and a segment never splits that pair. Any other character (Welsh
ŵ and ŷ, emoji, curly quotes) makes the whole message UCS-2: 70 UTF-16 code units in one segment,
67 per segment of a concatenated one, a surrogate pair never split.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import msgspec

from chalicelib.domain.alerts import SEVERITY_RANK

# GSM 03.38 default alphabet (without the escape, 0x1B) and its extension table.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]
SINGLE = {"GSM-7": 160, "UCS-2": 70}
CONCATENATED = {"GSM-7": 153, "UCS-2": 67}
MAX_SEGMENTS = 10  # a budget above this is refused by settings (carriers cap concatenation too)

# Typographic characters authors paste in that GSM-7 lacks: replaced, so one curly apostrophe
# does not halve the room (letters such as ŵ and ŷ are never replaced: they are the language).
TYPOGRAPHIC = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2026": "...",
})


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def encoding_of(text: str) -> Encoding:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _unit_lengths(text: str, encoding: Encoding) -> list[int]:
    """Each character's length in the encoding's units (septets or UTF-16 code units)."""
    if encoding == "GSM-7":
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


@dataclass(frozen=True)
class Segments:
    encoding: Encoding
    count: int  # 0 for the empty text
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def count_segments(text: str) -> Segments:
    """How many SMS segments `text` takes, packing characters as a handset does."""
    encoding = encoding_of(text)
    lengths = _unit_lengths(text, encoding)
    units = sum(lengths)
    if units == 0:
        return Segments(encoding, 0, 0)
    if units <= SINGLE[encoding]:
        return Segments(encoding, 1, units)
    room, count, used = CONCATENATED[encoding], 1, 0
    for length in lengths:
        if used + length > room:  # an escape pair or a surrogate pair is never split
            count, used = count + 1, 0
        used += length
    return Segments(encoding, count, units)


def fits(text: str, budget: int) -> bool:
    return count_segments(text).count <= budget


# --- composing one alert as one SMS ------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """One line: typographic punctuation made GSM-7, control characters dropped, spaces collapsed."""
    text = unicodedata.normalize("NFC", text).translate(TYPOGRAPHIC)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C" or c in "\n\t")
    return _SPACES.sub(" ", text).strip()


def _ellipsis(text: str) -> str:
    return "..." if is_gsm7(text) else "\u2026"


def _longest_fitting(body: str, render: Callable[[str], str], budget: int) -> int:
    """The most characters of `body` that render within `budget` (segments grow with length)."""
    low, high = 0, len(body)
    while low < high:
        mid = (low + high + 1) // 2
        if fits(render(body[:mid]), budget):
            low = mid
        else:
            high = mid - 1
    return low


def _cut(body: str, keep: int) -> str:
    """`body[:keep]`, backed off to the last word boundary when one is near, without trailing
    punctuation; never a lone high surrogate (Python strings have none, so slicing is safe)."""
    if keep >= len(body):
        return body
    head = body[:keep]
    space = head.rfind(" ")
    if space >= max(1, keep - 20):
        head = head[:space]
    return head.rstrip(" ,;:-.")


@dataclass(frozen=True)
class Composed:
    text: str
    segments: Segments
    truncated: bool


def compose(prefix: str, body: str, link: str, budget: int) -> Composed:
    """`<prefix> <body> <link>` within `budget` segments: the link is always whole; the body is
    cut at a word boundary with an ellipsis when it does not fit; when even the prefix and link
    do not fit, the link alone (or, past that, the link cut: only with a tiny budget)."""
    prefix, body, link = clean(prefix), clean(body), clean(link)
    prefix = f"{prefix} " if prefix else ""
    whole = f"{prefix}{body} {link}".strip()
    if fits(whole, budget):
        return Composed(whole, count_segments(whole), False)

    def render(part: str) -> str:
        cut = _cut(body, len(part)) if len(part) < len(body) else part
        return f"{prefix}{cut}{_ellipsis(prefix + cut)} {link}"

    keep = _longest_fitting(body, render, budget)
    text = render(body[:keep]) if keep else link
    if not fits(text, budget):  # a budget smaller than the link itself: keep what fits
        text = link[:_longest_fitting(link, lambda part: part, budget)]
    return Composed(text, count_segments(text), True)


# --- the severity rule -------------------------------------------------------------------------


def sms_wanted(severity: str, *, threshold: str, asked_for: str | None) -> bool:
    """An alert goes by SMS at or above the force's threshold, or at or above the lower severity
    the resident asked for (`asked_for`; a higher one than the threshold raises the bar)."""
    bar = SEVERITY_RANK[asked_for] if asked_for in SEVERITY_RANK else SEVERITY_RANK[threshold]
    return SEVERITY_RANK.get(severity, 0) >= bar


# --- inbound keywords --------------------------------------------------------------------------

DEFAULT_STOP_KEYWORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPIO", "DIWEDD")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def keyword_of(text: str) -> str | None:
    """The first word of an inbound message, upper-cased (None when there is none)."""
    match = _WORD.search(unicodedata.normalize("NFKC", text or ""))
    return match.group(0).upper() if match else None


def is_stop(text: str, keywords: tuple[str, ...]) -> bool:
    """A STOP message: its first word is one of the keywords and nothing but punctuation or at most
    one more word follows ("STOP", "stop.", "Stop please")."""
    word = keyword_of(text)
    if word is None or word not in {k.upper() for k in keywords}:
        return False
    return len(_WORD.findall(unicodedata.normalize("NFKC", text))) <= 2


def parse_keywords(raw: str) -> tuple[str, ...]:
    """A comma-separated setting as upper-case keywords (one word each); ValueError otherwise."""
    words = tuple(w.strip().upper() for w in raw.split(",") if w.strip())
    if not words or any(not _WORD.fullmatch(w) or len(w) > 20 for w in words):
        raise ValueError("keywords must be single words, comma separated")
    return words


# --- phone numbers -----------------------------------------------------------------------------

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class InvalidNumber(ValueError):
    """Not a number an SMS can be sent to; the message is safe to show to the resident."""


def normalise_number(raw: str) -> str:
    """The E.164 form of a mobile number (`+447911123456`) or InvalidNumber. Only E.164 input is
    taken (the contract): the `phonenumbers` library checks the country plan and the type."""
    compact = raw.replace(" ", "").replace("-", "") if isinstance(raw, str) else ""
    if not E164.fullmatch(compact):
        raise InvalidNumber("must be an E.164 number: + then country code and number, e.g. +447911123456")
    import phonenumbers  # ~45 ms: only where a number is added

    try:
        number = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        raise InvalidNumber("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber("is not a valid number in its country's numbering plan")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidNumber("is not a mobile number (texts cannot reach it)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(number: str) -> str:
    """What the resident sees of their own number: country code and the last two digits."""
    return number[:3] + "•" * max(0, len(number) - 5) + number[-2:]


# --- one-time codes ----------------------------------------------------------------------------

CODE_TEXTS = {
    "en": "{force}: your Beatline code is {code}. It expires in {minutes} minutes. If you did not ask for it, ignore this text.",
    "cy": "{force}: eich cod Beatline yw {code}. Daw i ben ymhen {minutes} munud. Os na wnaethoch ofyn amdano, anwybyddwch y neges hon.",
}


def code_text(force_name: str, code: str, minutes: int, language: str | None) -> str:
    """The text carrying a one-time code, in the resident's language (Welsh or English)."""
    template = CODE_TEXTS["cy" if (language or "").lower().startswith("cy") else "en"]
    return template.format(force=clean(force_name), code=code, minutes=minutes)


# --- the sms queue's messages --------------------------------------------------------------------

class SmsJob(msgspec.Struct, kw_only=True, frozen=True, tag="sms", tag_field="type"):
    """One text for the `sms_sender` function: ids only. The number is read from the subscriber
    record when the text is sent (a queue message never holds it), so a number removed or
    stopped meanwhile is never texted."""

    kind: Literal["alert"]  # what is texted (only new alerts today)
    alert_id: str
    subscriber_id: str


def encode_job(job: SmsJob) -> str:
    return msgspec.json.encode(job).decode()


def decode_job(body: str | bytes) -> SmsJob:
    """Raises msgspec.ValidationError / DecodeError for anything but a well-formed job."""
    return msgspec.json.decode(body, type=SmsJob)
