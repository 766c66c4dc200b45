"""SMS rules without I/O: segment counting (GSM-7, its extension table, UCS-2 for Welsh and emoji),
one alert composed within a segment budget, the severity rule, STOP keywords, E.164 numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    InvalidNumber,
    code_text,
    compose,
    count_segments,
    is_stop,
    keyword_of,
    masked,
    normalise_number,
    parse_keywords,
    sms_wanted,
)

pytestmark = pytest.mark.no_database

LINK = "https://beatline.example/app/#alert=6f1c2a1e-8f0b-4f5f-9a0a-1b2c3d4e5f60"
GSM_TEXT = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION - {"\r", "\n", "\f"}), max_size=700)
ANY_TEXT = st.text(max_size=600)


# --- segments ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "encoding", "count", "units"), [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 1, 160),
    ("a" * 161, "GSM-7", 2, 161),
    ("a" * 306, "GSM-7", 2, 306),
    ("a" * 307, "GSM-7", 3, 307),
    ("€" * 80, "GSM-7", 1, 160),  # extension characters take two septets
    ("€" * 81, "GSM-7", 2, 162),
    ("a" * 159 + "€", "GSM-7", 2, 161),
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, 306),  # the escape pair moves whole: 306 septets need three
    ("ŵ" * 70, "UCS-2", 1, 70),  # Welsh w-circumflex is not GSM-7
    ("Mae'r ffordd ar gau ger Llanfair ŷ", "UCS-2", 1, 34),
    ("ŷ" + "a" * 70, "UCS-2", 2, 71),
    ("ŷ" * 134, "UCS-2", 2, 134),
    ("ŷ" * 135, "UCS-2", 3, 135),
    ("😀" * 35, "UCS-2", 1, 70),  # a surrogate pair is two code units
    ("a" * 69 + "😀", "UCS-2", 2, 71),
    ("a" * 66 + "😀" + "a" * 66, "UCS-2", 3, 134),  # a pair is never split: 134 units need three
    ("é£¥Ü§¿", "GSM-7", 1, 6),  # in the basic table
])
def test_segments(text: str, encoding: str, count: int, units: int) -> None:
    got = count_segments(text)
    assert (got.encoding, got.count, got.units) == (encoding, count, units)


def test_one_welsh_letter_makes_the_whole_message_ucs2() -> None:
    english = "Road closed near Llanfair. " * 5
    assert count_segments(english).count == 1
    assert count_segments(english + "ŵ").count == 3  # 136 code units at 67 per segment


@settings(max_examples=200, deadline=None)
@given(GSM_TEXT)
def test_gsm_segments_bound(text: str) -> None:
    got = count_segments(text)
    assert got.encoding == "GSM-7"
    assert got.units == len(text) + sum(c in GSM7_EXTENSION for c in text)
    if got.units > 160:  # each concatenated segment holds 152 or 153 septets
        assert -(-got.units // 153) <= got.count <= -(-got.units // 152)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_more_text_never_fewer_segments(a: str, b: str) -> None:
    assert count_segments(a + b).count >= count_segments(a).count


# --- composing -----------------------------------------------------------------------------------

def test_short_alert_goes_whole() -> None:
    got = compose("Severe:", "Road closed", LINK, 1)
    assert got.text == f"Severe: Road closed {LINK}"
    assert not got.truncated and got.segments.count == 1


def test_long_alert_cut_at_a_word_with_ellipsis_and_the_link_whole() -> None:
    body = "Road closed on the A470 at Llanfair after a serious collision; follow diversions. " * 5
    got = compose("Severe:", body, LINK, 2)
    assert got.truncated and got.segments.count <= 2
    assert got.text.endswith("... " + LINK)
    kept = got.text[len("Severe: "):-len("... " + LINK)]
    assert body.startswith(kept) and body[len(kept)] in " ;."  # ends on a word


def test_welsh_alert_uses_ucs2_room_and_a_one_unit_ellipsis() -> None:
    body = "Mae'r ffordd ar gau ger Llanfair ŵ ŷ. " * 10
    got = compose("Difrifol:", body, LINK, 2)
    assert got.segments.encoding == "UCS-2" and got.segments.count <= 2
    assert "\u2026 " + LINK in got.text


def test_curly_quotes_do_not_force_ucs2() -> None:
    got = compose("Severe:", "Don\u2019t \u201cgo\u201d \u2013 stay in\u2026", LINK, 1)
    assert got.segments.encoding == "GSM-7"
    assert "Don't \"go\" - stay in..." in got.text


def test_control_characters_and_newlines_become_one_line() -> None:
    got = compose("Severe:", "Line one\n\nline\ttwo\x00\x07", LINK, 1)
    assert got.text == f"Severe: Line one line two {LINK}"


def test_budget_smaller_than_the_link_keeps_what_fits() -> None:
    got = compose("Severe:", "x", "https://e.example/" + "a" * 300, 1)
    assert got.segments.count == 1 and got.truncated


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(max_size=30), body=ANY_TEXT, budget=st.integers(min_value=1, max_value=4))
def test_composed_always_within_budget_with_the_link_whole(prefix: str, body: str, budget: int) -> None:
    got = compose(prefix, body, LINK, budget)
    assert got.segments.count <= budget
    assert got.text.endswith(LINK)
    assert got.segments == count_segments(got.text)


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="abc ŵ😀€", max_size=400), budget=st.integers(min_value=1, max_value=3))
def test_composed_uses_the_room_it_has(body: str, budget: int) -> None:
    """When cut, one more word would not have fitted (the cut is at most a word back)."""
    got = compose("Severe:", body, LINK, budget)
    if got.truncated:
        assert count_segments(f"Severe: {body} {LINK}").count > budget


# --- the severity rule ---------------------------------------------------------------------------

@pytest.mark.parametrize(("severity", "threshold", "asked", "wanted"), [
    ("Severe", "Severe", None, True),
    ("Extreme", "Severe", None, True),
    ("Moderate", "Severe", None, False),
    ("Moderate", "Severe", "Moderate", True),  # the resident asked for more
    ("Minor", "Severe", "Moderate", False),
    ("Severe", "Severe", "Extreme", False),  # ... or for less
    ("Minor", "Minor", None, True),  # a force may lower its threshold
    ("Unknown", "Severe", "Minor", False),
])
def test_severity_rule(severity: str, threshold: str, asked: str | None, wanted: bool) -> None:
    assert sms_wanted(severity, threshold=threshold, asked_for=asked) is wanted


# --- inbound keywords ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "stop"), [
    ("STOP", True), ("stop", True), (" Stop. ", True), ("Stop please", True), ("STOPIO", True),
    ("unsubscribe", True), ("\uff33\uff34\uff2f\uff30", True),  # full-width letters (NFKC)
    ("STOP the burglaries on my street please", False),  # a message, not a keyword
    ("stopping by later", False), ("", False), ("   ", False), ("😀", False), ("HELP", False),
])
def test_stop_keywords(text: str, stop: bool) -> None:
    assert is_stop(text, parse_keywords("STOP,STOPIO,UNSUBSCRIBE")) is stop


def test_force_keywords_setting() -> None:
    assert parse_keywords(" stop , Diwedd ") == ("STOP", "DIWEDD")
    assert keyword_of("diwedd!") == "DIWEDD"
    for bad in ("", ",", "STOP NOW", "ST*P"):
        with pytest.raises(ValueError):
            parse_keywords(bad)


# --- numbers and codes ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["+447911123456", "+44 7911 123456", "+44-7911-123456", "+353871234567"])
def test_valid_mobile_numbers(raw: str) -> None:
    assert normalise_number(raw) == raw.replace(" ", "").replace("-", "")


@pytest.mark.parametrize("raw", [
    "07911123456",  # not E.164 (the contract)
    "+44791112345",  # too short for the UK plan
    "+442079460000",  # a London landline: texts cannot reach it
    "+4479111234567890",  # too long
    "+0123456789",
    "+44 7911 12345a",
    "",
    "+447911123456\n",
    "+٤٤٧٩١١١٢٣٤٥٦",  # Arabic-Indic digits are not E.164
])
def test_refused_numbers(raw: str) -> None:
    with pytest.raises(InvalidNumber):
        normalise_number(raw)


def test_masked_shows_only_country_code_and_last_digits() -> None:
    assert masked("+447911123456") == "+44••••••••56"


def test_code_text_in_the_residents_language() -> None:
    english = code_text("Heddlu Dyfed-Powys", "012345", 15, None)
    welsh = code_text("Heddlu Dyfed-Powys", "012345", 15, "cy-GB")
    assert "012345" in english and "15 minutes" in english
    assert "eich cod Beatline yw 012345" in welsh and "15 munud" in welsh
    assert count_segments(english).count == 1 and count_segments(welsh).count == 1
