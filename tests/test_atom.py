"""Atom feed: parsed by feedparser without complaint, one entry per alert linking its CAP document."""

from __future__ import annotations

import uuid

import feedparser
import pytest
from lxml import etree

from chalicelib.domain.alerts import InfoBlock
from chalicelib.domain.atom import entry_id, render_feed
from chalicelib.domain.cap import CAP_MEDIA_TYPE
from tests.alert_samples import ALERT_ID, CY, EN, public_alert

pytestmark = pytest.mark.no_database  # pure rules: no DynamoDB Local for these

BASE = "https://api.beatline.example/v1/public"
SECOND_ID = "5d7e8f90-a1b2-4c3d-9e8f-7a6b5c4d3e2f"


def cap_url(alert_id: str) -> str:
    return f"{BASE}/alerts/{alert_id}.cap"


def feed(alerts, **overrides) -> bytes:
    arguments = {"feed_id": "urn:uuid:8a0c7e4e-2f7b-4f64-9d0e-5c1b2a3d4e5f", "title": "Beatline alerts: north",
                 "self_url": f"{BASE}/feed.atom?area_id=riverside", "updated": "2026-11-24T10:15:00Z", "cap_url": cap_url}
    return render_feed(alerts, **{**arguments, **overrides})


def test_feed_parses_cleanly_with_one_entry_per_alert() -> None:
    update = public_alert(id=SECOND_ID, identifier=f"{SECOND_ID}.2", msg_type="Update", sent_at="2026-11-24T10:15:00.5Z",
                          severity="Severe", category="Fire", infos=(CY, EN),
                          references=((SECOND_ID, "2026-11-24T09:00:00Z"),))
    parsed = feedparser.parse(feed([public_alert(), update]))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id == "urn:uuid:8a0c7e4e-2f7b-4f64-9d0e-5c1b2a3d4e5f"
    assert parsed.feed.title == "Beatline alerts: north"
    assert parsed.feed.updated == "2026-11-24T10:15:00Z"
    assert [(link.rel, link.href) for link in parsed.feed.links] == [("self", f"{BASE}/feed.atom?area_id=riverside")]
    assert parsed.feed.author == "Beatline"

    first, second = parsed.entries
    assert first.id == f"urn:uuid:{ALERT_ID}"
    assert first.title == EN.headline
    assert first.summary == EN.description
    assert first.updated == "2026-11-24T09:30:00Z"
    assert first.author == "Beatline"
    assert [(link.rel, link.type, link.href) for link in first.links] == [("alternate", CAP_MEDIA_TYPE, cap_url(ALERT_ID))]
    assert [(tag.term, tag.scheme) for tag in first.tags] == [("Security", "urn:oasis:names:tc:emergency:cap:1.2#category")]
    assert first.title_detail.language == "en-GB"
    assert (first.cap_msgtype, first.cap_severity, first.cap_expires) == ("Alert", "Moderate", "2026-11-24T12:30:00-00:00")

    # An updated alert keeps its entry id; the entry shows its original language and latest time.
    assert second.id == f"urn:uuid:{SECOND_ID}"
    assert second.title == CY.headline
    assert second.title_detail.language == "cy"
    assert second.updated == "2026-11-24T10:15:00Z"
    assert second.links[0].href == cap_url(SECOND_ID)
    assert (second.cap_msgtype, second.cap_identifier, second.cap_severity) == ("Update", f"{SECOND_ID}.2", "Severe")
    assert second.tags[0].term == "Fire"


def test_empty_feed_is_still_a_valid_feed() -> None:
    parsed = feedparser.parse(feed([]))
    assert not parsed.bozo
    assert parsed.entries == []
    assert parsed.feed.title == "Beatline alerts: north"


def test_markup_in_text_is_escaped_not_interpreted() -> None:
    info = InfoBlock("en-GB", "Fire & <b>smoke</b>", "Avoid <script>alert(1)</script> the area \x07now", None)
    document = feed([public_alert(infos=(info,))], title="North & East <alerts>")
    root = etree.fromstring(document)  # well-formed XML: escaping done by the XML library
    assert b"<script>" not in document and b"<b>" not in document
    parsed = feedparser.parse(document)
    assert not parsed.bozo
    assert parsed.feed.title == "North & East <alerts>"
    assert parsed.entries[0].title == "Fire & <b>smoke</b>"
    atom = "{http://www.w3.org/2005/Atom}"
    assert root.find(f"{atom}entry/{atom}summary").text == "Avoid <script>alert(1)</script> the area now"


def test_entry_ids_are_uuid_urns_even_for_other_alert_ids() -> None:
    assert entry_id(ALERT_ID) == f"urn:uuid:{ALERT_ID}"
    derived = entry_id("alert-2026-0042")
    assert derived.startswith("urn:uuid:") and uuid.UUID(derived.removeprefix("urn:uuid:"))
    assert derived == entry_id("alert-2026-0042") != entry_id("alert-2026-0043")


def test_feed_times_are_normalised_to_utc() -> None:
    parsed = feedparser.parse(feed([public_alert(sent_at="2026-11-24T10:30:00+01:00")], updated="2026-11-24T11:00:00.123+01:00"))
    assert parsed.feed.updated == "2026-11-24T10:00:00Z"
    assert parsed.entries[0].updated == "2026-11-24T09:30:00Z"
