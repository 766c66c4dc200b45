"""Emergency guidance: words in a resident's message that suggest immediate danger, and the
guidance (999 / 101 by default) the app shows and the automatic reply sends.

A nudge, not triage: conversations are not monitored around the clock, so a message that reads
like an emergency gets the numbers at once and goes to the top of the team's queue. Matching is on
whole words after folding case, accents and apostrophes, for phrases in English and Welsh (with
the Welsh mutated forms a phrase takes after common words: "i ladd", "fy nhrywanu", "a chyllell").
A false alarm costs one extra automatic message; a miss leaves the message in the queue as before.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Each entry: a phrase whose words must appear in this order, next to each other.
DANGER_EN = (
    "knife", "knives", "stabbed", "stabbing", "stab me", "gun", "guns", "shot at", "been shot", "shots fired",
    "firearm", "bleeding", "overdose", "overdosed", "suicide", "suicidal", "kill myself", "end my life",
    "kill me", "killing me", "going to kill", "gonna kill", "threatening to kill", "threatened to kill",
    "in danger", "im not safe", "i am not safe", "not safe at home", "dont feel safe", "this is an emergency",
    "its an emergency", "emergency now", "someone help",
    "attacking me", "attacked me", "being attacked", "assaulting me", "being assaulted",
    "hitting me", "beating me", "hurting me", "hurt me", "strangling", "strangled", "choking me", "cant breathe",
    "breaking in", "trying to break in", "trying to get in", "outside my door", "wont let me leave", "locked me in",
    "kidnapped", "abducted", "on fire", "set fire", "raped", "raping",
)
DANGER_CY = (
    "cyllell", "gyllell", "chyllell", "nghyllell", "cyllyll", "gyllyll",
    "trywanu", "drywanu", "nhrywanu", "thrywanu", "trywanwyd",
    "gwaedu", "waedu", "ngwaedu", "gorddos", "hunanladdiad", "dryll",
    "lladd fy hun", "ladd fy hun", "fy lladd", "ein lladd", "lladd fi", "ei lladd hi", "ei ladd e", "ei ladd o",
    "mewn perygl", "dwi ddim yn ddiogel", "nid wyf yn ddiogel", "maen argyfwng", "argyfwng nawr",
    "ymosod arna i", "ymosod arnaf", "ymosod arnon ni", "fy nharo", "fy mrifo", "fy nghuro", "fy nhagu",
    "methu anadlu", "yn torri i mewn", "nhwn torri i mewn", "en torri i mewn", "torri i mewn nawr", "trio torri i mewn", "trio dod i mewn", "ar dan", "rhoi tan",
    "treisio", "nhreisio", "dreisio",
)
# Topics, not events: removed before matching ("a talk on knife crime" is no emergency).
NOT_DANGER = ("knife crime", "knife crimes", "knife amnesty", "knife bin", "knife bins", "gun crime",
              "troseddau cyllyll", "trosedd cyllyll")

_APOSTROPHES = str.maketrans({"\u2019": "", "\u2018": "", "'": "", "`": ""})
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    """Lower case, accents and apostrophes folded, then words of letters and digits."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_APOSTROPHES)
    return _WORD.findall(plain)


def _phrases(entries: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(_words(e)) for e in entries)


_EN = _phrases(DANGER_EN)
_CY = _phrases(DANGER_CY)
_TOPICS = _phrases(NOT_DANGER)


def _has(joined: str, phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(" " + " ".join(p) + " " in joined for p in phrases)


def danger_languages(text: str) -> tuple[str, ...]:
    """The languages ("en", "cy") whose danger phrases `text` contains; empty when none."""
    joined = " " + " ".join(_words(text)) + " "
    for topic in _TOPICS:
        joined = joined.replace(" " + " ".join(topic) + " ", " | ")
    return tuple(lang for lang, phrases in (("en", _EN), ("cy", _CY)) if _has(joined, phrases))


def suggests_immediate_danger(text: str) -> bool:
    return bool(danger_languages(text))


@dataclass(frozen=True)
class EmergencyNumbers:
    emergency: str = "999"
    non_emergency: str = "101"


_GUIDANCE = {
    "en": ("This is an automatic message. Conversations with your neighbourhood team are not watched "
           "around the clock. If you or someone else is in danger now, or a crime is happening, call "
           "{emergency}. For anything else that needs the police but is not an emergency, call "
           "{non_emergency}. Your team will still read your message."),
    "cy": ("Neges awtomatig yw hon. Nid yw sgyrsiau gyda'ch tîm cymdogaeth yn cael eu gwylio drwy'r "
           "amser. Os ydych chi neu rywun arall mewn perygl nawr, neu os oes trosedd yn digwydd, ffoniwch "
           "{emergency}. Am unrhyw beth arall sydd angen yr heddlu ond nad yw'n argyfwng, ffoniwch "
           "{non_emergency}. Bydd eich tîm yn dal i ddarllen eich neges."),
}


def guidance(languages: tuple[str, ...], numbers: EmergencyNumbers) -> str:
    """The automatic reply: the guidance in each language given (Welsh first when both), English
    when none is known."""
    chosen = [lang for lang in ("cy", "en") if lang in languages] or ["en"]
    return "\n\n".join(_GUIDANCE[lang].format(emergency=numbers.emergency, non_emergency=numbers.non_emergency)
                       for lang in chosen)
