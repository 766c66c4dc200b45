"""Emergency guidance: which resident words suggest immediate danger (English and Welsh, with
variants of case, accents, apostrophes and Welsh mutations), which do not, and the guidance text."""

from __future__ import annotations

import pytest

from chalicelib.domain.emergency import EmergencyNumbers, danger_languages, guidance, suggests_immediate_danger

ENGLISH = [
    "He has a knife",
    "HE HAS A KNIFE!!!",
    "there's a man with a gun outside",
    "My ex is hitting me",
    "he\u2019s going to kill me",
    "He's threatening to kill my mum",
    "I can't breathe",
    "I can\u2019t breathe",
    "someone is breaking in right now",
    "I am in danger",
    "I'm not safe at home",
    "my neighbour was stabbed",
    "she is bleeding a lot",
    "I want to kill myself",
    "he won't let me leave the flat",
    "The house next door is on fire",
    "this is an emergency",
    "Knife crime is bad round here and now a lad has a knife",
]
WELSH = [
    "Mae ganddo gyllell",
    "Mae ganddo fe gyllell",
    "dyn a chyllell tu allan",
    "Dwi mewn perygl",
    "Rydw i MEWN PERYGL",
    "Mae e'n fy nharo i",
    "Mae e\u2019n fy mrifo",
    "mae o am fy lladd",
    "Mae nhw\u2019n torri i mewn",
    "Maen nhw'n torri i mewn nawr",
    "Dwi'n methu anadlu",
    "Mae'n argyfwng",
    "Mae'r tŷ ar dân",
    "Cafodd ei drywanu",
    "dwi ddim yn ddiogel",
]
HARMLESS = [
    "Cars speeding past the school every morning.",
    "Could you help with the parking outside the shop?",
    "There was a break in at the shed last week.",
    "Is there a talk on knife crime next month?",
    "The knife amnesty bin has moved.",
    "My kids love the skills workshop",
    "Killer whale documentary at the library",
    "The fireworks kept us up",
    "It is not an emergency but the street light is out",
    "The gunnel of my boat was damaged",
    "Mae angen lladd gwair y parc",
    "Tân gwyllt yn y parc neithiwr",
    "Diolch am eich help",
    "Mae'r golau stryd wedi torri",
    "",
]


@pytest.mark.parametrize("text", ENGLISH)
def test_english_words_of_immediate_danger_are_found(text: str) -> None:
    assert suggests_immediate_danger(text) and "en" in danger_languages(text)


@pytest.mark.parametrize("text", WELSH)
def test_welsh_words_of_immediate_danger_are_found_with_mutations(text: str) -> None:
    assert danger_languages(text) == ("cy",)


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_messages_and_topics_are_not_emergencies(text: str) -> None:
    assert not suggests_immediate_danger(text)
    assert danger_languages(text) == ()


def test_guidance_names_the_configured_numbers_in_the_languages_of_the_message() -> None:
    numbers = EmergencyNumbers(emergency="112", non_emergency="0300 123")
    english = guidance(("en",), numbers)
    assert "call 112" in english and "call 0300 123" in english and "automatic message" in english
    assert "999" not in english and "101" not in english
    welsh = guidance(("cy",), numbers)
    assert "ffoniwch 112" in welsh and "ffoniwch 0300 123" in welsh and "call" not in welsh
    both = guidance(("en", "cy"), numbers)
    assert both.index("Neges awtomatig") < both.index("This is an automatic message")
    assert guidance((), EmergencyNumbers()) == guidance(("en",), EmergencyNumbers())
    assert "999" in guidance((), EmergencyNumbers()) and "101" in guidance((), EmergencyNumbers())


def _conversation(conv_id: str, since: str, **changes: object) -> object:
    import dataclasses
    from datetime import UTC, datetime

    from chalicelib.domain.conversations import Conversation

    base = Conversation(id=conv_id, team="t", owner="sub", area_id=None, alert_id=None, topic="other", status="waiting",
                        created_at=since, last_message_at=since, version=1, content_digest="d",
                        expires_at=datetime(2030, 1, 1, tzinfo=UTC), waiting_since=since)
    return dataclasses.replace(base, **changes)


def test_urgent_waits_sort_before_all_others_and_oldest_first_among_them_until_answered_or_closed() -> None:
    from chalicelib.domain import conversations as rules

    old = _conversation("a", "2026-12-01T08:00:00Z")
    new = _conversation("b", "2026-12-03T08:00:00Z")
    urgent_new = rules.after_guidance(_conversation("c", "2026-12-03T09:00:00Z"))
    urgent_old = rules.after_guidance(_conversation("d", "2026-12-02T09:00:00Z"))
    assert urgent_new.urgent and urgent_new.version == 2 and urgent_new.status == "waiting"
    assert urgent_new.first_response_at is None  # the guidance is nobody's answer
    ordered = sorted([old, new, urgent_new, urgent_old], key=rules.queue_key)  # type: ignore[arg-type]
    assert [c.id for c in ordered] == ["d", "c", "a", "b"]  # type: ignore[attr-defined]
    answered = rules.after_message(urgent_new, "team", "2026-12-03T09:05:00Z")
    assert not answered.urgent and rules.queue_key(answered).startswith("answered#2026")
    closed = rules.after_close(urgent_old, "advice_given", "2026-12-03T09:05:00Z")
    assert not closed.urgent
    erased = rules.after_guidance(_conversation("e", "2026-12-03T09:00:00Z", owner=""))
    assert rules.queue_key(erased).startswith(rules.ERASED_QUEUE + "#")  # out of the queue, urgent or not
